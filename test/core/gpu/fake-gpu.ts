import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../../fixtures/gpu/', import.meta.url));

/** The recorded nvidia-smi outputs under test/fixtures/gpu/nvidia. */
export const nvidiaFixture = (name: string) => readFileSync(join(FIXTURES, 'nvidia', name), 'utf8');

export interface FakeNvidiaSmi {
  /** The fake executable's path. */
  command: string;
  /** The directory to put first on PATH. */
  binDir: string;
  /** The query flags of every call so far (`--query-gpu=…`, `--query-compute-apps=…`). */
  calls: () => string[];
  /** Replace what it prints for the apps query (a fixture name). */
  apps: (fixture: string) => void;
  /** Make every call fail with this text and exit 9, as a driver-less nvidia-smi does. */
  fail: (text: string) => void;
  /** Put it first on `process.env.PATH` until `restore()`. */
  onPath: () => void;
  restore: () => void;
}

/** A fake `nvidia-smi` (a shell script) printing the recorded fixtures and logging its calls. */
export function fakeNvidiaSmi(gpus = 'gpus.csv', apps = 'apps.csv'): FakeNvidiaSmi {
  const dir = mkdtempSync(join(tmpdir(), 'luna-fake-smi-'));
  const binDir = join(dir, 'bin');
  mkdirSync(binDir);
  const command = join(binDir, 'nvidia-smi');
  copyFileSync(join(FIXTURES, 'fake-bin', 'nvidia-smi'), command);
  chmodSync(command, 0o755);
  writeFileSync(join(dir, 'gpus.csv'), nvidiaFixture(gpus));
  writeFileSync(join(dir, 'apps.csv'), nvidiaFixture(apps));
  const saved = { path: process.env.PATH, dir: process.env.FAKE_NVIDIA_SMI_DIR };
  process.env.FAKE_NVIDIA_SMI_DIR = dir;
  return {
    command,
    binDir,
    calls: () => {
      try {
        return readFileSync(join(dir, 'calls.log'), 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    apps: (fixture) => writeFileSync(join(dir, 'apps.csv'), nvidiaFixture(fixture)),
    fail: (text) => writeFileSync(join(dir, 'fail'), text),
    onPath: () => {
      process.env.PATH = `${binDir}${delimiter}${saved.path ?? ''}`;
    },
    restore: () => {
      process.env.PATH = saved.path;
      if (saved.dir === undefined) delete process.env.FAKE_NVIDIA_SMI_DIR;
      else process.env.FAKE_NVIDIA_SMI_DIR = saved.dir;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface FakeAmdCard {
  busId: string;
  totalBytes: number;
  usedBytes: number;
  busy?: number;
  productName?: string;
  /** millidegrees / microwatts, as hwmon reports them */
  tempMilliC?: number;
  powerMicroW?: number;
}

/**
 * A fake sysfs tree: `<root>/sys/class/drm/cardN` linking to `<root>/sys/devices/pci…/<busId>`, as
 * on a real machine, plus connector entries (`card0-DP-1`) that the reader must ignore.
 */
export function fakeSysfs(cards: FakeAmdCard[]): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'luna-fake-sysfs-'));
  const drm = join(root, 'sys', 'class', 'drm');
  mkdirSync(drm, { recursive: true });
  cards.forEach((c, i) => {
    const dev = join(root, 'sys', 'devices', 'pci0000:00', c.busId);
    mkdirSync(dev, { recursive: true });
    writeFileSync(join(dev, 'mem_info_vram_total'), `${c.totalBytes}\n`);
    writeFileSync(join(dev, 'mem_info_vram_used'), `${c.usedBytes}\n`);
    if (c.busy !== undefined) writeFileSync(join(dev, 'gpu_busy_percent'), `${c.busy}\n`);
    if (c.productName) writeFileSync(join(dev, 'product_name'), `${c.productName}\n`);
    writeFileSync(join(dev, 'device'), '0x73bf\n');
    writeFileSync(join(dev, 'uevent'), `DRIVER=amdgpu\nPCI_SLOT_NAME=${c.busId}\n`);
    if (c.tempMilliC !== undefined || c.powerMicroW !== undefined) {
      const hw = join(dev, 'hwmon', 'hwmon3');
      mkdirSync(hw, { recursive: true });
      if (c.tempMilliC !== undefined) writeFileSync(join(hw, 'temp1_input'), `${c.tempMilliC}\n`);
      if (c.powerMicroW !== undefined) writeFileSync(join(hw, 'power1_average'), `${c.powerMicroW}\n`);
    }
    mkdirSync(join(drm, `card${i}`));
    symlinkSync(dev, join(drm, `card${i}`, 'device'));
    mkdirSync(join(drm, `card${i}-DP-1`));
  });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

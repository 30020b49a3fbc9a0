import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { startFakeComfy, type FakeComfy } from '../fakes/fake-comfyui.js';
import { fakeNvidiaSmi, type FakeNvidiaSmi } from '../core/gpu/fake-gpu.js';
import { killAllTracked } from '../helpers/processes.js';
import { cliAsync, runningDaemonPid, serveEnv, startServe, type ServeEnv } from '../helpers/serve.js';

const UUID0 = 'GPU-1b2c3d4e-0000-1111-2222-333344445555';
const UUID1 = 'GPU-9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff';

let fake: FakeNvidiaSmi | undefined;
let comfy: FakeComfy | undefined;
const envs: ServeEnv[] = [];
afterEach(async () => {
  killAllTracked();
  for (const e of envs.splice(0)) e.cleanup();
  fake?.restore();
  fake = undefined;
  await comfy?.close();
  comfy = undefined;
});

interface JsonGpu {
  key: string;
  name: string;
  split: { daemonMiB: number; comfyuiMiB: number; otherMiB: number };
  processes: { pid: number; name: string; usedMiB: number | null; role: string; instance?: string }[];
}

// The fake ComfyUI runs in THIS process (so this process owns its port): CLI calls are async.
describe('luna-tray gpus (serve with a fake nvidia-smi first on PATH)', () => {
  it('splits each GPU between the Luna daemon, the watched ComfyUI instance and everything else', async () => {
    comfy = await startFakeComfy();
    fake = fakeNvidiaSmi();
    fake.onPath();
    const e = await serveEnv([['comfyui.instances', JSON.stringify([comfy.url])]]);
    envs.push(e);
    await startServe(e);
    const daemonPid = await runningDaemonPid(e);
    // What the driver would list: the daemon, ComfyUI (this process), a desktop compositor.
    writeFileSync(
      join(process.env.FAKE_NVIDIA_SMI_DIR!, 'apps.csv'),
      [
        `${UUID0}, ${daemonPid}, python3, 6144`,
        `${UUID0}, ${process.pid}, /usr/bin/python3 main.py --listen, 1024`,
        `${UUID1}, 1, /usr/lib/xorg/Xorg, 100`,
      ].join('\n') + '\n',
    );
    // The sampler shares one reading per 2 s interval (docs/devices.md): a reading taken before the
    // file was rewritten may still be served, so wait (bounded) for the next interval's reading.
    let r = await cliAsync(e, ['gpus', '--json']);
    for (
      let i = 0;
      i < 8 && !r.stdout.includes(`"pid":${daemonPid}`) && !r.stdout.includes(`"pid": ${daemonPid}`);
      i++
    ) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await cliAsync(e, ['gpus', '--json']);
    }
    expect(r.status).toBe(0);
    const gpus = JSON.parse(r.stdout) as JsonGpu[];
    expect(gpus.map((g) => [g.key, g.name])).toEqual([
      [UUID0, 'NVIDIA GeForce RTX 4090'],
      [UUID1, 'NVIDIA RTX A6000, Rev. 2'],
    ]);
    expect(gpus[0]!.processes).toEqual([
      { pid: daemonPid, name: 'python3', usedMiB: 6144, role: 'daemon' },
      {
        pid: process.pid,
        name: '/usr/bin/python3 main.py --listen',
        usedMiB: 1024,
        role: 'comfyui',
        instance: comfy.url,
      },
    ]);
    expect(gpus[0]!.split).toEqual({ daemonMiB: 6144, comfyuiMiB: 1024, otherMiB: 10240 - 6144 - 1024 });
    expect(gpus[1]!.processes).toEqual([{ pid: 1, name: '/usr/lib/xorg/Xorg', usedMiB: 100, role: 'other' }]);

    const human = await cliAsync(e, ['gpus']);
    expect(human.stdout).toContain('GPU 0 NVIDIA GeForce RTX 4090');
    expect(human.stdout).toMatch(/daemon 6144 MiB · ComfyUI 1024 MiB · other 3072 MiB/);
    expect(human.stdout).toMatch(new RegExp(`${daemonPid}\\s+daemon\\s+6144 MiB\\s+python3`));
  });

  it('without any telemetry it says so (and --json is an empty list)', async () => {
    const e = await serveEnv();
    envs.push(e);
    fake = fakeNvidiaSmi();
    fake.fail("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.");
    fake.onPath();
    await startServe(e);
    const json = await cliAsync(e, ['gpus', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([]);
    const human = await cliAsync(e, ['gpus']);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^No GPU telemetry: nvidia-smi failed: /);
  });
});

// The README's install works where Electron's download host is unreachable, and Electron is still
// fetched where it is reachable (scripts/electron-binary.mjs, run by npm start/package/test).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A minimal zip (deflate) of the given files: what an Electron release archive looks like to unzip. */
function zip(files: Record<string, string>): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const packed = deflateRawSync(data);
    const nameBuf = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by Unix: keeps the mode bits below
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc32(data), 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE((0o100755 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, packed);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function runScript(
  dir: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const { ELECTRON_SKIP_BINARY_DOWNLOAD: _skip, ...base } = process.env;
    const child = spawn(process.execPath, [join(dir, 'scripts', 'electron-binary.mjs'), ...args], {
      env: { ...base, ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

let dir: string;
let cache: string;
let version: string;

beforeAll(async () => {
  // A project copy whose electron package has no binary yet: the script must never write into the
  // shared node_modules. Every other package is a symlink to the real one.
  dir = await mkdtemp(join(tmpdir(), 'luna-electron-binary-'));
  cache = join(dir, 'cache');
  await mkdir(join(dir, 'scripts'), { recursive: true });
  await cp(join(root, 'scripts', 'electron-binary.mjs'), join(dir, 'scripts', 'electron-binary.mjs'));
  await mkdir(join(dir, 'node_modules'));
  for (const name of await readdir(join(root, 'node_modules'))) {
    if (name === 'electron' || name === '.bin') continue;
    await symlink(join(root, 'node_modules', name), join(dir, 'node_modules', name));
  }
  const electron = join(dir, 'node_modules', 'electron');
  await mkdir(electron);
  for (const f of ['package.json', 'install.js', 'checksums.json'])
    await cp(join(root, 'node_modules', 'electron', f), join(electron, f));
  version = JSON.parse(await readFile(join(electron, 'package.json'), 'utf8')).version as string;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scripts/electron-binary.mjs', () => {
  it('an unreachable download host: one plain message, exit 0 (exit 1 with --required)', async () => {
    const closed = await getPort(); // nothing listens: the download fails at once
    const env = { ELECTRON_MIRROR: `http://127.0.0.1:${closed}/`, electron_config_cache: cache };
    const r = await runScript(dir, [], env);
    expect(r.code).toBe(0);
    expect(r.out.match(/Electron's binary is not installed/g)).toHaveLength(1);
    expect(r.out).toContain('the demo');
    expect(r.out).toContain('npm run electron:fetch');
    expect(r.out).not.toMatch(/\n\s+at /); // no stack trace
    const required = await runScript(dir, ['--required'], env);
    expect(required.code).toBe(1);
  });

  it('a reachable host: the binary is downloaded, checked and installed, then found without a download', async () => {
    const platformFile = `electron-v${version}-linux-x64.zip`;
    const archive = zip({ electron: '#!/bin/sh\necho fake electron\n', version: `v${version}` });
    const checksums = JSON.parse(
      await readFile(join(dir, 'node_modules', 'electron', 'checksums.json'), 'utf8'),
    ) as Record<string, string>;
    checksums[platformFile] = createHash('sha256').update(archive).digest('hex');
    await writeFile(join(dir, 'node_modules', 'electron', 'checksums.json'), JSON.stringify(checksums));
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === `/v${version}/${platformFile}`) res.writeHead(200).end(archive);
      else res.writeHead(404).end();
    });
    const port = await getPort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const env = {
        ELECTRON_MIRROR: `http://127.0.0.1:${port}/`,
        electron_config_cache: join(cache, 'fresh'),
        npm_config_platform: 'linux',
        npm_config_arch: 'x64',
      };
      const first = await runScript(dir, ['--required'], env);
      expect(first.out).toContain("Electron's binary is installed.");
      expect(first.code).toBe(0);
      expect(requests).toEqual([`/v${version}/${platformFile}`]);
      expect(await readFile(join(dir, 'node_modules', 'electron', 'path.txt'), 'utf8')).toBe('electron');
      const second = await runScript(dir, ['--required'], env);
      expect(second.code).toBe(0);
      expect(second.out).toBe('');
      expect(requests).toHaveLength(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('the README and CI agree', () => {
  it('.ci/run runs exactly the README test command, with no Electron override', async () => {
    const ci = await readFile(join(root, '.ci', 'run'), 'utf8');
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('```sh\nnpm ci && npm test\n```');
    expect(readme).toContain('```sh\nnpm ci && npm run demo\n```');
    expect(ci.trimEnd().split('\n').at(-1)).toBe('npm ci && npm test');
    expect(ci).not.toMatch(/ELECTRON_SKIP_BINARY_DOWNLOAD|export /);
    // npm ci must not run electron's install script (it fails where the host is unreachable).
    expect(await readFile(join(root, '.npmrc'), 'utf8')).toMatch(/^ignore-scripts=true$/m);
  });
});

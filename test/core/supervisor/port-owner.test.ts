import { spawn } from 'node:child_process';
import net from 'node:net';

import getPort from 'get-port';
import { afterEach, describe, expect, it } from 'vitest';

import {
  findPortOwner,
  isPortFree,
  parseLsofOutput,
  parseNetstatOutput,
  parseProcNetTcp,
  parseTasklistVerboseCsv,
} from '../../../src/core/supervisor/port-owner.js';
import { exited, killAllTracked, track, waitFor } from '../../helpers/processes.js';

afterEach(() => killAllTracked());

async function listenInChild(port: number, host = '127.0.0.1') {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${port}, '${host}', () => console.log('listening'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  track(child.pid);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('listening'), 'the child to listen');
  return child;
}

describe('findPortOwner', () => {
  it('finds a Node child listening on a free port, quickly', async (ctx) => {
    ctx.skip(process.platform !== 'linux' && process.platform !== 'darwin', 'Linux and macOS only');
    const port = await getPort();
    const child = await listenInChild(port);
    const started = performance.now();
    const owner = await findPortOwner(port);
    const elapsed = performance.now() - started;
    expect(owner).not.toBeNull();
    expect(owner!.pid).toBe(child.pid);
    expect(owner!.name).toBe('node');
    if (process.platform === 'linux') {
      expect(owner!.command).toContain('createServer');
      expect(elapsed).toBeLessThan(1_000);
    }
    child.kill('SIGKILL');
    await exited(child);
  });

  it('matches a wildcard (0.0.0.0) listener when asked about 127.0.0.1', async (ctx) => {
    ctx.skip(process.platform !== 'linux', 'Linux only');
    const port = await getPort();
    const child = await listenInChild(port, '0.0.0.0');
    expect((await findPortOwner(port, '127.0.0.1'))?.pid).toBe(child.pid);
    expect((await findPortOwner(port, ''))?.pid).toBe(child.pid);
    child.kill('SIGKILL');
    await exited(child);
  });

  it('returns null for a free port', async () => {
    const port = await getPort();
    expect(await findPortOwner(port)).toBeNull();
  });
});

describe('isPortFree', () => {
  it('is true for a free port and false while something listens', async () => {
    const port = await getPort();
    expect(await isPortFree(port)).toBe(true);
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      expect(await isPortFree(port)).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
    // Released again (and isPortFree itself released it).
    expect(await isPortFree(port)).toBe(true);
    expect(await isPortFree(port)).toBe(true);
  });
});

describe('parsers', () => {
  it('parseProcNetTcp picks LISTEN sockets on the port (IPv4 and IPv6)', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:4B53 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:4B53 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0',
      '   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNetTcp(tcp, 0x4b53)).toEqual([
      { address: '127.0.0.1', port: 0x4b53, inode: 123456, uid: 0 },
    ]);
    expect(parseProcNetTcp(tcp, 8080)).toEqual([{ address: '0.0.0.0', port: 8080, inode: 555, uid: 0 }]);
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000001000000:4B53 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000000000000000000000000000:4B55 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 778 1 0000000000000000 100 0 0 10 0',
      '   2: 0000000000000000FFFF00000100007F:4B56 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 779 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNetTcp(tcp6, 0x4b53)).toEqual([{ address: '::1', port: 0x4b53, inode: 777, uid: 0 }]);
    expect(parseProcNetTcp(tcp6, 0x4b55)).toEqual([{ address: '::', port: 0x4b55, inode: 778, uid: 0 }]);
    expect(parseProcNetTcp(tcp6, 0x4b56)).toEqual([
      { address: '::ffff:127.0.0.1', port: 0x4b56, inode: 779, uid: 0 },
    ]);
  });

  it('parseLsofOutput reads -Fpc output', () => {
    expect(parseLsofOutput('p4321\ncPython\nf3\n')).toEqual({ pid: 4321, name: 'Python' });
    expect(parseLsofOutput('')).toBeNull();
    // -FpcuL adds the uid and the login name (who runs it: docs/security.md §2).
    expect(parseLsofOutput('p4321\ncPython\nu501\nLbob\nf3\np99\ncnode\n')).toEqual({
      pid: 4321,
      name: 'Python',
      uid: 501,
      user: 'bob',
    });
  });

  it('parseNetstatOutput finds the LISTENING PID for the port and host', () => {
    const text = [
      'Active Connections',
      '',
      '  Proto  Local Address          Foreign Address        State           PID',
      '  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1012',
      '  TCP    127.0.0.1:19283        0.0.0.0:0              LISTENING       7788',
      '  TCP    127.0.0.1:19283        127.0.0.1:50123        ESTABLISHED     7788',
      '  TCP    127.0.0.1:50123        127.0.0.1:19283        ESTABLISHED     9999',
      '  TCP    [::1]:19285            [::]:0                 ABHÖREN         6000',
    ].join('\r\n');
    expect(parseNetstatOutput(text, 19283, '127.0.0.1')).toBe(7788);
    expect(parseNetstatOutput(text, 135, '127.0.0.1')).toBe(1012);
    expect(parseNetstatOutput(text, 19285, '::1')).toBe(6000);
    expect(parseNetstatOutput(text, 19285, '127.0.0.1')).toBeNull();
    expect(parseNetstatOutput(text, 50123)).toBeNull();
  });

  it('parseTasklistVerboseCsv reads the image name and the user (none when Windows says N/A)', () => {
    const row = (user: string) =>
      `"python.exe","7788","Console","1","120,000 K","Running","${user}","0:00:01","N/A"\r\n`;
    expect(parseTasklistVerboseCsv(row('DESKTOP\\bob'))).toEqual({
      name: 'python.exe',
      user: 'DESKTOP\\bob',
    });
    expect(parseTasklistVerboseCsv(row('N/A'))).toEqual({ name: 'python.exe' });
    expect(
      parseTasklistVerboseCsv('INFO: No tasks are running which match the specified criteria.'),
    ).toBeNull();
  });
});

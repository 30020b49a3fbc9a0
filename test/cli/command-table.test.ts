// The command table drives parsing, help, completion and dispatch: every command answers -h/--help
// with its usage only (never running), unknown commands and options exit 2 with a suggestion.
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { PassThrough } from 'node:stream';

import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { COMMANDS } from '../../src/cli/command-table.js';
import { bashCompletion, fishCompletion, zshCompletion } from '../../src/cli/completion.js';
import { main } from '../../src/cli/index.js';
import { identityProof } from '../../src/core/control/auth.js';
import type { Io } from '../../src/cli/output.js';

function makeIo(): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    io: { stdout, stderr, color: false, signal: new AbortController().signal, env: {} },
    out: () => out,
    err: () => err,
  };
}

const TOKEN = 'command-table-test-token';
let server: Server;
let port: number;
let requests: string[] = [];
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'luna-cli-table-'));
  port = await getPort();
  // A stand-in server that records every request: a command asked only for help must send none.
  await writeFile(join(dataDir, 'control-token'), TOKEN, { mode: 0o600 });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/app/identity') {
      // The CLI sends the token only to a holder that proves it knows it.
      const proof = identityProof(TOKEN, url.searchParams.get('nonce') ?? '', port);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ proof }));
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"value":{"message":"done"}}');
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dataDir, { recursive: true, force: true });
});

const run = async (...argv: string[]) => {
  const t = makeIo();
  const code = await main(['--data-dir', dataDir, '--port', String(port), ...argv], t.io);
  return { code, stdout: t.out(), stderr: t.err() };
};

describe('luna-tray help', () => {
  it.each(COMMANDS.map((c) => c.name))(
    '%s: -h, --help and `help COMMAND` print its usage only',
    async (name) => {
      requests = [];
      const byLong = await run(name, '--help');
      const byShort = await run(name, '-h');
      const byHelp = await run('help', name);
      expect(requests, `${name} --help must not talk to the server`).toEqual([]);
      for (const r of [byLong, byShort, byHelp]) {
        expect(r.code).toBe(0);
        expect(r.stderr).toBe('');
        expect(r.stdout).toMatch(new RegExp(`^Usage: luna-tray ${name}\\b`));
      }
      expect(byShort.stdout).toBe(byLong.stdout);
      expect(byHelp.stdout).toBe(byLong.stdout);
      // Every option of the table entry is explained.
      for (const o of Object.keys(COMMANDS.find((c) => c.name === name)!.options)) {
        expect(byLong.stdout).toContain(`--${o}`);
      }
    },
  );

  it('help after other arguments still only prints the usage (stop --help does not stop)', async () => {
    requests = [];
    expect((await run('stop', '--json', '--help')).code).toBe(0);
    expect((await run('logs', '-f', '-h')).code).toBe(0);
    expect(requests).toEqual([]);
  });

  it('the global help lists every command of the table and the exit codes', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name}\\b`, 'm'));
    expect(r.stdout).toContain('Exit codes: 0 success');
  });

  it('a command that was not asked for help does run (the stand-in sees the request)', async () => {
    requests = [];
    const r = await run('stop');
    expect(r.code).toBe(0);
    // The daemons list first: one daemon (or a server that cannot list them) means the old call.
    expect(requests).toEqual(['GET /app/identity', 'POST /api/daemons/list', 'POST /api/daemon/stop']);
  });
});

describe('the README', () => {
  it("its CLI block names every command with every one of the command's options", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /## CLI\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const lines = block.split('\n');
    for (const c of COMMANDS) {
      // `start | stop | restart …` lines name several commands; `service install|…` has sub-commands.
      const line = lines.find((l) => new RegExp(`^(?:[a-z-]+ \\| )*${c.name}\\b`).test(l));
      expect(line, `README CLI block: no line for ${c.name}`).toBeDefined();
      for (const [name, o] of Object.entries(c.options)) {
        const flags = [`--${name}`, ...(o.short ? [`-${o.short}`] : [])];
        expect(
          flags.some((f) => line!.includes(f)),
          `README CLI block: ${c.name} lacks ${flags.join('/')}`,
        ).toBe(true);
      }
    }
  });
});

describe('usage errors exit 2 with a suggestion', () => {
  it('unknown command', async () => {
    const r = await run('stpo');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "stpo"; did you mean "stop"?');
    const far = await run('frobnicate');
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('unknown command "frobnicate"');
    expect(far.stderr).not.toContain('did you mean');
    const help = await run('help', 'lgos');
    expect(help.code).toBe(2);
    expect(help.stderr).toContain('did you mean "logs"?');
  });

  it.each(COMMANDS.map((c) => c.name))('%s rejects an unknown option', async (name) => {
    requests = [];
    const r = await run(name, '--no-such-option');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${name}: unknown option "--no-such-option"`);
    expect(r.stderr).toContain(name === 'help' ? '`luna-tray --help`' : `luna-tray ${name} --help`);
    expect(requests).toEqual([]);
  });

  it('a misspelt option gets a "did you mean"', async () => {
    const r = await run('logs', '--folow');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'luna-tray: logs: unknown option "--folow"; did you mean "--follow"?\nRun `luna-tray logs --help` for its usage.\n',
    );
    expect((await run('run', 'wf.json', '--new-seeds')).stderr).toContain('did you mean "--new-seed"?');
    expect((await run('config', 'gte')).stderr).toContain('did you mean "get"?');
    expect((await run('completion', 'bsh')).stderr).toContain('did you mean "bash"?');
  });

  it('stray arguments and missing values are usage errors', async () => {
    expect((await run('status', 'now')).code).toBe(2);
    expect((await run('logs', '-n')).code).toBe(2);
    expect((await run('run')).code).toBe(2);
    expect((await run('completion')).code).toBe(2);
  });
});

describe('config', () => {
  it('path is absolute even for a relative --data-dir', async () => {
    const t = makeIo();
    expect(await main(['--data-dir', 'rel-dir', '--port', String(port), 'config', 'path'], t.io)).toBe(0);
    expect(isAbsolute(t.out().trim())).toBe(true);
    expect(t.out().trim()).toBe(join(process.cwd(), 'rel-dir', 'settings.json'));
  });

  it('unset puts a key back to its default', async () => {
    const free = await getPort(); // nothing listens: the settings file is edited directly
    const dir = await mkdtemp(join(tmpdir(), 'luna-cli-unset-'));
    const cfg = (...a: string[]) => {
      const t = makeIo();
      return main(['--data-dir', dir, '--port', String(free), 'config', ...a], t.io).then((code) => ({
        code,
        out: t.out(),
      }));
    };
    const before = (await cfg('get', 'daemon.port')).out.trim();
    expect((await cfg('set', 'daemon.port', '23456')).code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')).daemons[0].port).toBe(23456);
    const unset = await cfg('unset', 'daemon.port');
    expect(unset.code).toBe(0);
    expect(unset.out).toContain('(the default)');
    expect((await cfg('get', 'daemon.port')).out.trim()).toBe(before);
    expect((await cfg('unset', 'daemon.nope')).code).toBe(2);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('completion scripts come from the table', () => {
  const scripts = { bash: bashCompletion(), zsh: zshCompletion(), fish: fishCompletion() };

  it.each(Object.keys(scripts))('%s names every command and option', (shell) => {
    const s = scripts[shell as keyof typeof scripts];
    for (const c of COMMANDS) {
      expect(s, `${shell}: ${c.name}`).toContain(c.name);
      for (const o of Object.keys(c.options)) expect(s, `${shell}: ${c.name} --${o}`).toContain(o);
    }
  });

  it('the bash script is valid and completes commands, options and values', () => {
    const complete = (line: string) => {
      const words = line.split(' ');
      const r = spawnSync(
        'bash',
        [
          '-c',
          `${scripts.bash}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _luna_tray; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      return r.stdout.trim().split('\n').filter(Boolean);
    };
    expect(complete('luna-tray st')).toEqual(['status', 'start', 'stop']);
    expect(complete('luna-tray logs --f')).toEqual(['--follow']);
    expect(complete('luna-tray logs --level w')).toEqual(['warning']);
    expect(complete('luna-tray --port 1 config u')).toEqual(['unset']);
    expect(complete('luna-tray completion z')).toEqual(['zsh']);
  });

  for (const shell of ['zsh', 'fish'] as const) {
    const installed = !spawnSync(shell, ['--version']).error;
    it(`the ${shell} script parses`, (ctx) => {
      ctx.skip(!installed, `${shell} is not installed here`);
      const r = spawnSync(shell, ['-n'], { input: scripts[shell], encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  }

  it('`luna-tray completion SHELL` prints the script', async () => {
    const r = await run('completion', 'fish');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(scripts.fish);
  });
});

// The CLI with several daemons: `luna-tray serve` supervising a legacy CLIP/VAE split pair (two
// simulators with --service-type clip|vae on free ports). `status` prints a line each (the list with
// --json), `--daemon ID` picks one for every daemon command, lifecycle commands without it act on every
// enabled daemon with a line each, and an unknown id exits 2 naming the ids that exist
// (docs/multi-daemon.md, "CLI"). The single-daemon output is serve-cli.test.ts's.
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isAlive, killAllTracked, waitFor } from '../helpers/processes.js';
import { cli, spawnCli, splitPairEnv, startServe, type ServeHandle } from '../helpers/serve.js';

interface Row {
  id: string;
  name: string;
  enabled: boolean;
  port: number;
  state: string;
  pid: number | null;
  running: boolean;
  models: string[];
  vram: unknown[];
}

let env: Awaited<ReturnType<typeof splitPairEnv>>;
let serve: ServeHandle;
let ports: { clip: number; vae: number };
const daemonPids = new Set<number>();

beforeAll(async () => {
  env = await splitPairEnv();
  ports = env.ports;
  serve = await startServe(env, ['--no-open']);
}, 60_000);

afterAll(() => {
  killAllTracked();
  // The daemons live in process groups of their own: kill what the PID files and status showed.
  for (const pid of [...daemonPids].filter(isAlive)) process.kill(pid, 'SIGKILL');
  env?.cleanup();
});

const list = (): Row[] => {
  const rows = JSON.parse(cli(env, ['status', '--json']).stdout) as Row[];
  for (const r of rows) if (r.pid) daemonPids.add(r.pid);
  return rows;
};
const row = (id: string) => list().find((r) => r.id === id)!;
const waitState = (id: string, state: string) =>
  waitFor(() => (row(id).state === state ? row(id) : undefined), `${id} ${state}`, 20_000);

describe('luna-tray CLI with two daemons (legacy CLIP/VAE split)', () => {
  it('status prints one line per daemon, and --json the list', () => {
    const human = cli(env, ['status']);
    expect(human.status).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+ID\s+NAME\s+STATE\s+PID\s+PORT\s+MODELS\s+VRAM$/);
    expect(lines[1]).toMatch(new RegExp(`^● clip\\s+CLIP\\s+stopped\\s+-\\s+${ports.clip}\\s+0\\s+-$`));
    expect(lines[2]).toMatch(new RegExp(`^● vae\\s+VAE\\s+stopped\\s+-\\s+${ports.vae}\\s+0\\s+-$`));
    const rows = list();
    expect(rows.map((r) => [r.id, r.name, r.enabled, r.port, r.state, r.pid])).toEqual([
      ['clip', 'CLIP', true, ports.clip, 'stopped', null],
      ['vae', 'VAE', true, ports.vae, 'stopped', null],
    ]);
    // Each element carries the single-daemon status fields the scripts know.
    for (const r of rows) expect(r).toMatchObject({ running: false, color: 'gray', models: [], vram: [] });
  });

  it('start without --daemon starts every enabled daemon and prints a line each', async () => {
    const r = cli(env, ['start']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^✓ clip {2}CLIP: /);
    expect(lines[1]).toMatch(/^✓ vae {3}VAE: /);
    const [clip, vae] = [await waitState('clip', 'running'), await waitState('vae', 'running')];
    expect(clip.pid).not.toBe(vae.pid);
    const human = cli(env, ['status']).stdout;
    expect(human).toMatch(new RegExp(`● clip\\s+CLIP\\s+running\\s+${clip.pid}\\s+${ports.clip}\\s`));
    expect(human).toMatch(new RegExp(`● vae\\s+VAE\\s+running\\s+${vae.pid}\\s+${ports.vae}\\s`));
  });

  it('status --daemon ID prints that daemon alone; --json is its /luna/daemons/ID/status object', () => {
    const vae = row('vae');
    const human = cli(env, ['status', '--daemon', 'vae']);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^VAE \\(vae\\) · 127\\.0\\.0\\.1:${ports.vae}\\n`));
    expect(human.stdout).toMatch(new RegExp(`● running \\(PID ${vae.pid}, spawned, legacy protocol\\)`));
    expect(human.stdout).not.toContain('CLIP');
    const json = JSON.parse(cli(env, ['status', '--daemon', 'vae', '--json']).stdout) as Row;
    expect(json).toMatchObject({ id: 'vae', state: 'running', running: true, pid: vae.pid });
  });

  it('stop --daemon ID stops that daemon only, with the single-daemon output', async () => {
    const { pid: clipPid } = row('clip');
    const { pid: vaePid } = row('vae');
    const r = cli(env, ['stop', '--daemon', 'clip']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^✓ CLIP: .*stopped/);
    await waitState('clip', 'stopped');
    expect(isAlive(clipPid!)).toBe(false);
    // The other daemon never noticed: same process, still running.
    expect(row('vae')).toMatchObject({ state: 'running', pid: vaePid });
    expect(isAlive(vaePid!)).toBe(true);
  });

  it('a lifecycle command on several daemons exits 1 when one fails, naming each; --json has a result each', () => {
    // CLIP is stopped: checking it fails, checking VAE works.
    const r = cli(env, ['check']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^✗ clip {2}CLIP: /m);
    expect(r.stdout).toMatch(/^✓ vae {3}VAE: /m);
    const json = cli(env, ['check', '--json']);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'error',
      results: [
        { id: 'clip', name: 'CLIP', status: 'error' },
        { id: 'vae', name: 'VAE', status: 'ok' },
      ],
    });
    // The legacy generation has no unload command: the daemon's own refusal, for that daemon alone.
    const unload = cli(env, ['unload', '--daemon', 'vae']);
    expect(unload.status).toBe(1);
    expect(unload.stderr).toMatch(/^✗ VAE: Unload failed: the legacy Luna daemon has no "unload_models"/);
  });

  it('restart --daemon ID gives that daemon a new process and leaves the other stopped', async () => {
    const old = row('vae').pid;
    const r = cli(env, ['restart', '--daemon', 'vae']);
    expect(r.status, r.stderr).toBe(0);
    const vae = await waitFor(
      () => {
        const v = row('vae');
        return v.state === 'running' && v.pid !== old ? v : undefined;
      },
      'a new VAE process',
      20_000,
    );
    expect(isAlive(vae.pid!)).toBe(true);
    expect(row('clip').state).toBe('stopped');
  });

  it('an unknown --daemon exits 2 and lists the configured ids, for every per-daemon command', () => {
    for (const command of ['status', 'start', 'stop', 'restart', 'unload', 'check', 'logs']) {
      const r = cli(env, [command, '--daemon', 'nope']);
      expect(r.status, command).toBe(2);
      expect(r.stderr, command).toContain('no daemon "nope"; the configured daemons are clip, vae');
      expect(r.stdout, command).toBe('');
    }
    // Nothing was started by the failed calls.
    expect(row('clip').state).toBe('stopped');
  });

  it('logs --daemon ID keeps that daemon’s entries; without it each line names its daemon', () => {
    for (const id of ['clip', 'vae']) {
      const r = cli(env, ['logs', '--daemon', id, '-n', '500', '--json']);
      expect(r.status).toBe(0);
      const entries = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { daemon?: string });
      expect(entries.length).toBeGreaterThan(0);
      expect(new Set(entries.map((e) => e.daemon))).toEqual(new Set([id]));
    }
    const human = cli(env, ['logs', '-n', '500']).stdout;
    expect(human).toMatch(/^\d\d:\d\d:\d\d \w+\s+clip {2}/m);
    expect(human).toMatch(/^\d\d:\d\d:\d\d \w+\s+vae {2}/m);
  });

  it('status names the daemon a warning is about (a port changed while it runs)', async () => {
    const moved = await getPort({ exclude: [ports.clip, ports.vae, env.port] });
    expect(cli(env, ['config', 'set', 'daemons.1.port', String(moved)]).status).toBe(0);
    try {
      const human = await waitFor(
        () => {
          const out = cli(env, ['status']).stdout;
          return out.includes('restart the daemon to apply') ? out : undefined;
        },
        'the restart-to-apply warning',
        10_000,
      );
      expect(human).toMatch(/^ {2}vae: warning: .*Settings changed while the daemon runs \(daemon\.port /m);
      expect(human).not.toMatch(/clip: warning:/);
    } finally {
      expect(cli(env, ['config', 'set', 'daemons.1.port', String(ports.vae)]).status).toBe(0);
    }
  });

  it('logs -f --daemon ID follows that daemon only', async () => {
    const { child, output } = spawnCli(env, ['logs', '-f', '-n', '0', '--json', '--daemon', 'clip']);
    // Let it subscribe, then make both daemons log: a restart of VAE, then a start of CLIP.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(cli(env, ['restart', '--daemon', 'vae']).status).toBe(0);
    await waitState('vae', 'running');
    expect(cli(env, ['start', '--daemon', 'clip']).status).toBe(0);
    await waitState('clip', 'running');
    const entries = await waitFor(
      () => {
        const lines = output()
          .split('\n')
          .filter((l) => l.startsWith('{') && l.endsWith('}'));
        return lines.length >= 2 ? lines.map((l) => JSON.parse(l) as { daemon?: string }) : undefined;
      },
      'followed CLIP entries',
      15_000,
    );
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    expect(new Set(entries.map((e) => e.daemon))).toEqual(new Set(['clip']));
    expect(serve.child.exitCode).toBeNull();
  });
});

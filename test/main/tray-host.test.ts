// tray/tray-host.ts with a fake command runner: what gdbus and dbus-send really print.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { probeStatusNotifierHost, watchTrayHost, type CommandRunner } from '../../src/main/tray/tray-host.js';

type Reply = Awaited<ReturnType<CommandRunner>>;
const ok = (stdout: string): Reply => ({ stdout, stderr: '', error: null });
const fail = (stderr: string, code: string | number = 1): Reply => ({ stdout: '', stderr, error: { code } });
const ENOENT = fail('', 'ENOENT');

function runner(replies: Record<string, Reply>) {
  const calls: { file: string; args: readonly string[]; timeoutMs: number }[] = [];
  const run: CommandRunner = async (file, args, opts) => {
    calls.push({ file, args, timeoutMs: opts.timeoutMs });
    return replies[file] ?? ENOENT;
  };
  return { run, calls };
}

describe('probeStatusNotifierHost', () => {
  it('asks the watcher property through gdbus, with a timeout', async () => {
    const r = runner({ gdbus: ok('(<true>,)\n') });
    expect(await probeStatusNotifierHost(r.run, 1500)).toBe(true);
    expect(r.calls[0]).toEqual({
      file: 'gdbus',
      args: expect.arrayContaining([
        '--session',
        'org.kde.StatusNotifierWatcher',
        '/StatusNotifierWatcher',
        'org.freedesktop.DBus.Properties.Get',
        'IsStatusNotifierHostRegistered',
      ]),
      timeoutMs: 1500,
    });
  });

  it('false when the watcher has no host, or there is no watcher at all (plain GNOME)', async () => {
    expect(await probeStatusNotifierHost(runner({ gdbus: ok('(<false>,)\n') }).run)).toBe(false);
    const none = fail(
      'Error: GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: The name org.kde.StatusNotifierWatcher was not provided by any .service files\n',
    );
    expect(await probeStatusNotifierHost(runner({ gdbus: none }).run)).toBe(false);
  });

  it('falls back to dbus-send when gdbus is not installed', async () => {
    const reply =
      'method return time=1 sender=:1.5 -> destination=:1.9 serial=7 reply_serial=2\n   variant       boolean true\n';
    const r = runner({ 'dbus-send': ok(reply) });
    expect(await probeStatusNotifierHost(r.run)).toBe(true);
    expect(r.calls.map((c) => c.file)).toEqual(['gdbus', 'dbus-send']);
    const no = fail('Error org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable\n');
    expect(await probeStatusNotifierHost(runner({ 'dbus-send': no }).run)).toBe(false);
  });

  it('null (unknown) without tools, or when the bus cannot be reached in time', async () => {
    expect(await probeStatusNotifierHost(runner({}).run)).toBeNull();
    const noBus = fail('Error connecting: Cannot autolaunch D-Bus without X11 $DISPLAY\n');
    expect(await probeStatusNotifierHost(runner({ gdbus: noBus }).run)).toBeNull();
    expect(await probeStatusNotifierHost(runner({ gdbus: fail('', 'ETIMEDOUT') }).run)).toBeNull();
  });
});

describe('watchTrayHost', () => {
  afterEach(() => vi.useRealTimers());

  it('Windows and macOS always have a tray; nothing is asked', async () => {
    const probe = vi.fn(async () => false);
    const w = await watchTrayHost({ platform: 'win32', probe, onAppeared: vi.fn(), logError: vi.fn() });
    expect(w.available).toBe(true);
    expect(probe).not.toHaveBeenCalled();
  });

  it('without a host: polls until one appears, once', async () => {
    vi.useFakeTimers();
    const answers = [false, false, true];
    const probe = vi.fn(async () => answers.shift() ?? true);
    const onAppeared = vi.fn();
    const w = await watchTrayHost({ platform: 'linux', probe, onAppeared, pollMs: 1000, logError: vi.fn() });
    expect(w.available).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(onAppeared).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(onAppeared).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(probe).toHaveBeenCalledTimes(3);
  });

  it('dispose stops the polling; unknown counts as a tray (logged)', async () => {
    vi.useFakeTimers();
    const probe = vi.fn(async () => false);
    const w = await watchTrayHost({
      platform: 'linux',
      probe,
      onAppeared: vi.fn(),
      pollMs: 100,
      logError: vi.fn(),
    });
    w.dispose();
    await vi.advanceTimersByTimeAsync(1000);
    expect(probe).toHaveBeenCalledTimes(1);
    const logError = vi.fn();
    const u = await watchTrayHost({
      platform: 'linux',
      probe: async () => null,
      onAppeared: vi.fn(),
      logError,
    });
    expect(u.available).toBe(true);
    expect(logError).toHaveBeenCalled();
  });
});

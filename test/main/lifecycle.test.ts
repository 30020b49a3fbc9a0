import { beforeEach, describe, expect, it, vi } from 'vitest';

import { createShutdown } from '../../src/main/lifecycle.js';
import { app, fakeEvent, resetElectronFake, UnexpectedQuitError } from '../mocks/electron.js';

beforeEach(() => resetElectronFake());

function setup(keepDaemon = false) {
  // The fake app records 'quit' in app.calls; the other steps write to the same list.
  const order = app.calls;
  let releaseDispose!: () => void;
  const disposeCore = vi.fn(
    (_o: { keepDaemon: boolean }) =>
      new Promise<void>((resolve) => {
        order.push('dispose:start');
        releaseDispose = () => {
          order.push('dispose:end');
          resolve();
        };
      }),
  );
  const closeControl = vi.fn(async () => void order.push('control:close'));
  const shutdown = createShutdown({
    app,
    disposeCore,
    keepDaemonOnExit: () => keepDaemon,
    cleanups: [closeControl],
    logError: vi.fn(),
  });
  return { order, disposeCore, closeControl, shutdown, release: () => releaseDispose() };
}

describe('exit sequence', () => {
  it('awaits core.dispose (daemon stop) and closes the control server BEFORE app.quit', async () => {
    app.allowQuit();
    const { order, disposeCore, shutdown, release } = setup(false);
    const done = shutdown.exit();
    expect(shutdown.isQuitting).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['dispose:start']); // quit must wait for the daemon to stop
    release();
    await done;
    expect(order).toEqual(['dispose:start', 'dispose:end', 'control:close', 'quit']);
    expect(disposeCore).toHaveBeenCalledWith({ keepDaemon: false });
    expect(app.quitCalls).toBe(1);
  });

  it('passes keepDaemon when app.keepDaemonOnExit is on', async () => {
    app.allowQuit();
    const { disposeCore, shutdown, release } = setup(true);
    const done = shutdown.exit();
    release();
    await done;
    expect(disposeCore).toHaveBeenCalledWith({ keepDaemon: true });
  });

  it('runs once: a second Exit shares the first', async () => {
    app.allowQuit();
    const { disposeCore, shutdown, release } = setup();
    const a = shutdown.exit();
    const b = shutdown.exit();
    expect(a).toBe(b);
    release();
    await a;
    expect(disposeCore).toHaveBeenCalledTimes(1);
    expect(app.quitCalls).toBe(1);
  });

  it('before-quit is held until disposal, once, then the final quit passes', async () => {
    app.allowQuit();
    const { disposeCore, release } = setup();
    const e1 = fakeEvent();
    app.emit('before-quit', e1);
    expect(e1.defaultPrevented).toBe(true);
    const e2 = fakeEvent();
    app.emit('before-quit', e2); // re-entry while disposing
    expect(e2.defaultPrevented).toBe(true);
    expect(disposeCore).toHaveBeenCalledTimes(1);
    release();
    await vi.waitFor(() => expect(app.quitCalls).toBe(1));
    const e3 = fakeEvent();
    app.emit('before-quit', e3); // the quit we issued ourselves
    expect(e3.defaultPrevented).toBe(false);
  });

  it('still quits when the core fails to dispose, and logs it', async () => {
    app.allowQuit();
    const logError = vi.fn();
    const shutdown = createShutdown({
      app,
      disposeCore: () => Promise.reject(new Error('stop failed')),
      keepDaemonOnExit: () => false,
      cleanups: [],
      logError,
    });
    await shutdown.exit();
    expect(logError).toHaveBeenCalledWith('stopping the core failed', expect.any(Error));
    expect(app.quitCalls).toBe(1);
  });

  it('the fake app refuses to quit unless the test allows it', () => {
    expect(() => app.quit()).toThrow(UnexpectedQuitError);
  });
});

// Exit sequence of the tray app: dispose the core (stops the daemon unless app.keepDaemonOnExit),
// close the control server, release Electron objects, THEN app.quit(). `before-quit` (Cmd+Q, OS
// log-out, app.quit() from elsewhere) runs the same sequence once.
import type { Event as ElectronEvent } from 'electron';

/** Options of `createShutdown`. */
export interface ShutdownOptions {
  /** The parts of Electron's `app` used here (structural, so the fake and the real one fit). */
  app: {
    quit(): void;
    on(event: 'before-quit', listener: (event: ElectronEvent) => void): unknown;
    removeListener(event: 'before-quit', listener: (event: ElectronEvent) => void): unknown;
  };
  /** `core.dispose`: must stop the daemon (or leave it, with keepDaemon) before resolving. */
  disposeCore: (opts: { keepDaemon: boolean }) => Promise<void>;
  /** `settings.app.keepDaemonOnExit`, read at exit time. */
  keepDaemonOnExit: () => boolean;
  /** Further clean-ups (control server, IPC handlers, tray, window), run after the core. */
  cleanups: (() => void | Promise<void>)[];
  logError: (message: string, error: unknown) => void;
}

/** The exit sequence. */
export interface Shutdown {
  /** Run the sequence (once; later calls share it) and quit. */
  exit(): Promise<void>;
  /** True from the moment exit starts: windows really close instead of hiding. */
  readonly isQuitting: boolean;
  /** Remove the before-quit listener. */
  dispose(): void;
}

/** Create the exit sequence and hook it into `before-quit`. */
export function createShutdown(opts: ShutdownOptions): Shutdown {
  let running: Promise<void> | null = null;
  let done = false;

  async function sequence(): Promise<void> {
    try {
      await opts.disposeCore({ keepDaemon: opts.keepDaemonOnExit() });
    } catch (e) {
      opts.logError('stopping the core failed', e);
    }
    for (const c of opts.cleanups) {
      try {
        await c();
      } catch (e) {
        opts.logError('clean-up failed', e);
      }
    }
    done = true;
  }

  function exit(): Promise<void> {
    running ??= sequence().then(() => opts.app.quit());
    return running;
  }

  const onBeforeQuit = (event: ElectronEvent): void => {
    // The second app.quit() (ours, after disposal) must pass; the first one waits for disposal.
    if (done) return;
    event.preventDefault();
    void exit();
  };
  opts.app.on('before-quit', onBeforeQuit);

  return {
    exit,
    get isQuitting() {
      return running !== null;
    },
    dispose() {
      opts.app.removeListener('before-quit', onBeforeQuit);
    },
  };
}

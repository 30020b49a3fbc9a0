// The fake `electron` module (docs/architecture.md §16). vitest's `main` project aliases `electron` to this
// file, so src/main and src/preload run against it unchanged. It implements only what main and
// preload use, and every piece is checked against electron's own declarations (`satisfies
// Pick<Electron.X, ...>` below), so API drift fails `tsc -p tsconfig.test.json`.
//
// It behaves like Electron 39 where the shell depends on it, quirks included (docs/desktop.md):
// `new Tray()` never throws, images are read from disk, `getName()` comes from package.json, login
// item settings have each platform's shape, notifications can fail (or vanish on Windows without the
// installer's AppUserModelId), `app.quit()` runs before-quit → close windows → will-quit, and
// `loadFile` rejects for a missing file. Windows, images, tray and menus are in ./electron-ui.ts.
//
// Test-only helpers (recorded calls, `invokeHandler`, `emit`) live on the same objects; tests import
// them from this file directly. `app.quit()` THROWS unless a test calls `app.allowQuit()` ("the code
// quit the app" must be an assertable event, never a silent side effect).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Type-only: loads electron's global `Electron` namespace (erased at runtime, so no cycle via the alias).
import type {} from 'electron';

import {
  BrowserWindow,
  fakeEvent,
  FakeSession,
  Menu,
  nativeImage,
  session,
  Tray,
  type FakeFrame,
  type FakeWebContents,
} from './electron-ui.js';

export * from './electron-ui.js';

/** Thrown by `app.quit()` when the test did not allow quitting. */
export class UnexpectedQuitError extends Error {
  override name = 'UnexpectedQuitError';
}

/** The platform the fake imitates (login item shapes, setAppUserModelId, notifications). */
export const fakeEnv = {
  platform: 'linux' as NodeJS.Platform,
  /** macOS 13+: registering a login item may need the user's approval in System Settings. */
  macLoginItemNeedsApproval: false,
};

// ---------------------------------------------------------------------------------------------
// app

type AppSubset = Pick<
  Electron.App,
  | 'getPath'
  | 'setPath'
  | 'whenReady'
  | 'isReady'
  | 'quit'
  | 'exit'
  | 'focus'
  | 'getVersion'
  | 'getName'
  | 'getAppPath'
  | 'setLoginItemSettings'
  | 'getLoginItemSettings'
  | 'requestSingleInstanceLock'
  | 'disableHardwareAcceleration'
>;

/** One Windows `Run` registry value (what `launchItems` reports). */
interface RunEntry {
  name: string;
  path: string;
  args: string[];
  /** False once the user disabled it in Task Manager (StartupApproved). */
  enabled: boolean;
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

class FakeApp extends EventEmitter {
  isPackaged = false;
  /** The directory of the app's package.json (`electron <dir>`); tests point it at the repo. */
  appPath = process.cwd();
  readonly paths = new Map<string, string>([
    ['userData', '/tmp/luna-tray-fake/userData'],
    ['home', '/tmp/luna-tray-fake/home'],
    ['logs', '/tmp/luna-tray-fake/logs'],
  ]);
  /** Windows: the `Run` key values, by value name. */
  readonly runEntries = new Map<string, RunEntry>();
  /** macOS 13+: SMAppService status of the main app. */
  macStatus: Electron.LoginItemSettings['status'] = 'not-registered';
  wasOpenedAtLogin = false;
  readonly loginItemCalls: Electron.Settings[] = [];
  appUserModelId: string | null = null;
  /** A fresh process is not ready (the main-bundle test); `resetElectronFake()` sets it for composeHost tests. */
  ready = false;
  hardwareAccelerationDisabled = false;
  /** Another process of this app holds the single-instance lock. */
  otherInstanceRunning = false;
  focusCalls: (Electron.FocusOptions | undefined)[] = [];
  quitCalls = 0;
  /** The app really quit: before-quit and will-quit were not prevented and every window closed. */
  quitted = false;
  /** Between an accepted before-quit and the end: windows closing now do not emit window-all-closed. */
  quitting = false;
  exitCodes: number[] = [];
  private quitAllowed = false;
  /** Ordered record of lifecycle calls, for "X happened before quit" assertions. */
  readonly calls: string[] = [];

  getPath(name: Parameters<Electron.App['getPath']>[0]): string {
    const p = this.paths.get(name);
    if (!p) throw new Error(`fake app.getPath: no path for ${name}`);
    return p;
  }
  setPath(name: string, path: string): void {
    this.paths.set(name, path);
  }
  whenReady(): Promise<void> {
    this.ready = true;
    return Promise.resolve();
  }
  isReady(): boolean {
    return this.ready;
  }
  disableHardwareAcceleration(): void {
    // Electron throws once the GPU process exists: it only works before `ready`.
    if (this.ready)
      throw new Error('app.disableHardwareAcceleration() can only be called before app is ready');
    this.hardwareAccelerationDisabled = true;
  }
  /** Let `quit()` succeed (records it) instead of throwing. */
  allowQuit(allowed = true): void {
    this.quitAllowed = allowed;
  }
  /**
   * Electron's order: `before-quit` (cancellable) → close every window (each `close` cancellable:
   * one window that refuses cancels the quit) → `will-quit` (cancellable) → `quit`.
   */
  quit(): void {
    this.calls.push('quit');
    if (!this.quitAllowed)
      throw new UnexpectedQuitError('app.quit() called but the test did not allow it (app.allowQuit())');
    this.quitCalls++;
    if (this.quitted) return;
    const before = fakeEvent();
    this.emit('before-quit', before);
    if (before.defaultPrevented) return;
    this.quitting = true;
    for (const w of BrowserWindow.getAllWindows()) w.close();
    const will = fakeEvent();
    if (BrowserWindow.getAllWindows().length === 0) this.emit('will-quit', will);
    if (BrowserWindow.getAllWindows().length > 0 || will.defaultPrevented) {
      this.quitting = false;
      this.calls.push('quit-cancelled');
      return;
    }
    this.quitted = true;
    this.emit('quit', fakeEvent(), 0);
  }
  exit(exitCode?: number): void {
    this.calls.push(`exit:${exitCode ?? 0}`);
    this.exitCodes.push(exitCode ?? 0);
  }
  focus(options?: Electron.FocusOptions): void {
    this.focusCalls.push(options);
  }
  getVersion(): string {
    return '0.1.0-test';
  }
  /** Electron reads `productName`, then `name`, from the app's package.json; "Electron" without one. */
  getName(): string {
    const pkg = readJson(join(this.appPath, 'package.json'));
    const name = pkg?.productName ?? pkg?.name;
    return typeof name === 'string' ? name : 'Electron';
  }
  getAppPath(): string {
    return this.appPath;
  }
  /** Exists on Windows only: elsewhere the method is missing, so calling it is a TypeError. */
  setAppUserModelId(id: string): void {
    if (fakeEnv.platform !== 'win32') throw new TypeError('app.setAppUserModelId is not a function');
    this.appUserModelId = id;
  }
  /** The id Windows attributes toasts to: Electron's default until the app sets its own. */
  currentAppUserModelId(): string {
    return this.appUserModelId ?? `electron.app.${this.getName()}`;
  }
  requestSingleInstanceLock(_additionalData?: Record<string, unknown>): boolean {
    return !this.otherInstanceRunning;
  }
  /** Test helper: a second launch asked for the lock; Electron emits this in the first instance. */
  secondInstance(argv: string[], workingDirectory = '/'): void {
    this.emit('second-instance', fakeEvent(), argv, workingDirectory, {});
  }
  setLoginItemSettings(settings: Electron.Settings): void {
    this.loginItemCalls.push(settings);
    if (fakeEnv.platform === 'win32') {
      const name = settings.name ?? this.currentAppUserModelId();
      if (settings.openAtLogin) {
        this.runEntries.set(name, {
          name,
          path: settings.path ?? process.execPath,
          args: settings.args ?? [],
          enabled: settings.enabled ?? true,
        });
      } else this.runEntries.delete(name);
    } else if (fakeEnv.platform === 'darwin') {
      if (!settings.openAtLogin) this.macStatus = 'not-registered';
      else this.macStatus = fakeEnv.macLoginItemNeedsApproval ? 'requires-approval' : 'enabled';
    }
    // Linux: Electron has no login items there; the call does nothing.
  }
  /** Only the fields Electron fills on each platform: reading another platform's field gives undefined. */
  getLoginItemSettings(options?: Electron.LoginItemSettingsOptions): Electron.LoginItemSettings {
    if (fakeEnv.platform === 'win32') {
      const path = options?.path ?? process.execPath;
      const args = options?.args ?? [];
      const own = this.runEntries.get(this.currentAppUserModelId());
      const items = [...this.runEntries.values()];
      return {
        // Path AND args must match what is asked for; the Task Manager switch is NOT considered.
        openAtLogin: !!own && own.path === path && own.args.join('\0') === args.join('\0'),
        executableWillLaunchAtLogin: items.some((i) => i.path === path && i.enabled),
        launchItems: items.map((i) => ({ ...i, args: [...i.args], scope: 'user' as const })),
      } as Partial<Electron.LoginItemSettings> as Electron.LoginItemSettings;
    }
    if (fakeEnv.platform === 'darwin') {
      return {
        openAtLogin: this.macStatus === 'enabled',
        openAsHidden: false,
        wasOpenedAtLogin: this.wasOpenedAtLogin,
        wasOpenedAsHidden: false,
        restoreState: false,
        status: this.macStatus,
      } as Partial<Electron.LoginItemSettings> as Electron.LoginItemSettings;
    }
    return { openAtLogin: false } as Partial<Electron.LoginItemSettings> as Electron.LoginItemSettings;
  }
  /** Test helper (Windows): the user switched the entry off in Task Manager. */
  disableRunEntryByUser(name = this.currentAppUserModelId()): void {
    const e = this.runEntries.get(name);
    if (e) e.enabled = false;
  }
}

export const app = new FakeApp();
app satisfies AppSubset;

// Electron's default when the last window closes outside a quit: emit window-all-closed, and quit
// when nobody listens (a tray app must listen, or closing its window ends it).
BrowserWindow.onDestroyed = () => {
  if (app.quitting || app.quitted || BrowserWindow.getAllWindows().length > 0) return;
  if (app.listenerCount('window-all-closed') > 0) app.emit('window-all-closed');
  else app.quit();
};

// ---------------------------------------------------------------------------------------------
// Notification, shell, dialog

/** The AppUserModelId of the Start-menu shortcut electron-builder's NSIS installer makes: its `appId`. */
function installerAppId(): string | null {
  try {
    const yml = readFileSync(join(app.appPath, 'electron-builder.yml'), 'utf8');
    return /^appId:\s*(\S+)\s*$/m.exec(yml)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * `show()` can fail: `failNext` makes the next one emit `failed` (Electron's Windows event). On
 * Windows a toast whose AppUserModelId has no Start-menu shortcut is dropped by the OS without any
 * event, so the fake drops it too unless the app set the installer's id.
 */
export class Notification extends EventEmitter {
  static shown: Notification[] = [];
  static dropped: Notification[] = [];
  static failed: Notification[] = [];
  static supported = true;
  static failNext: string | null = null;
  static isSupported(): boolean {
    return Notification.supported;
  }
  constructor(readonly options: Electron.NotificationConstructorOptions = {}) {
    super();
  }
  show(): void {
    const failure = Notification.failNext;
    if (failure !== null) {
      Notification.failNext = null;
      Notification.failed.push(this);
      setImmediate(() => this.emit('failed', fakeEvent(), failure));
      return;
    }
    if (fakeEnv.platform === 'win32' && app.currentAppUserModelId() !== installerAppId()) {
      Notification.dropped.push(this);
      return;
    }
    Notification.shown.push(this);
    setImmediate(() => this.emit('show', fakeEvent()));
  }
  close(): void {}
}
({}) as Notification satisfies Pick<Electron.Notification, 'show' | 'close'>;

export const shell = {
  opened: [] as string[],
  openPath(path: string): Promise<string> {
    shell.opened.push(path);
    return Promise.resolve('');
  },
  openExternal(url: string, _options?: Electron.OpenExternalOptions): Promise<void> {
    shell.opened.push(url);
    return Promise.resolve();
  },
  showItemInFolder(fullPath: string): void {
    shell.opened.push(fullPath);
  },
} satisfies Pick<Electron.Shell, 'openPath' | 'openExternal' | 'showItemInFolder'> & { opened: string[] };

export const dialog = {
  errorBoxes: [] as { title: string; content: string }[],
  showErrorBox(title: string, content: string): void {
    dialog.errorBoxes.push({ title, content });
  },
} satisfies Pick<Electron.Dialog, 'showErrorBox'> & { errorBoxes: unknown[] };

// ---------------------------------------------------------------------------------------------
// ipcMain

type InvokeListener = Parameters<Electron.IpcMain['handle']>[1];

/** A fake invoke event whose sender and frame the test controls. */
export interface FakeInvokeEvent {
  sender: FakeWebContents;
  senderFrame: FakeFrame | null;
  frameId: number;
  processId: number;
  type: 'frame';
}

class FakeIpcMain extends EventEmitter {
  readonly handlers = new Map<string, InvokeListener>();

  handle(channel: string, listener: InvokeListener): void {
    // Electron throws on a second handler for the same channel; so does the fake.
    if (this.handlers.has(channel))
      throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** Call a registered handler like a renderer's `ipcRenderer.invoke` would. */
  async invokeHandler(channel: string, event: FakeInvokeEvent, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    return (await h(event as unknown as Electron.IpcMainInvokeEvent, ...args)) as unknown;
  }
}

export const ipcMain = new FakeIpcMain();
ipcMain satisfies Pick<Electron.IpcMain, 'handle' | 'removeHandler'>;

/**
 * Build an invoke event from a window. `frame`: 'main' = the window's main frame (as loaded),
 * `{ url }` = an iframe of it with that URL, null = a frame that navigated away or was destroyed.
 */
export function invokeEventFrom(
  win: BrowserWindow | FakeWebContents,
  frame: 'main' | { url: string } | null,
): FakeInvokeEvent {
  const sender = win instanceof BrowserWindow ? win.webContents : win;
  const senderFrame =
    frame === 'main'
      ? sender.mainFrame
      : frame === null
        ? null
        : { url: frame.url, parent: sender.mainFrame };
  return { sender, senderFrame, frameId: 1, processId: 1, type: 'frame' };
}

// ---------------------------------------------------------------------------------------------
// Renderer side: contextBridge, ipcRenderer

export const contextBridge = {
  exposed: [] as { key: string; api: unknown }[],
  exposeInMainWorld(apiKey: string, api: unknown): void {
    contextBridge.exposed.push({ key: apiKey, api });
  },
} satisfies Pick<Electron.ContextBridge, 'exposeInMainWorld'> & { exposed: unknown[] };

type RendererListener = (event: Electron.IpcRendererEvent, ...args: unknown[]) => void;

class FakeIpcRenderer {
  readonly invoked: { channel: string; args: unknown[] }[] = [];
  /** What `invoke` resolves to (or rejects with, when it returns an Error). */
  reply: (channel: string, args: unknown[]) => unknown = () => ({ ok: true, value: {} });
  private readonly listeners = new Map<string, Set<RendererListener>>();

  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push({ channel, args });
    const r = this.reply(channel, args);
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  }
  on(channel: string, listener: RendererListener): this {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(listener);
    return this;
  }
  removeListener(channel: string, listener: RendererListener): this {
    this.listeners.get(channel)?.delete(listener);
    return this;
  }
  listenerCount(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }
  /** Deliver a push message as main's `webContents.send` would. */
  emit(channel: string, ...args: unknown[]): void {
    const event = { sender: this, senderId: 0, ports: [] } as unknown as Electron.IpcRendererEvent;
    for (const l of this.listeners.get(channel) ?? []) l(event, ...args);
  }
}

export const ipcRenderer = new FakeIpcRenderer();
ipcRenderer satisfies Pick<Electron.IpcRenderer, 'invoke'>;

// ---------------------------------------------------------------------------------------------

/** Reset every recorded call and instance between tests. */
export function resetElectronFake(): void {
  fakeEnv.platform = 'linux';
  fakeEnv.macLoginItemNeedsApproval = false;
  app.removeAllListeners();
  app.allowQuit(false);
  app.quitCalls = 0;
  app.quitted = false;
  app.quitting = false;
  app.exitCodes = [];
  app.calls.length = 0;
  app.isPackaged = false;
  app.appPath = process.cwd();
  app.runEntries.clear();
  app.macStatus = 'not-registered';
  app.wasOpenedAtLogin = false;
  app.loginItemCalls.length = 0;
  app.appUserModelId = null;
  app.ready = true;
  app.hardwareAccelerationDisabled = false;
  app.otherInstanceRunning = false;
  app.focusCalls = [];
  BrowserWindow.all.length = 0;
  session.defaultSession = new FakeSession();
  Tray.instances = [];
  Menu.built = [];
  Menu.applicationMenu = undefined;
  Notification.shown = [];
  Notification.dropped = [];
  Notification.failed = [];
  Notification.supported = true;
  Notification.failNext = null;
  shell.opened.length = 0;
  dialog.errorBoxes.length = 0;
  ipcMain.handlers.clear();
  ipcMain.removeAllListeners();
  contextBridge.exposed.length = 0;
  ipcRenderer.invoked.length = 0;
  ipcRenderer.reply = () => ({ ok: true, value: {} });
}

/** electron-store does `import electron from 'electron'`: the fake offers the same default export. */
const electron = {
  app,
  BrowserWindow,
  Tray,
  Menu,
  nativeImage,
  Notification,
  session,
  shell,
  dialog,
  ipcMain,
  contextBridge,
  ipcRenderer,
};
export default electron;

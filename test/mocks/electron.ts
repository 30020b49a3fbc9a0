// The fake `electron` module (STYLE.md §16.2). vitest's `main` project aliases `electron` to this
// file, so src/main and src/preload run against it unchanged. It implements only what main and
// preload use, and every piece is checked against electron's own declarations (`satisfies
// Pick<Electron.X, ...>` below), so API drift fails `tsc -p tsconfig.test.json`.
//
// Test-only helpers (recorded calls, `invokeHandler`, `emit`) live on the same objects; tests import
// them from this file directly. `app.quit()` THROWS unless a test calls `app.allowQuit()` (A: "the code
// quit the app" must be an assertable event, never a silent side effect).
import { EventEmitter } from 'node:events';

// Type-only: loads electron's global `Electron` namespace (erased at runtime, so no cycle via the alias).
import type {} from 'electron';

/** Thrown by `app.quit()` when the test did not allow quitting. */
export class UnexpectedQuitError extends Error {
  override name = 'UnexpectedQuitError';
}

// ---------------------------------------------------------------------------------------------
// app

type AppSubset = Pick<
  Electron.App,
  | 'getPath'
  | 'setPath'
  | 'whenReady'
  | 'quit'
  | 'exit'
  | 'getVersion'
  | 'getName'
  | 'getAppPath'
  | 'setLoginItemSettings'
  | 'getLoginItemSettings'
>;

class FakeApp extends EventEmitter {
  isPackaged = false;
  readonly paths = new Map<string, string>([
    ['userData', '/tmp/luna-tray-fake/userData'],
    ['home', '/tmp/luna-tray-fake/home'],
    ['logs', '/tmp/luna-tray-fake/logs'],
  ]);
  loginItem: Electron.Settings = { openAtLogin: false, args: [] };
  readonly loginItemCalls: Electron.Settings[] = [];
  quitCalls = 0;
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
    return Promise.resolve();
  }
  /** Let `quit()` succeed (records it) instead of throwing. */
  allowQuit(allowed = true): void {
    this.quitAllowed = allowed;
  }
  quit(): void {
    this.calls.push('quit');
    if (!this.quitAllowed)
      throw new UnexpectedQuitError('app.quit() called but the test did not allow it (app.allowQuit())');
    this.quitCalls++;
  }
  exit(exitCode?: number): void {
    this.calls.push(`exit:${exitCode ?? 0}`);
    this.exitCodes.push(exitCode ?? 0);
  }
  getVersion(): string {
    return '0.1.0-test';
  }
  getName(): string {
    return 'Luna Tray';
  }
  getAppPath(): string {
    return '/tmp/luna-tray-fake/app';
  }
  setLoginItemSettings(settings: Electron.Settings): void {
    this.loginItemCalls.push(settings);
    this.loginItem = { ...this.loginItem, ...settings };
  }
  getLoginItemSettings(_options?: Electron.LoginItemSettingsOptions): Electron.LoginItemSettings {
    return {
      openAtLogin: this.loginItem.openAtLogin ?? false,
      openAsHidden: false,
      wasOpenedAtLogin: false,
      wasOpenedAsHidden: false,
      restoreState: false,
      status: 'not-registered',
      executableWillLaunchAtLogin: this.loginItem.openAtLogin ?? false,
      launchItems: [],
    };
  }
}

export const app = new FakeApp();
app satisfies AppSubset;

// ---------------------------------------------------------------------------------------------
// WebContents, frames, BrowserWindow

/** What a window's `webContents` offers in the fake. */
export class FakeWebContents extends EventEmitter {
  private static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  destroyed = false;
  windowOpenHandler: Parameters<Electron.WebContents['setWindowOpenHandler']>[0] | null = null;
  url = '';

  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('fake webContents.send on a destroyed WebContents');
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: Parameters<Electron.WebContents['setWindowOpenHandler']>[0]): void {
    this.windowOpenHandler = handler;
  }
  getURL(): string {
    return this.url;
  }
}
({}) as FakeWebContents satisfies Pick<
  Electron.WebContents,
  'id' | 'send' | 'isDestroyed' | 'setWindowOpenHandler' | 'getURL'
>;

/** A frame as `event.senderFrame` shows it. */
export interface FakeFrame {
  url: string;
}

/** A `preventDefault`-able event, as Electron passes to `close` and `will-navigate`. */
export function fakeEvent(): { defaultPrevented: boolean; preventDefault(): void } {
  const e = {
    defaultPrevented: false,
    preventDefault() {
      e.defaultPrevented = true;
    },
  };
  return e;
}

export class BrowserWindow extends EventEmitter {
  static readonly all: BrowserWindow[] = [];
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.all.filter((w) => !w.destroyed);
  }
  static fromWebContents(wc: unknown): BrowserWindow | null {
    return BrowserWindow.all.find((w) => w.webContents === wc && !w.destroyed) ?? null;
  }

  readonly webContents = new FakeWebContents();
  readonly loaded: string[] = [];
  visible = false;
  destroyed = false;
  focused = false;
  minimized = false;

  constructor(readonly options: Electron.BrowserWindowConstructorOptions = {}) {
    super();
    this.visible = options.show !== false;
    BrowserWindow.all.push(this);
  }
  loadFile(filePath: string, options?: Electron.LoadFileOptions): Promise<void> {
    this.loaded.push(options?.hash ? `${filePath}#${options.hash}` : filePath);
    this.webContents.url = `file://${filePath}`;
    return Promise.resolve();
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  focus(): void {
    this.focused = true;
  }
  isVisible(): boolean {
    return this.visible;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** Emits `close` (cancellable); destroys unless a listener prevented it. */
  close(): void {
    const e = fakeEvent();
    this.emit('close', e);
    if (!e.defaultPrevented) this.destroy();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.visible = false;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
  setMenuBarVisibility(_visible: boolean): void {}
}
({}) as BrowserWindow satisfies Pick<
  Electron.BrowserWindow,
  | 'loadFile'
  | 'show'
  | 'hide'
  | 'focus'
  | 'isVisible'
  | 'isMinimized'
  | 'restore'
  | 'isDestroyed'
  | 'close'
  | 'destroy'
  | 'setMenuBarVisibility'
>;

// ---------------------------------------------------------------------------------------------
// nativeImage, Tray, Menu

export class FakeNativeImage {
  template = false;
  constructor(readonly path: string) {}
  isEmpty(): boolean {
    return this.path === '';
  }
  setTemplateImage(option: boolean): void {
    this.template = option;
  }
  isTemplateImage(): boolean {
    return this.template;
  }
}
({}) as FakeNativeImage satisfies Pick<
  Electron.NativeImage,
  'isEmpty' | 'setTemplateImage' | 'isTemplateImage'
>;

export const nativeImage = {
  createFromPath(path: string): FakeNativeImage {
    return new FakeNativeImage(path);
  },
  createEmpty(): FakeNativeImage {
    return new FakeNativeImage('');
  },
};

/** A built menu: the fake keeps the template as data. */
export class Menu {
  static built: Menu[] = [];
  static buildFromTemplate(template: Electron.MenuItemConstructorOptions[]): Menu {
    const m = new Menu(template);
    Menu.built.push(m);
    return m;
  }
  constructor(readonly template: Electron.MenuItemConstructorOptions[]) {}
  /** Click the item with this id, as a user would. */
  click(id: string): void {
    const item = this.template.find((i) => i.id === id);
    if (!item) throw new Error(`fake Menu: no item ${id}`);
    if (item.enabled === false) throw new Error(`fake Menu: item ${id} is disabled`);
    (item.click as ((...a: unknown[]) => void) | undefined)?.({ id, checked: item.checked }, undefined, {});
  }
}

export class Tray extends EventEmitter {
  static instances: Tray[] = [];
  /** Make the next constructions throw (no tray host, e.g. some Linux desktops). */
  static failNext = false;

  image: FakeNativeImage | string;
  tooltip = '';
  title = '';
  menu: Menu | null = null;
  destroyed = false;
  readonly imageHistory: (FakeNativeImage | string)[] = [];
  popUps = 0;

  constructor(image: FakeNativeImage | string, _guid?: string) {
    super();
    if (Tray.failNext) throw new Error('fake Tray: no tray host');
    this.image = image;
    this.imageHistory.push(image);
    Tray.instances.push(this);
  }
  setImage(image: FakeNativeImage | string): void {
    this.image = image;
    this.imageHistory.push(image);
  }
  setToolTip(toolTip: string): void {
    this.tooltip = toolTip;
  }
  setTitle(title: string): void {
    this.title = title;
  }
  setContextMenu(menu: Menu | null): void {
    this.menu = menu;
  }
  popUpContextMenu(): void {
    this.popUps++;
  }
  destroy(): void {
    this.destroyed = true;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** The path of the current image. */
  imagePath(): string {
    return typeof this.image === 'string' ? this.image : this.image.path;
  }
}
({}) as Tray satisfies Pick<
  Electron.Tray,
  'setToolTip' | 'setTitle' | 'popUpContextMenu' | 'destroy' | 'isDestroyed'
>;

// ---------------------------------------------------------------------------------------------
// Notification, shell, dialog

export class Notification extends EventEmitter {
  static shown: Notification[] = [];
  static supported = true;
  static isSupported(): boolean {
    return Notification.supported;
  }
  constructor(readonly options: Electron.NotificationConstructorOptions = {}) {
    super();
  }
  show(): void {
    Notification.shown.push(this);
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

/** Build an invoke event from a window (its webContents) and the frame URL. */
export function invokeEventFrom(
  win: BrowserWindow | FakeWebContents,
  frameUrl: string | null,
): FakeInvokeEvent {
  const sender = win instanceof BrowserWindow ? win.webContents : win;
  return {
    sender,
    senderFrame: frameUrl === null ? null : { url: frameUrl },
    frameId: 1,
    processId: 1,
    type: 'frame',
  };
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
  app.removeAllListeners();
  app.allowQuit(false);
  app.quitCalls = 0;
  app.exitCodes = [];
  app.calls.length = 0;
  app.isPackaged = false;
  app.loginItem = { openAtLogin: false, args: [] };
  app.loginItemCalls.length = 0;
  BrowserWindow.all.length = 0;
  Tray.instances = [];
  Tray.failNext = false;
  Menu.built = [];
  Notification.shown = [];
  Notification.supported = true;
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
  shell,
  dialog,
  ipcMain,
  contextBridge,
  ipcRenderer,
};
export default electron;

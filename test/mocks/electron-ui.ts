// Part of the fake `electron` module (see ./electron.ts): windows, frames, images, tray and menus.
// Each piece behaves like Electron 39 where the shell depends on it (docs/desktop.md lists the
// quirks): `loadFile` rejects for a missing file and builds its URL like Electron's `url.format`
// call does, `nativeImage.createFromPath` reads the file, and `new Tray()` never throws.
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { format as formatUrl } from 'node:url';

// Type-only: loads electron's global `Electron` namespace (erased at runtime).
import type {} from 'electron';

/** A frame as `event.senderFrame` shows it (WebFrameMain: the same object for the same frame). */
export interface FakeFrame {
  url: string;
  /** null for a main frame, the parent for an iframe. */
  parent: FakeFrame | null;
}

/** A `preventDefault`-able event, as Electron passes to `close`, `before-quit` and `will-navigate`. */
export function fakeEvent(): { defaultPrevented: boolean; preventDefault(): void } {
  const e = {
    defaultPrevented: false,
    preventDefault() {
      e.defaultPrevented = true;
    },
  };
  return e;
}

type PermissionRequestHandler = Parameters<Electron.Session['setPermissionRequestHandler']>[0];
type PermissionCheckHandler = Parameters<Electron.Session['setPermissionCheckHandler']>[0];

/** `session.defaultSession`: the permission handlers are kept so tests can ask them. */
export class FakeSession {
  requestHandler: PermissionRequestHandler = null;
  checkHandler: PermissionCheckHandler = null;
  setPermissionRequestHandler(handler: PermissionRequestHandler): void {
    this.requestHandler = handler;
  }
  setPermissionCheckHandler(handler: PermissionCheckHandler): void {
    this.checkHandler = handler;
  }
  /** What Chromium would decide for a request: without a handler Electron GRANTS it. */
  request(permission: string, wc: FakeWebContents): Promise<boolean> {
    const h = this.requestHandler;
    if (!h) return Promise.resolve(true);
    return new Promise((resolve) =>
      h(wc as unknown as Electron.WebContents, permission as never, resolve, {} as never),
    );
  }
  /** What a permission check returns: without a handler Electron answers true. */
  check(permission: string, wc: FakeWebContents | null): boolean {
    const h = this.checkHandler;
    return h ? h(wc as unknown as Electron.WebContents, permission as never, '', {} as never) : true;
  }
}
({}) as FakeSession satisfies Pick<
  Electron.Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler'
>;

export const session = { defaultSession: new FakeSession() };

/** What a window's `webContents` offers in the fake. */
export class FakeWebContents extends EventEmitter {
  private static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  readonly mainFrame: FakeFrame = { url: '', parent: null };
  readonly session = session.defaultSession;
  destroyed = false;
  reloads = 0;
  windowOpenHandler: Parameters<Electron.WebContents['setWindowOpenHandler']>[0] | null = null;

  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: Parameters<Electron.WebContents['setWindowOpenHandler']>[0]): void {
    this.windowOpenHandler = handler;
  }
  getURL(): string {
    return this.mainFrame.url;
  }
  reload(): void {
    this.reloads++;
  }
  /** Test helper: the renderer process died (crash, OOM kill); Electron keeps the WebContents. */
  crash(reason: Electron.RenderProcessGoneDetails['reason'] = 'crashed'): void {
    this.emit('render-process-gone', fakeEvent(), { reason, exitCode: 1 });
  }
}
({}) as FakeWebContents satisfies Pick<
  Electron.WebContents,
  'id' | 'send' | 'isDestroyed' | 'setWindowOpenHandler' | 'getURL' | 'reload'
>;

/**
 * The URL `loadFile` gives the page: Electron 39's `loadFile` is `loadURL(url.format({protocol:
 * 'file', slashes: true, pathname}))`, which leaves `%` alone, and Chromium canonicalises the rest
 * (WHATWG does the same for file URLs). It is NOT `pathToFileURL(path)` for paths with `%` in them.
 */
export function loadFileUrl(filePath: string, hash?: string): string {
  const raw = formatUrl({ protocol: 'file', slashes: true, pathname: resolve(filePath), hash });
  return new URL(raw).href;
}

export class BrowserWindow extends EventEmitter {
  static readonly all: BrowserWindow[] = [];
  static getAllWindows(): BrowserWindow[] {
    return BrowserWindow.all.filter((w) => !w.destroyed);
  }
  static fromWebContents(wc: unknown): BrowserWindow | null {
    return BrowserWindow.all.find((w) => w.webContents === wc && !w.destroyed) ?? null;
  }
  /** Called when a window is destroyed (the fake app uses it for `window-all-closed`). */
  static onDestroyed: (win: BrowserWindow) => void = () => {};

  readonly webContents = new FakeWebContents();
  readonly loaded: string[] = [];
  visible = false;
  destroyed = false;
  focused = false;
  minimized = false;
  private readyShown = false;

  constructor(readonly options: Electron.BrowserWindowConstructorOptions = {}) {
    super();
    this.visible = options.show !== false;
    BrowserWindow.all.push(this);
  }
  /**
   * Like Electron: `did-navigate` → `did-finish-load` → `ready-to-show` (once), then resolves; a missing file
   * emits `did-fail-load` and REJECTS with Chromium's ERR_FILE_NOT_FOUND (-6).
   */
  loadFile(filePath: string, options?: Electron.LoadFileOptions): Promise<void> {
    this.loaded.push(options?.hash ? `${filePath}#${options.hash}` : filePath);
    const url = loadFileUrl(filePath, options?.hash);
    return new Promise((resolveLoad, reject) =>
      setImmediate(() => {
        if (this.destroyed) return reject(new Error('ERR_ABORTED (-3) loading ' + `'${url}'`));
        if (!existsSync(filePath)) {
          this.webContents.emit('did-fail-load', fakeEvent(), -6, 'ERR_FILE_NOT_FOUND', url, true);
          return reject(new Error(`ERR_FILE_NOT_FOUND (-6) loading '${url}'`));
        }
        this.webContents.mainFrame.url = url;
        this.webContents.emit('did-navigate', fakeEvent(), url, -1, '');
        this.webContents.emit('did-finish-load');
        if (!this.readyShown) {
          this.readyShown = true;
          this.emit('ready-to-show');
        }
        resolveLoad();
      }),
    );
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
    if (this.destroyed) return;
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
    BrowserWindow.onDestroyed(this);
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
// nativeImage

/** Pixel size of a PNG (IHDR) or ICO (first directory entry; 0 means 256), or null. */
function imageSize(bytes: Buffer): { width: number; height: number } | null {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length >= 24 && bytes.subarray(0, 8).equals(png))
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length >= 22 && bytes.readUInt16LE(0) === 0 && bytes.readUInt16LE(2) === 1)
    return { width: bytes[6] || 256, height: bytes[7] || 256 };
  return null;
}

export class FakeNativeImage {
  template = false;
  constructor(
    /** The file it was read from ('' for createEmpty or an unreadable file). */
    readonly path: string,
    private readonly size: { width: number; height: number } | null,
    /** Scale factors found (`@2x` siblings are picked up like Electron does). */
    readonly scaleFactors: number[] = [],
  ) {}
  isEmpty(): boolean {
    return this.size === null;
  }
  getSize(): { width: number; height: number } {
    return this.size ?? { width: 0, height: 0 };
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
  'isEmpty' | 'getSize' | 'setTemplateImage' | 'isTemplateImage'
>;

function readImage(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

export const nativeImage = {
  /** Reads the file now; a relative, missing or undecodable path gives an EMPTY image, never a throw. */
  createFromPath(path: string): FakeNativeImage {
    const bytes = isAbsolute(path) ? readImage(path) : null;
    const size = bytes ? imageSize(bytes) : null;
    if (!size) return new FakeNativeImage(path, null);
    const x2 = path.replace(/(\.\w+)$/, '@2x$1');
    return new FakeNativeImage(path, size, existsSync(x2) && x2 !== path ? [1, 2] : [1]);
  },
  createEmpty(): FakeNativeImage {
    return new FakeNativeImage('', null);
  },
};

// ---------------------------------------------------------------------------------------------
// Menu, Tray

/** A built menu: the fake keeps the template as data. */
export class Menu {
  static built: Menu[] = [];
  /** What `Menu.setApplicationMenu` set; `undefined` = never called (Electron's default menu). */
  static applicationMenu: Menu | null | undefined = undefined;
  static buildFromTemplate(template: Electron.MenuItemConstructorOptions[]): Menu {
    const m = new Menu(template);
    Menu.built.push(m);
    return m;
  }
  static setApplicationMenu(menu: Menu | null): void {
    Menu.applicationMenu = menu;
  }
  static getApplicationMenu(): Menu | null {
    return Menu.applicationMenu ?? null;
  }
  constructor(readonly template: Electron.MenuItemConstructorOptions[]) {}
  /** Click the item with this id, as a user would (also inside a submenu, as Menu.getMenuItemById finds). */
  click(id: string): void {
    const find = (
      items: Electron.MenuItemConstructorOptions[],
    ): Electron.MenuItemConstructorOptions | undefined => {
      for (const i of items) {
        if (i.id === id) return i;
        const inner = Array.isArray(i.submenu) ? find(i.submenu) : undefined;
        if (inner) return inner;
      }
      return undefined;
    };
    const item = find(this.template);
    if (!item) throw new Error(`fake Menu: no item ${id}`);
    if (item.enabled === false) throw new Error(`fake Menu: item ${id} is disabled`);
    (item.click as ((...a: unknown[]) => void) | undefined)?.({ id, checked: item.checked }, undefined, {});
  }
}

/**
 * Like Electron 39's Tray, `new Tray()` NEVER throws: on Linux without a StatusNotifier host
 * Chromium falls back silently and the icon is simply nowhere (docs/desktop.md). A string is read
 * with `nativeImage.createFromPath`; an empty image gives an invisible icon, no error.
 */
export class Tray extends EventEmitter {
  static instances: Tray[] = [];

  image: FakeNativeImage;
  tooltip = '';
  title = '';
  menu: Menu | null = null;
  destroyed = false;
  readonly imageHistory: FakeNativeImage[] = [];
  popUps = 0;

  constructor(image: FakeNativeImage | string, _guid?: string) {
    super();
    this.image = typeof image === 'string' ? nativeImage.createFromPath(image) : image;
    this.imageHistory.push(this.image);
    Tray.instances.push(this);
  }
  setImage(image: FakeNativeImage | string): void {
    if (this.destroyed) throw new Error('Tray is destroyed');
    this.image = typeof image === 'string' ? nativeImage.createFromPath(image) : image;
    this.imageHistory.push(this.image);
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
    return this.image.path;
  }
}
({}) as Tray satisfies Pick<
  Electron.Tray,
  'setToolTip' | 'setTitle' | 'popUpContextMenu' | 'destroy' | 'isDestroyed'
>;

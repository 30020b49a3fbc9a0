// Test-only hooks for Playwright `_electron` specs (docs/architecture.md §16; the idea is mattermost's
// src/main/e2e): the composition root installs them ONLY under the explicit `--e2e-hooks` flag, never
// on environment variables. Playwright reaches them with
// `electronApp.evaluate(() => globalThis.__lunaTrayE2E…)`.
import type { DaemonStatus } from '../shared/daemon-status.js';
import type { PanelView } from './windows/panel-window.js';
import type { TrayAction } from './tray/tray-menu.js';
import type { TrayView } from './tray/tray-controller.js';

/** The global name of the hooks object. */
export const E2E_GLOBAL = '__lunaTrayE2E';

/** What Playwright can do in the main process. */
export interface E2eHooks {
  /** Show this status in the tray instead of the real one (null: back to the real one). */
  forceStatus(status: DaemonStatus | null): void;
  /** Icon path, tooltip and menu as the tray shows them now. */
  tray(): TrayView | null;
  /** "Click" a tray menu item. */
  click(action: TrayAction): void;
  /** The panel's visibility and the last view it was asked to show. */
  panel(): { visible: boolean; lastView: PanelView | null };
}

/** Dependencies the hooks reach into. */
export interface E2eHookDeps {
  setForcedStatus(status: DaemonStatus | null): void;
  tray(): TrayView | null;
  click(action: TrayAction): void;
  panel(): { visible: boolean; lastView: PanelView | null };
}

/** Install the hooks on `globalThis`; returns the disposer. */
export function installE2eHooks(deps: E2eHookDeps): () => void {
  const hooks: E2eHooks = {
    forceStatus: (status) => deps.setForcedStatus(status),
    tray: () => deps.tray(),
    click: (action) => deps.click(action),
    panel: () => deps.panel(),
  };
  (globalThis as Record<string, unknown>)[E2E_GLOBAL] = hooks;
  return () => {
    delete (globalThis as Record<string, unknown>)[E2E_GLOBAL];
  };
}

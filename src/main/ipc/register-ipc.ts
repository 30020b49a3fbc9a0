// The one place that registers invoke handlers (docs/architecture.md §8). Every channel of the contract goes
// through the same wrapper: (1) sender check, (2) zod parse, (3) core handler, (4) ApiResult.
import { ipcMain as electronIpcMain, type IpcMain, type IpcMainInvokeEvent } from 'electron';

import { INVOKE_CHANNELS, invokeContract, type InvokeChannel } from '../../shared/contract/invoke.js';
import type { InvokeHandlers } from '../../shared/contract/renderer-api.js';
import { err, type ApiResult } from '../../shared/contract/result.js';
import { toSettingsIssues } from '../../shared/settings-schema.js';

/** Decides whether an invoke comes from our own bundled page in one of our windows. */
export type SenderCheck = (event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>) => boolean;

/** Options of `registerIpcHandlers`. */
export interface RegisterIpcOptions {
  handlers: InvokeHandlers;
  isTrustedSender: SenderCheck;
  /** Defaults to Electron's ipcMain (tests pass the fake through the `electron` alias anyway). */
  ipcMain?: Pick<IpcMain, 'handle' | 'removeHandler'>;
  logError?: (message: string, error: unknown) => void;
}

/** `file:///…/index.html#logs?x` → `file:///…/index.html`: hash and query do not change the page. */
function pageOf(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    // Not a URL at all (about:blank is one; garbage is not): never trusted.
    return null;
  }
}

/**
 * Sender check: the sender must be our panel's webContents (B: one of our windows), the frame its
 * MAIN frame (no iframe), showing the page the panel loaded. The page URL is the one Electron itself
 * recorded for the panel (`pageUrl`), never one rebuilt from the file path: `pathToFileURL` and
 * Electron's `loadFile` escape `%` differently, and every call would then be refused
 * (docs/desktop.md). A navigated-away or destroyed frame (`senderFrame === null`) is refused.
 */
export function createSenderCheck(opts: {
  pageUrl: () => string | null;
  ownsWebContents: (wc: unknown) => boolean;
}): SenderCheck {
  return (event) => {
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    const expected = opts.pageUrl();
    const page = pageOf(frame.url);
    if (expected === null || page === null || page !== pageOf(expected)) return false;
    return opts.ownsWebContents(event.sender);
  };
}

async function dispatch<K extends InvokeChannel>(
  channel: K,
  raw: unknown,
  handlers: InvokeHandlers,
): Promise<ApiResult<unknown>> {
  // A request of `undefined` means "no arguments": channels without fields take `{}`.
  const parsed = invokeContract[channel].request.safeParse(raw === undefined ? {} : raw);
  if (!parsed.success) {
    return err('invalid-input', `invalid request for ${channel}`, toSettingsIssues(parsed.error));
  }
  const handler = handlers[channel] as (request: unknown) => Promise<ApiResult<unknown>>;
  return handler(parsed.data);
}

/** Register one `ipcMain.handle` per invoke channel; returns the disposer that removes them all. */
export function registerIpcHandlers(opts: RegisterIpcOptions): () => void {
  const ipc = opts.ipcMain ?? electronIpcMain;
  for (const channel of INVOKE_CHANNELS) {
    ipc.handle(channel, async (event: IpcMainInvokeEvent, raw: unknown): Promise<ApiResult<unknown>> => {
      if (!opts.isTrustedSender(event)) {
        return err('forbidden', `${channel}: the caller is not the Luna Tray panel`);
      }
      try {
        return await dispatch(channel, raw, opts.handlers);
      } catch (e) {
        // Core handlers return expected failures as values; a throw is a bug. Keep it an envelope:
        // Electron would pass only the message through an invoke rejection (electron issue #24427).
        opts.logError?.(`ipc ${channel} threw`, e);
        return err('internal', e instanceof Error ? e.message : String(e));
      }
    });
  }
  return () => {
    for (const channel of INVOKE_CHANNELS) ipc.removeHandler(channel);
  };
}

// The sandboxed preload (docs/architecture.md §2, §6): builds ONE typed object and exposes it once as
// `window.lunaTray`. It bundles to a single CommonJS file that requires only 'electron', so it
// imports the channel NAME lists (no zod) and types only from src/shared.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

import { isEventChannel, isInvokeChannel } from '../shared/contract/channels.js';
import type { EventChannel, EventPayload } from '../shared/contract/events.js';
import type { InvokeChannel, InvokeRequest, InvokeResponse } from '../shared/contract/invoke.js';
import type { Invoke, RendererApi } from '../shared/contract/renderer-api.js';
import type { ApiResult } from '../shared/contract/result.js';

/** The global name the renderer finds the bridge under (`window.lunaTray`). */
export const API_KEY = 'lunaTray';

/** Rejected calls still resolve to the envelope: the renderer switches on `code`, never on throws. */
function failure(code: 'invalid-input' | 'internal', message: string): ApiResult<never> {
  return { ok: false, error: { code, message } };
}

async function invoke<K extends InvokeChannel>(
  channel: K,
  request: InvokeRequest<K>,
): Promise<ApiResult<InvokeResponse<K>>> {
  // Only contract channels pass: the page must never reach arbitrary IPC.
  if (!isInvokeChannel(channel))
    return failure('invalid-input', `unknown invoke channel: ${String(channel)}`);
  try {
    return (await ipcRenderer.invoke(channel, request ?? {})) as ApiResult<InvokeResponse<K>>;
  } catch (e) {
    // Electron carries only the message across an invoke rejection (electron issue #24427).
    return failure('internal', e instanceof Error ? e.message : String(e));
  }
}
invoke satisfies Invoke;

function on<K extends EventChannel>(channel: K, listener: (payload: EventPayload<K>) => void): () => void {
  if (!isEventChannel(channel)) throw new TypeError(`unknown event channel: ${String(channel)}`);
  // The IpcRendererEvent stays here: it exposes `sender` (ipcRenderer) and must never reach the page.
  const wrapped = (_event: IpcRendererEvent, payload: unknown): void => listener(payload as EventPayload<K>);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.removeListener(channel, wrapped);
  };
}

function onConnection(listener: (connected: boolean) => void): () => void {
  // IPC to our own main process never disconnects: report "connected" once.
  listener(true);
  return () => {};
}

/** The object the page receives; exactly the `RendererApi` contract. */
export const api = { invoke, on, onConnection, kind: 'electron' } satisfies RendererApi;

contextBridge.exposeInMainWorld(API_KEY, api);

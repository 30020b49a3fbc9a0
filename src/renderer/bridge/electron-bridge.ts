import type { EventChannel, EventPayload } from '../../shared/contract/events.js';
import type { InvokeChannel, InvokeRequest, InvokeResponse } from '../../shared/contract/invoke.js';
import type { RendererApi } from '../../shared/contract/renderer-api.js';
import type { ApiResult } from '../../shared/contract/result.js';

/** What the preload exposes as `window.lunaTray`: the `RendererApi` shape minus `kind`. */
export type ExposedApi = Omit<RendererApi, 'kind'>;

/** The preload object is missing or has the wrong shape (a build or preload bug, not a user error). */
export class PreloadApiError extends Error {
  override name = 'PreloadApiError';
}

/**
 * `window.lunaTray` when the page runs inside the Electron window, else `null` (a browser served by
 * `luna-tray serve`). The only place that names the preload's global (docs/architecture.md §7).
 */
export function detectElectronApi(win: Window): unknown {
  const exposed = (win as Window & { lunaTray?: unknown }).lunaTray;
  return exposed === undefined ? null : exposed;
}

/** Wrap the preload's object as a `RendererApi` (IPC never disconnects; a rejected invoke becomes a value). */
export function createElectronBridge(exposed: unknown): RendererApi {
  const api = checkShape(exposed);
  return {
    kind: 'electron',
    async invoke<K extends InvokeChannel>(
      channel: K,
      request: InvokeRequest<K>,
    ): Promise<ApiResult<InvokeResponse<K>>> {
      try {
        const res = await api.invoke(channel, request);
        if (isApiResult(res)) return res;
        return {
          ok: false,
          error: { code: 'internal', message: `malformed reply from the app for ${channel}` },
        };
      } catch (e) {
        // Electron only carries the message of a rejected invoke across IPC (electron#24427).
        return {
          ok: false,
          error: { code: 'internal', message: e instanceof Error ? e.message : String(e) },
        };
      }
    },
    on<K extends EventChannel>(channel: K, listener: (payload: EventPayload<K>) => void): () => void {
      const dispose = api.on(channel, (payload) => {
        try {
          listener(payload);
        } catch (e) {
          // One failing view must not stop the others from hearing the event.
          console.error(`listener of ${channel} failed`, e);
        }
      });
      return typeof dispose === 'function' ? dispose : () => undefined;
    },
    onConnection(listener: (connected: boolean) => void): () => void {
      return api.onConnection(listener);
    },
  };
}

function checkShape(exposed: unknown): ExposedApi {
  const o = exposed as Partial<Record<keyof ExposedApi, unknown>> | null;
  for (const m of ['invoke', 'on', 'onConnection'] as const) {
    if (typeof o?.[m] !== 'function') {
      throw new PreloadApiError(
        `window.lunaTray.${m} is not a function: the preload script did not expose the API`,
      );
    }
  }
  return exposed as ExposedApi;
}

function isApiResult(v: unknown): v is ApiResult<never> {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { ok?: unknown; error?: unknown };
  return r.ok === true || (r.ok === false && typeof r.error === 'object' && r.error !== null);
}

import type { EventChannel, EventPayload } from './events.js';
import type { InvokeChannel, InvokeRequest, InvokeResponse, ParsedRequest } from './invoke.js';
import type { ApiResult } from './result.js';

/** A call of one invoke channel. */
export type Invoke = <K extends InvokeChannel>(
  channel: K,
  request: InvokeRequest<K>,
) => Promise<ApiResult<InvokeResponse<K>>>;

/**
 * What the renderer may call. The renderer receives one of these (Electron IPC bridge, or the
 * HTTP/WebSocket bridge) and never knows which.
 */
export interface RendererApi {
  invoke: Invoke;
  /** Subscribe to a push channel; returns a disposer. */
  on<K extends EventChannel>(channel: K, listener: (payload: EventPayload<K>) => void): () => void;
  /** Transport connectivity (the HTTP bridge loses the server; IPC never does). */
  onConnection(listener: (connected: boolean) => void): () => void;
  /** Which transport, for display only ("desktop" or "browser"). */
  readonly kind: 'electron' | 'http';
}

/** The handler table a host registers: one async function per invoke channel, given the parsed request. */
export type InvokeHandlers = {
  [K in InvokeChannel]: (request: ParsedRequest<K>) => Promise<ApiResult<InvokeResponse<K>>>;
};

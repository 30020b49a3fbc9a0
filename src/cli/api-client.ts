import type WebSocket from 'ws';

import type { EventMessage } from '../shared/contract/events.js';
import { httpPathOf } from '../shared/contract/http-routes.js';
import type { InvokeChannel, InvokeRequest, InvokeResponse } from '../shared/contract/invoke.js';
import type { ApiResult } from '../shared/contract/result.js';
import { readToken } from '../core/control/auth.js';
import { proveHolder } from '../core/control/lock.js';
import { loopbackRequest } from '../core/util/loopback-http.js';

/**
 * Luna Tray's control API could not be reached, refused our token, or the port's holder could not
 * prove it is our Luna Tray. Exit code 3.
 */
export class ApiUnavailableError extends Error {
  override readonly name = 'ApiUnavailableError';
}

/**
 * A client of the headless control API on 127.0.0.1:<port>, authenticated with the data dir's
 * token. The token is sent only after the holder of the port proved that it knows it (an impostor
 * on the port gets nothing: docs/security.md §2).
 */
export class ApiClient {
  #verified: Promise<string> | undefined;

  private constructor(
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  static async create(port: number, dataDir: string): Promise<ApiClient> {
    return Promise.resolve(new ApiClient(port, dataDir));
  }

  /** The token, once the holder proved itself (checked once per client). */
  #token(): Promise<string> {
    this.#verified ??= (async () => {
      let token: string | null = null;
      const check = await proveHolder(this.port, async () => (token = await readToken(this.dataDir)));
      if (check.kind === 'nobody') throw this.#notRunning();
      if (check.kind === 'impostor') throw new ApiUnavailableError(check.message);
      return token!;
    })();
    return this.#verified;
  }

  #notRunning(cause?: unknown): ApiUnavailableError {
    return new ApiUnavailableError(
      `Luna Tray is not running (nothing answers on 127.0.0.1:${this.port}) — start it with \`luna-tray serve\`.`,
      { cause },
    );
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A raw call; JSON in, JSON out, with the HTTP status. */
  async call(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    timeoutMs = 130_000,
  ): Promise<{ status: number; body: unknown }> {
    const token = await this.#token();
    let res;
    try {
      res = await loopbackRequest(this.port, method, path, {
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs,
      });
    } catch (e) {
      throw this.#notRunning(e);
    }
    let parsed: unknown = res.text;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      // Not JSON: keep the text.
    }
    if (res.status === 401) {
      throw new ApiUnavailableError(
        `Luna Tray on port ${this.port} refused our token. Use the same --data-dir (or LUNA_TRAY_DATA_DIR) as the running server.`,
      );
    }
    if (res.status === 403)
      throw new ApiUnavailableError(`Luna Tray on port ${this.port} refused the request (403).`);
    return { status: res.status, body: parsed };
  }

  /** A contract call. */
  async invoke<K extends InvokeChannel>(
    channel: K,
    req: InvokeRequest<K>,
  ): Promise<ApiResult<InvokeResponse<K>>> {
    const { body } = await this.call('POST', httpPathOf(channel), req);
    return body as ApiResult<InvokeResponse<K>>;
  }

  /** Subscribe to push events; returns a closer. `onClose` fires when the connection ends. */
  events(
    onMessage: (m: EventMessage) => void,
    onClose: (reason: string) => void,
    onOpen?: () => void,
  ): () => void {
    let ws: WebSocket | null = null;
    let closed = false;
    // `ws` is loaded only by the commands that follow events (start-up time of the others).
    Promise.all([this.#token(), import('ws')]).then(
      ([token, { default: WebSocketClass }]) => {
        if (!closed) ws = this.#connectEvents(WebSocketClass, token, onMessage, onClose, onOpen);
      },
      (e: unknown) => onClose(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      closed = true;
      ws?.terminate();
    };
  }

  #connectEvents(
    WebSocketClass: typeof WebSocket,
    token: string,
    onMessage: (m: EventMessage) => void,
    onClose: (reason: string) => void,
    onOpen?: () => void,
  ): WebSocket {
    const ws = new WebSocketClass(`ws://127.0.0.1:${this.port}/api/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.on('open', () => onOpen?.());
    ws.on('message', (data: WebSocket.RawData) => {
      try {
        // The server sends text frames: `data` is a Buffer here.
        onMessage(JSON.parse((data as Buffer).toString('utf8')) as EventMessage);
      } catch {
        // A malformed push is ignored; the next one re-syncs.
      }
    });
    ws.on('close', (code) => onClose(`closed (${code})`));
    ws.on('error', (e) => onClose(e.message));
    return ws;
  }
}

import { request } from 'undici';
import WebSocket from 'ws';

import type { EventMessage } from '../shared/contract/events.js';
import { httpPathOf } from '../shared/contract/http-routes.js';
import type { InvokeChannel, InvokeRequest, InvokeResponse } from '../shared/contract/invoke.js';
import type { ApiResult } from '../shared/contract/result.js';
import { readToken } from '../core/control/auth.js';

/** Luna Tray's control API could not be reached, or refused our token. Exit code 3. */
export class ApiUnavailableError extends Error {
  override readonly name = 'ApiUnavailableError';
}

/** A client of the headless control API on 127.0.0.1:<port>, authenticated with the data dir's token. */
export class ApiClient {
  private constructor(
    readonly port: number,
    private readonly token: string | null,
  ) {}

  static async create(port: number, dataDir: string): Promise<ApiClient> {
    return new ApiClient(port, await readToken(dataDir));
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
    let res;
    try {
      res = await request(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token ?? ''}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (e) {
      throw new ApiUnavailableError(
        `Luna Tray is not running (nothing answers on 127.0.0.1:${this.port}) — start it with \`luna-tray serve\`.`,
        { cause: e },
      );
    }
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    if (res.statusCode === 401) {
      throw new ApiUnavailableError(
        `Luna Tray on port ${this.port} refused our token. Use the same --data-dir (or LUNA_TRAY_DATA_DIR) as the running server.`,
      );
    }
    if (res.statusCode === 403)
      throw new ApiUnavailableError(`Luna Tray on port ${this.port} refused the request (403).`);
    return { status: res.statusCode, body: parsed };
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
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/api/events`, {
      headers: { authorization: `Bearer ${this.token ?? ''}` },
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
    return () => ws.terminate();
  }
}

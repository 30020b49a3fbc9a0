import type WebSocket from 'ws';

import type { EventMessage } from '../shared/contract/events.js';
import { httpPathOf } from '../shared/contract/http-routes.js';
import type { InvokeChannel, InvokeRequest, InvokeResponse } from '../shared/contract/invoke.js';
import type { ApiResult } from '../shared/contract/result.js';
import { readToken, readTokenFile } from '../core/control/auth.js';
import { proveHolder } from '../core/control/lock.js';
import { loopbackAuthority, loopbackRequest, type LoopbackHost } from '../core/util/loopback-http.js';

/**
 * Luna Tray's control API could not be reached, refused our token, or the port's holder could not
 * prove it is our Luna Tray. Exit code 3.
 */
export class ApiUnavailableError extends Error {
  override readonly name = 'ApiUnavailableError';
}

/** Where the control API is and which token to send (the CLI's `--url` and `--token-file`). */
export interface ApiTarget {
  host?: LoopbackHost;
  /** The port forwards to a Luna Tray on another port (an SSH tunnel): see `proveHolder`. */
  tunnel?: boolean;
  /** Read the token from this file instead of `<dataDir>/control-token`. */
  tokenFile?: string;
}

/**
 * A client of the headless control API on 127.0.0.1:<port> (or a tunnel's loopback end),
 * authenticated with the data dir's token or `--token-file`. The token is sent only after the
 * holder of the port proved that it knows it (an impostor on the port gets nothing:
 * docs/security.md §2).
 */
export class ApiClient {
  #verified: Promise<string> | undefined;
  readonly host: LoopbackHost;

  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly target: ApiTarget,
  ) {
    this.host = target.host ?? '127.0.0.1';
  }

  /** `target` is usually the CLI's Context, which carries `host`, `tunnel` and `tokenFile`. */
  static async create(port: number, dataDir: string, target: ApiTarget = {}): Promise<ApiClient> {
    return Promise.resolve(new ApiClient(port, dataDir, target));
  }

  /** The token, once the holder proved itself (checked once per client). */
  #token(): Promise<string> {
    this.#verified ??= (async () => {
      let token: string | null = null;
      const { tokenFile } = this.target;
      const read = async () =>
        (token = tokenFile !== undefined ? await readTokenFile(tokenFile) : await readToken(this.dataDir));
      const check = await proveHolder(this.port, read, undefined, {
        host: this.host,
        ...(this.target.tunnel ? { tunnel: true } : {}),
      });
      if (check.kind === 'nobody') throw this.#notRunning();
      if (check.kind === 'impostor') throw new ApiUnavailableError(check.message);
      return token!;
    })();
    return this.#verified;
  }

  #notRunning(cause?: unknown): ApiUnavailableError {
    return new ApiUnavailableError(
      this.target.tunnel
        ? `Nothing answers on ${this.base} — is the SSH tunnel up (ssh -L …) and Luna Tray running on the far side?`
        : `Luna Tray is not running (nothing answers on 127.0.0.1:${this.port}) — start it with \`luna-tray serve\`.`,
      { cause },
    );
  }

  get base(): string {
    return `http://${loopbackAuthority(this.host, this.port)}`;
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
        host: this.host,
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
        this.target.tokenFile !== undefined
          ? `Luna Tray at ${this.base} refused the token in ${this.target.tokenFile}. Copy the box's <data dir>/control-token again.`
          : `Luna Tray on port ${this.port} refused our token. Use the same --data-dir (or LUNA_TRAY_DATA_DIR) as the running server.`,
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
    const ws = new WebSocketClass(`ws://${loopbackAuthority(this.host, this.port)}/api/events`, {
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

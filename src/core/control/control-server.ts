import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';

import { EVENT_CHANNELS, type EventChannel } from '../../shared/contract/events.js';
import {
  HTTP_ROUTES,
  EVENTS_PATH,
  APP_QUIT_PATH,
  PANEL_URL_PATH,
  type PanelUrlReply,
} from '../../shared/contract/http-routes.js';
import { invokeContract, type InvokeChannel } from '../../shared/contract/invoke.js';
import type { ApiResult } from '../../shared/contract/result.js';
import { toSettingsIssues } from '../../shared/settings-schema.js';
import type { LunaCore } from '../app/luna-core.types.js';
import {
  NONCE_RE,
  OneTimeCodes,
  Sessions,
  identityProof,
  isAllowedHost,
  isAllowedOrigin,
  ensureTokenFile,
  loadOrCreateToken,
  parseRequestTarget,
  presentedCredentials,
  sessionCookieName,
  tokenMatches,
} from './auth.js';
import { LockHeldError, identifyHolder } from './lock.js';
import {
  HttpError,
  SECURITY_HEADERS,
  STATIC_FILES,
  readJsonBody,
  sendJson,
  sendResult,
  serveStatic,
} from './http-io.js';
import { lunaRoute } from './luna-routes.js';
import { collectMetrics } from '../metrics/collect.js';
import { EXPOSITION_CONTENT_TYPE } from '../metrics/exposition.js';

export interface ControlServerOptions {
  core: LunaCore;
  /** The lock/control port (default 19299). Binding it IS the single-instance lock. */
  port: number;
  dataDir: string;
  /** Folder with the built renderer (index.html, main.js, styles.css); null serves no panel. */
  staticDir: string | null;
  /** `POST /app/show`: a second instance (or the CLI) asks us to show the window. */
  onShow: () => void;
  /** `POST /app/quit` (`luna-tray quit`): exit the app or `serve`, as its own Exit does. */
  onQuit?: () => void;
  version: string;
  /** Request body limit (413 beyond it). */
  maxBodyBytes?: number;
  /** A WebSocket client whose send buffer exceeds this is dropped (it re-syncs on reconnect). */
  maxClientBufferBytes?: number;
  /** How often the token file is checked and rewritten when deleted or damaged (default 5 s). */
  tokenCheckIntervalMs?: number;
}

export interface ControlServer {
  readonly port: number;
  readonly origin: string;
  /** A panel URL with a fresh one-time code (valid for `ttlMs`, default 10 minutes). */
  panelUrl(ttlMs?: number): string;
  close(): Promise<void>;
}

const logsQuery = z.object({
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(200_000).optional(),
});
const instanceBody = z.object({ url: z.string().url(), promptId: z.string().min(1).optional() }).strict();

/**
 * The lock and control server: binds 127.0.0.1 only, serves the panel's static files, the contract
 * routes (`POST /api/<domain>/<verb>`), the original-compatible `/luna/daemon/*` routes, settings,
 * logs and an event WebSocket. Every request passes the Host and Origin checks; everything but the
 * static files and `/app/identity` needs the token (bearer or session cookie). No CORS headers.
 */
export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const maxBody = opts.maxBodyBytes ?? 64 * 1024;
  const maxClientBuffer = opts.maxClientBufferBytes ?? 16 * 1024 * 1024;
  const token = await loadOrCreateToken(opts.dataDir);
  const codes = new OneTimeCodes();
  const sessions = new Sessions();
  /** The CLI's bearer token, or a panel session from a one-time code. */
  const authorized = (headers: IncomingMessage['headers']): boolean => {
    const { bearer, session } = presentedCredentials(headers, sessionCookieName(headers.host, port));
    return tokenMatches(bearer, token) || sessions.has(session);
  };
  const core = opts.core;
  let port = opts.port;

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();
  // The core's events are followed only while an event client is connected: with none, the core
  // sees no listener and skips building payloads nobody would receive (bench: idle). A client
  // gets the events fired after its upgrade, exactly as before.
  const subscriptions: (() => void)[] = [];
  const follow = (): void => {
    if (subscriptions.length > 0) return;
    for (const channel of EVENT_CHANNELS) {
      subscriptions.push(core.events.on(channel, (data) => broadcast(channel, data)));
    }
  };
  const unfollow = (): void => {
    for (const d of subscriptions.splice(0)) d();
  };
  let closing = false;
  const dropClient = (ws: WebSocket): void => {
    clients.delete(ws);
    if (clients.size === 0) unfollow();
  };

  function broadcast(channel: EventChannel, data: unknown): void {
    if (clients.size === 0) return;
    const message = JSON.stringify({ type: channel, data });
    for (const ws of clients) {
      // A client that cannot keep up (a log flood to a slow browser) is dropped rather than
      // buffered without bound; it reconnects and re-syncs from its last log seq.
      if (ws.bufferedAmount > maxClientBuffer) ws.terminate();
      else ws.send(message);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (!res.headersSent) {
        sendJson(res, status, {
          status: 'error',
          message: status === 500 ? `internal error: ${message}` : message,
          ...(e instanceof HttpError && e.issues ? { issues: e.issues } : {}),
        });
      } else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseRequestTarget(req.url);
    if (!url) throw new HttpError(400, 'bad request: the target must be a path (/…)');
    const host = req.headers.host;
    if (!isAllowedHost(host)) throw new HttpError(403, 'forbidden: unexpected Host header');
    if (!isAllowedOrigin(req.headers.origin, host)) throw new HttpError(403, 'forbidden: foreign Origin');
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (method === 'GET' && path === '/app/identity') return identity(res, url.searchParams.get('nonce'));
    if (method === 'GET' && (path === '/' || path in STATIC_FILES)) {
      const code = url.searchParams.get('code');
      if (code !== null) return exchangeCode(res, code, host);
      return serveStatic(res, opts.staticDir, path === '/' ? '/index.html' : path, host);
    }
    if (method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    if (!authorized(req.headers)) {
      throw new HttpError(
        401,
        'unauthorized: missing or wrong token (the CLI reads it from the data directory; the panel needs `luna-tray open`)',
      );
    }

    const channel = HTTP_ROUTES.get(path);
    if (channel) {
      if (method !== 'POST') throw new HttpError(405, `method not allowed: use POST ${path}`);
      return invoke(res, channel, await readJsonBody(req, maxBody));
    }
    if (await lunaRoute(core, res, method, path, () => readJsonBody(req, maxBody))) return;
    if (path === '/luna/daemon/logs' || path === '/logs') {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed: use GET');
      const q = logsQuery.safeParse(Object.fromEntries(url.searchParams));
      if (!q.success)
        throw new HttpError(
          400,
          `invalid query: ${q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      return sendResult(
        res,
        await core.handlers['logs:get-since']({
          seq: q.data.since,
          ...(q.data.limit ? { limit: q.data.limit } : {}),
        }),
      );
    }
    if (path === '/metrics') {
      if (method !== 'GET') throw new HttpError(405, 'method not allowed: use GET');
      const body = await collectMetrics(core, opts.version);
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': EXPOSITION_CONTENT_TYPE });
      res.end(body);
      return;
    }
    if (path === '/settings') {
      if (method === 'GET') return sendResult(res, await core.handlers['settings:get']({}));
      if (method === 'PUT' || method === 'PATCH') {
        const body = await readJsonBody(req, maxBody);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new HttpError(
            400,
            'invalid settings: the body must be a JSON object (a partial settings update)',
          );
        }
        return sendResult(
          res,
          await core.handlers['settings:update']({ patch: body as Record<string, unknown> }),
        );
      }
      throw new HttpError(405, 'method not allowed: use GET or PUT');
    }
    if (path === '/app/show' && method === 'POST') {
      await readJsonBody(req, maxBody);
      opts.onShow();
      return sendJson(res, 200, { status: 'ok', message: 'shown' });
    }
    if (path === APP_QUIT_PATH && method === 'POST') {
      await readJsonBody(req, maxBody);
      if (!opts.onQuit) throw new HttpError(404, 'this Luna Tray cannot be quit through the control API');
      // Answer first: the exit sequence closes this server.
      res.once('finish', () => opts.onQuit?.());
      return sendJson(res, 202, { status: 'ok', message: 'quitting' });
    }
    if (path === PANEL_URL_PATH && method === 'POST') {
      await readJsonBody(req, maxBody);
      // The link names the address the caller used: through an SSH tunnel, the tunnel's port.
      return sendJson(res, 200, { url: panelUrl(undefined, host) } satisfies PanelUrlReply);
    }
    if (path === '/comfyui/instances' && method === 'GET') {
      return sendResult(res, await core.handlers['comfy:list-instances']({}));
    }
    if (path === '/comfyui/free' && method === 'POST') {
      await readJsonBody(req, maxBody);
      return sendResult(res, await core.handlers['comfy:free-vram']({}));
    }
    if ((path === '/comfyui/interrupt' || path === '/comfyui/clear-queue') && method === 'POST') {
      const body = instanceBody.safeParse(await readJsonBody(req, maxBody));
      if (!body.success) throw new HttpError(400, 'invalid body: expected {"url": "http://127.0.0.1:8188"}');
      const ch = path === '/comfyui/interrupt' ? 'comfy:interrupt' : 'comfy:clear-queue';
      return sendResult(res, await core.handlers[ch](body.data));
    }
    throw new HttpError(404, `not found: ${method} ${path}`);
  }

  async function invoke(res: ServerResponse, channel: InvokeChannel, body: unknown): Promise<void> {
    const parsed = invokeContract[channel].request.safeParse(body ?? {});
    if (!parsed.success) {
      const issues = toSettingsIssues(parsed.error);
      return sendJson(res, 400, {
        ok: false,
        error: {
          code: 'invalid-input',
          message: `invalid request for ${channel}: ${issues.map((i) => `${i.key || '(body)'}: ${i.message}`).join('; ')}`,
          issues,
        },
      });
    }
    const handler = core.handlers[channel] as (req: unknown) => Promise<ApiResult<unknown>>;
    const r = await handler(parsed.data);
    // The contract envelope travels with 200, except a server-side failure (a disk error on save).
    sendJson(res, !r.ok && r.error.code === 'internal' ? 500 : 200, r);
  }

  /**
   * `GET /app/identity[?nonce=…]`, the one route besides the panel files that needs no token: with
   * a nonce, the answer proves that we know the token without revealing it (see `identityProof`).
   */
  async function identity(res: ServerResponse, nonce: string | null): Promise<void> {
    if (nonce === null) return sendJson(res, 200, { app: 'luna-tray', version: opts.version });
    if (!NONCE_RE.test(nonce))
      throw new HttpError(400, 'invalid nonce: expected 22–128 base64url characters');
    // A client asks this before it reads the token file: make sure the file is there and ours.
    await ensureTokenFile(opts.dataDir, token);
    sendJson(res, 200, {
      app: 'luna-tray',
      version: opts.version,
      proof: identityProof(token, nonce, port),
      // The port the proof is bound to: a client behind an SSH tunnel knows only the tunnel's.
      port,
    });
  }

  function exchangeCode(res: ServerResponse, code: string, host: string): void {
    if (!codes.consume(code)) {
      res.writeHead(401, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      res.end('This Luna Tray link has expired or was already used. Run `luna-tray open` for a new one.\n');
      return;
    }
    res.writeHead(302, {
      ...SECURITY_HEADERS,
      location: '/',
      'set-cookie': `${sessionCookieName(host, port)}=${sessions.create()}; HttpOnly; SameSite=Strict; Path=/`,
    });
    res.end();
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands an upgrade socket over without its error listener: a reset before we answer
    // would otherwise be an uncaught 'error' event, and any throw here would end the process.
    socket.on('error', () => socket.destroy());
    try {
      upgrade(req, socket, head);
    } catch {
      refuseUpgrade(socket, 400, 'Bad Request');
    }
  });

  function refuseUpgrade(socket: Duplex, status: number, text: string): void {
    if (socket.writable)
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, text: string) => refuseUpgrade(socket, status, text);
    const url = parseRequestTarget(req.url);
    if (!url) return refuse(400, 'Bad Request');
    if (url.pathname !== EVENTS_PATH) return refuse(404, 'Not Found');
    if (!isAllowedHost(req.headers.host) || !isAllowedOrigin(req.headers.origin, req.headers.host))
      return refuse(403, 'Forbidden');
    if (!authorized(req.headers)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (closing) {
        ws.terminate();
        return;
      }
      clients.add(ws);
      follow();
      ws.on('close', () => dropClient(ws));
      ws.on('error', () => dropClient(ws));
      // The event socket is push-only; anything a client sends is ignored.
    });
  }

  function panelUrl(ttlMs = 10 * 60_000, host = `127.0.0.1:${port}`): string {
    return `http://${host}/?code=${codes.create(ttlMs)}`;
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // Loopback only, exclusively: binding this port is the single-instance lock.
    server.listen({ port: opts.port, host: '127.0.0.1', exclusive: true });
  }).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') {
      const { holder, who } = await identifyHolder(opts.port, token);
      throw new LockHeldError(opts.port, holder, who);
    }
    throw e;
  });
  const address = server.address();
  if (address && typeof address === 'object') port = address.port;
  // A token file deleted or damaged while we run is written again, so the CLI is never locked out
  // until a restart (docs/security.md §2).
  const tokenCheck = setInterval(
    () => void ensureTokenFile(opts.dataDir, token),
    opts.tokenCheckIntervalMs ?? 5_000,
  );
  tokenCheck.unref();

  return {
    get port() {
      return port;
    },
    get origin() {
      return `http://127.0.0.1:${port}`;
    },
    panelUrl,
    async close() {
      closing = true;
      clearInterval(tokenCheck);
      unfollow();
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

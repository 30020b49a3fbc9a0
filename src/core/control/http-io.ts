import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

import type { ApiResult } from '../../shared/contract/result.js';
import { MAX_JSON_DEPTH, inspectJson } from '../util/json-guard.js';

/**
 * The control server's HTTP plumbing (docs/security.md §1): the headers every answer carries, the
 * panel's files and CSP, JSON bodies in (size, type, depth and key checks) and out.
 */

/** An error that becomes an HTTP answer with this status (and the message as JSON). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: { key: string; message: string }[],
  ) {
    super(message);
  }
}

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Files of the renderer build the server may serve, with their types. Nothing else is reachable. */
export const STATIC_FILES: Record<string, string> = {
  '/index.html': 'text/html; charset=utf-8',
  '/main.js': 'text/javascript; charset=utf-8',
  '/main.js.map': 'application/json; charset=utf-8',
  '/styles.css': 'text/css; charset=utf-8',
};

/**
 * The CSP of the panel (index.html carries the same with `connect-src 'self'`): no inline script,
 * and connections only to this server, over HTTP and its own WebSocket origins (a bare `ws:` used
 * to allow any WebSocket host). `'self'` covers same-origin WebSockets in CSP3 browsers (and is
 * the only way to name `[::1]`); the explicit loopback origins, on the port the browser used
 * (`host`, the tunnel's behind `ssh -L`), cover the others.
 */
export function panelCsp(host: string): string {
  const port = /:(\d+)$/.exec(host)?.[1];
  // No `ws://[::1]:…`: CSP's host grammar has no IPv6 literals (Chromium ignores it with an error).
  const ws = ['127.0.0.1', 'localhost'].map((h) => `ws://${h}${port ? `:${port}` : ''}`).join(' ');
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${ws}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** Serve one of {@link STATIC_FILES} from the renderer build. */
export async function serveStatic(
  res: ServerResponse,
  staticDir: string | null,
  file: string,
  /** The request's (checked, loopback) Host: through an SSH tunnel the page lives on its port. */
  host: string,
): Promise<void> {
  if (!staticDir) throw new HttpError(404, 'no panel build: run `npm run build`');
  let body: Buffer;
  try {
    body = await readFile(join(staticDir, file));
  } catch {
    throw new HttpError(404, `panel file missing: ${file} (run \`npm run build\`)`);
  }
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': STATIC_FILES[file]!,
    'content-security-policy': panelCsp(host),
  });
  res.end(body);
}

/**
 * Read a JSON request body of at most `maxBody` bytes. Only `application/json`: a cross-site
 * "simple" form POST (text/plain, form-encoded) is refused with 415, with or without a body; a
 * bodiless request without any Content-Type is `{}`. Bodies nested too deeply or carrying
 * prototype keys are a 400 (`json-guard.ts`).
 */
export async function readJsonBody(req: IncomingMessage, maxBody: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBody) {
    req.resume();
    throw new HttpError(413, `request body too large (limit ${maxBody} bytes)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) {
      req.resume();
      throw new HttpError(413, `request body too large (limit ${maxBody} bytes)`);
    }
    chunks.push(chunk);
  }
  const type = req.headers['content-type'];
  if (size === 0 && type === undefined) return {};
  if (!/^application\/json\b/i.test(type ?? ''))
    throw new HttpError(415, 'unsupported media type: send Content-Type: application/json');
  if (size === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    throw new HttpError(400, `invalid JSON: ${(e as Error).message}`);
  }
  const problems = inspectJson(body, MAX_JSON_DEPTH);
  if (problems.tooDeep !== null)
    throw new HttpError(400, `invalid JSON: nested deeper than ${problems.tooDeep} levels`);
  if (problems.forbiddenKey !== null)
    throw new HttpError(400, `invalid JSON: forbidden key "${problems.forbiddenKey}"`);
  return body;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * A contract result on a plain route, with an honest status: 400 invalid input, 404 not found,
 * 500 a server-side failure (a disk error on save); other failures travel as 200 + `ok: false`.
 */
export function sendResult(res: ServerResponse, r: ApiResult<unknown>): void {
  const status = r.ok
    ? 200
    : (({ 'invalid-input': 400, 'not-found': 404, internal: 500 } as Record<string, number>)[r.error.code] ??
      200);
  sendJson(res, status, r);
}

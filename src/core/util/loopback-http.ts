// A small HTTP client for 127.0.0.1 on node:http. The CLI's short commands use it instead of
// undici, whose loading alone took longer than `pm2 jlist` as a whole (docs/benchmarks.md,
// cli-startup).
import { request } from 'node:http';

export interface LoopbackReply {
  status: number;
  text: string;
}

/** A loopback address the CLI may connect to (`::1` for an `http://[::1]:PORT` --url). */
export type LoopbackHost = '127.0.0.1' | '::1';

/** The Host header value (and URL authority) of a loopback address and port. */
export function loopbackAuthority(host: LoopbackHost, port: number): string {
  return host === '::1' ? `[::1]:${port}` : `${host}:${port}`;
}

/**
 * One request to `127.0.0.1:port` (or `opts.host`); resolves with the status and the body as text.
 * Rejects with the socket's error (`code` ECONNREFUSED when nothing listens) or with code ETIMEDOUT
 * when no full reply came within `timeoutMs`.
 */
export function loopbackRequest(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; timeoutMs?: number; host?: LoopbackHost } = {},
): Promise<LoopbackReply> {
  const host = opts.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        method,
        path,
        headers: {
          host: loopbackAuthority(host, port),
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
        // One-shot: no keep-alive socket holding the process open after the reply.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no reply within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, opts.timeoutMs ?? 30_000);
    function fail(e: Error) {
      clearTimeout(timer);
      reject(e);
    }
    req.on('error', fail);
    req.end(opts.body);
  });
}

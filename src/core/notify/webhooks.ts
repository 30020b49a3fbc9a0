// Opt-in webhooks (`notify.webhooks`): events become a JSON POST to each URL that asked for them.
// Sending never blocks the caller (supervision): `send` only queues; deliveries run in the
// background with a short timeout, retries with capped backoff and a bounded queue. URL userinfo,
// query values and header values are secrets: they never reach a log line (docs/webhooks.md).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';

import type { WebhookEventName, WebhookSettings } from '../../shared/settings-schema.js';

/** The documented JSON body (docs/webhooks.md). */
export interface WebhookBody {
  event: WebhookEventName;
  /** ISO 8601, UTC. */
  time: string;
  /** The daemon the event is about (daemon events), else null. */
  daemon: { id: string; name: string } | null;
  /** The ComfyUI instance the event is about (job events), else null. */
  instance: string | null;
  message: string;
  /** The machine that sent it: with several boxes, which one. */
  host: string;
  /** Luna Tray's version. */
  version: string;
}

/** An event as the core reports it; time, host and version are added here. */
export type WebhookEvent = Pick<WebhookBody, 'event' | 'message'> &
  Partial<Pick<WebhookBody, 'daemon' | 'instance'>> & { at?: number };

export interface WebhookOptions {
  /** `settings.notify.webhooks`, read at each event. */
  hooks: () => readonly WebhookSettings[];
  version: string;
  log: (level: 'info' | 'warning', message: string) => void;
  /** Per attempt (default 5 s). */
  timeoutMs?: number;
  /** Attempts per delivery, the first included (default 5). */
  maxAttempts?: number;
  /** First retry delay (default 1 s), doubled per attempt up to `maxDelayMs` (default 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Deliveries waiting or in flight; beyond it the oldest waiting one is dropped (default 100). */
  queueLimit?: number;
}

export interface Webhooks {
  /** Queue the event for every hook that wants it; returns at once. */
  send(event: WebhookEvent): void;
  /** Deliveries queued or in flight (tests, diagnostics). */
  pending(): number;
  /** Stop retrying; in-flight requests are aborted. */
  dispose(): void;
}

/** A URL fit for a log: userinfo and every query value replaced by `***`. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    const keys = [...url.searchParams.keys()];
    if (keys.length > 0) url.search = keys.map((k) => `${encodeURIComponent(k)}=***`).join('&');
    return url.toString();
  } catch {
    return '(invalid URL)';
  }
}

interface Delivery {
  hook: WebhookSettings;
  body: string;
  event: WebhookEventName;
  attempt: number;
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
}

/** POST `body` once; resolves to the HTTP status, rejects on a network error or the timeout. */
function post(hook: WebhookSettings, body: string, timeoutMs: number, signal: AbortSignal): Promise<number> {
  const url = new URL(hook.url);
  // Userinfo becomes Basic auth (Node would otherwise send it as given); the path keeps the query.
  const auth =
    url.username || url.password
      ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
      : undefined;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        auth,
        headers: {
          ...hook.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'luna-tray-webhook',
        },
        signal,
      },
      (res) => {
        // The reply is not read into memory or logged (it may echo secrets); only the status counts.
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(body);
  });
}

/** A network error's words without anything from the URL (its host:port is not a secret). */
function errorText(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return err.code ?? err.message ?? String(e);
}

export function createWebhooks(opts: WebhookOptions): Webhooks {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxAttempts = opts.maxAttempts ?? 5;
  const baseDelayMs = opts.baseDelayMs ?? 1_000;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const queueLimit = opts.queueLimit ?? 100;
  const queue: Delivery[] = [];
  const host = hostname();
  let disposed = false;

  const remove = (d: Delivery) => {
    const i = queue.indexOf(d);
    if (i >= 0) queue.splice(i, 1);
  };

  const attempt = (d: Delivery): void => {
    if (disposed) return;
    d.timer = null;
    d.attempt += 1;
    d.abort = new AbortController();
    void post(d.hook, d.body, timeoutMs, d.abort.signal).then(
      (status) => {
        d.abort = null;
        if (status >= 200 && status < 300) return remove(d);
        // 4xx other than 408/429 will not get better by asking again.
        const retry = status >= 500 || status === 408 || status === 429;
        fail(d, `HTTP ${status}`, retry);
      },
      (e: unknown) => {
        d.abort = null;
        if (!disposed) fail(d, errorText(e), true);
      },
    );
  };

  const fail = (d: Delivery, why: string, retry: boolean): void => {
    const where = redactUrl(d.hook.url);
    if (!retry || d.attempt >= maxAttempts) {
      remove(d);
      opts.log(
        'warning',
        `webhook ${d.event} to ${where} failed (${why}) after ${d.attempt} attempt${d.attempt === 1 ? '' : 's'}; dropped`,
      );
      return;
    }
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (d.attempt - 1));
    opts.log(
      'info',
      `webhook ${d.event} to ${where} failed (${why}); retry ${d.attempt + 1}/${maxAttempts} in ${Math.round(delay / 100) / 10} s`,
    );
    d.timer = setTimeout(() => attempt(d), delay);
    d.timer.unref?.();
  };

  return {
    send(event) {
      if (disposed) return;
      const hooks = opts.hooks().filter((h) => h.events.includes(event.event));
      if (hooks.length === 0) return;
      const body: WebhookBody = {
        event: event.event,
        time: new Date(event.at ?? Date.now()).toISOString(),
        daemon: event.daemon ?? null,
        instance: event.instance ?? null,
        message: event.message,
        host,
        version: opts.version,
      };
      const text = JSON.stringify(body);
      for (const hook of hooks) {
        // Bounded: a receiver that is down for hours must not grow memory; the oldest waiting goes.
        if (queue.length >= queueLimit) {
          const oldest = queue.find((d) => d.timer !== null) ?? queue[0]!;
          if (oldest.timer) clearTimeout(oldest.timer);
          oldest.abort?.abort();
          remove(oldest);
          opts.log('warning', `webhook queue full (${queueLimit}): dropped a ${oldest.event} event`);
        }
        const d: Delivery = { hook, body: text, event: event.event, attempt: 0, timer: null, abort: null };
        queue.push(d);
        // Off the caller's stack: a status listener returns before any socket work starts.
        d.timer = setTimeout(() => attempt(d), 0);
        d.timer.unref?.();
      }
    },
    pending: () => queue.length,
    dispose() {
      disposed = true;
      for (const d of queue) {
        if (d.timer) clearTimeout(d.timer);
        d.abort?.abort();
      }
      queue.length = 0;
    },
  };
}

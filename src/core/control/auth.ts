import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createFileAtomicSync, writeFileAtomicSync } from '../util/atomic-write.js';

/** Name of the token file in the data directory (owner-only permissions). */
export const TOKEN_FILE = 'control-token';
/**
 * The panel's session cookie (HttpOnly, SameSite=Strict). Its value is a random session id, never
 * the control token: a stolen cookie dies with the server and cannot be used to read the token.
 */
export const SESSION_COOKIE = 'luna_tray_token';

/**
 * The token in `path` when the file holds a well-formed one, else null. Read synchronously: the
 * server checks the 44-byte file every few seconds, and an async read costs four thread-pool round
 * trips, each waking the idle process (docs/benchmarks.md, idle).
 */
async function readValidToken(path: string): Promise<string | null> {
  try {
    const existing = readFileSync(path, 'utf8').trim();
    return /^[A-Za-z0-9_-]{43,}$/.test(existing) ? existing : null;
  } catch {
    return null;
  }
}

/**
 * Load the control token from `<dataDir>/control-token`, creating a fresh random one (32 bytes,
 * base64url) when missing or malformed. The file is (re)set to mode 0600. The token is kept across
 * server restarts so the CLI and an open panel keep working after a restart.
 *
 * Two instances launched at the same moment both find no token: each writes its candidate
 * completely to a temporary file and `link`s it into place, which creates the name only if it does
 * not exist yet (`createFileAtomicSync`). The loser reads the winner's token, so the token on disk
 * is always the one the server uses (a plain write let the loser overwrite it: every CLI call was
 * then refused).
 */
export async function loadOrCreateToken(dataDir: string): Promise<string> {
  const path = join(dataDir, TOKEN_FILE);
  await mkdir(dataDir, { recursive: true });
  const existing = await readValidToken(path);
  if (existing) {
    await chmod(path, 0o600);
    return existing;
  }
  const token = randomBytes(32).toString('base64url');
  if (createFileAtomicSync(path, `${token}\n`)) return token;
  const raced = await readValidToken(path);
  if (raced) return raced;
  // The existing file is malformed (not a concurrent creation): replace it.
  await rewriteToken(path, token);
  return token;
}

async function rewriteToken(path: string, token: string): Promise<void> {
  await chmod(path, 0o600).catch(() => undefined);
  writeFileAtomicSync(path, `${token}\n`);
}

/**
 * Make sure `<dataDir>/control-token` holds `token` (the running server's): a file deleted or
 * damaged while the server runs is written again, so the CLI is not locked out until a restart
 * (docs/security.md §2). Returns true when it had to rewrite; never throws (a full disk is retried
 * on the next call).
 */
export async function ensureTokenFile(dataDir: string, token: string): Promise<boolean> {
  const path = join(dataDir, TOKEN_FILE);
  if ((await readValidToken(path)) === token) return false;
  try {
    await mkdir(dataDir, { recursive: true });
    if (!createFileAtomicSync(path, `${token}\n`)) await rewriteToken(path, token);
    return true;
  } catch {
    return false;
  }
}

/** Read the token for a client (the CLI); `null` when there is none. */
export async function readToken(dataDir: string): Promise<string | null> {
  return readTokenFile(join(dataDir, TOKEN_FILE));
}

/** Read a token from a file (`--token-file`: a copy of a tunnelled box's token); `null` when there is none. */
export async function readTokenFile(path: string): Promise<string | null> {
  try {
    const t = (await readFile(path, 'utf8')).trim();
    return t || null;
  } catch {
    return null;
  }
}

/** Constant-time comparison of a presented token with the real one. */
export function tokenMatches(presented: string | null | undefined, token: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const LOOPBACK_AUTHORITY = /^(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?$/;

/**
 * A loopback authority (`127.0.0.1:29299`, `localhost`, `[::1]:19299`) split into name and port
 * (null when absent, i.e. the scheme's default); null for anything else.
 */
export function parseLoopbackAuthority(authority: string): { name: string; port: number | null } | null {
  const m = LOOPBACK_AUTHORITY.exec(authority.toLowerCase());
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { name: m[1]!, port };
}

/**
 * The Host values we answer to: a loopback name on ANY port. The port is not ours to check: an
 * `ssh -L 29299:127.0.0.1:19299` tunnel delivers requests whose Host names the tunnel's local port
 * (docs/security.md §1). A foreign name (`evil.example:19299`, DNS rebinding) is still refused.
 */
export function isAllowedHost(host: string | undefined): host is string {
  return host !== undefined && parseLoopbackAuthority(host) !== null;
}

/**
 * An Origin, when present, must be the origin the request itself addresses: `http://` and the same
 * loopback name and port as its Host. So a page on another loopback port (a ComfyUI frontend on
 * 127.0.0.1:8188, which is same-site for cookies) is refused, through a tunnel or not.
 */
export function isAllowedOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (host === undefined || !origin.startsWith('http://')) return false;
  const o = parseLoopbackAuthority(origin.slice('http://'.length));
  const h = parseLoopbackAuthority(host);
  return o !== null && h !== null && o.name === h.name && (o.port ?? 80) === (h.port ?? 80);
}

/**
 * The session cookie's name for a request addressed to `host`. Cookies ignore ports: every port of
 * 127.0.0.1 shares them, so a panel reached through an SSH tunnel (Host names the tunnel's port)
 * gets a cookie named after that port, and opening it does not replace the cookie of a local Luna
 * Tray's panel open in the same browser.
 */
export function sessionCookieName(host: string | undefined, ownPort: number): string {
  const port = host === undefined ? null : (parseLoopbackAuthority(host)?.port ?? 80);
  return port === null || port === ownPort ? SESSION_COOKIE : `${SESSION_COOKIE}_${port}`;
}

/** What a request presents: the bearer token (CLI) and/or the panel's session cookie (`cookieName`). */
export function presentedCredentials(
  headers: { authorization?: string; cookie?: string },
  cookieName: string = SESSION_COOKIE,
): {
  bearer: string | null;
  session: string | null;
} {
  const auth = headers.authorization;
  const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : null;
  let session: string | null = null;
  const cookie = headers.cookie;
  if (cookie) {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      // A malformed escape (`%E0%A4%A`) is no credential: 401, never a thrown URIError (it used
      // to crash `serve` from the WebSocket upgrade handler, before any token check).
      if (k === cookieName) session = safeDecode(v.join('='));
    }
  }
  return { bearer, session };
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * The path and query of a request target, or null when it is not an origin-form target (`/path?q`).
 * Absolute-form (`http://x/`), authority-form and `//host:port/…` targets are refused with 400:
 * `new URL('//evil:99999/x', base)` throws, and it used to do so in the upgrade handler, ending
 * the process before any check (docs/security.md §1).
 */
export function parseRequestTarget(target: string | undefined): URL | null {
  if (!target || !target.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(target, 'http://127.0.0.1');
  } catch {
    return null;
  }
}

/**
 * The identity proof (docs/security.md §2, "an impostor on the control port"). Before a client
 * sends the token anywhere, it sends a fresh random nonce to `GET /app/identity?nonce=…`; only a
 * server that knows the token can answer HMAC-SHA256(token, context ‖ port ‖ nonce). The port is
 * bound into the proof so an impostor cannot relay the question to a real Luna Tray elsewhere.
 */
export function identityProof(token: string, nonce: string, port: number): string {
  return createHmac('sha256', token)
    .update(`luna-tray identity v1\n127.0.0.1:${port}\n${nonce}`)
    .digest('base64url');
}

/** A fresh nonce for {@link identityProof} (32 random bytes, base64url). */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** The nonces a server accepts: base64url, 16 to 96 bytes' worth. */
export const NONCE_RE = /^[A-Za-z0-9_-]{22,128}$/;

/** Panel sessions: random ids handed out for one-time codes, valid while this server runs. */
export class Sessions {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 64) {}

  /** A new session id; the oldest is forgotten beyond `max` (each `luna-tray open` makes one). */
  create(): string {
    const id = randomBytes(32).toString('base64url');
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
    return id;
  }

  /** Constant-time membership (compared against every live id). */
  has(presented: string | null): boolean {
    if (!presented) return false;
    let found = false;
    for (const id of this.ids) if (tokenMatches(presented, id)) found = true;
    return found;
  }
}

/** Single-use codes for the panel URL, exchanged for the session cookie. */
export class OneTimeCodes {
  private readonly codes = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new code valid for `ttlMs`. */
  create(ttlMs: number): string {
    this.prune();
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, this.now() + ttlMs);
    return code;
  }

  /** True exactly once for a valid, unexpired code. */
  consume(code: string): boolean {
    const expires = this.codes.get(code);
    this.codes.delete(code);
    return expires !== undefined && expires >= this.now();
  }

  private prune(): void {
    const now = this.now();
    for (const [c, exp] of this.codes) if (exp < now) this.codes.delete(c);
  }
}

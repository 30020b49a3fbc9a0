import { loopbackRequest, type LoopbackHost } from '../util/loopback-http.js';

import { describePortHolder } from '../supervisor/port-owner.js';
import { identityProof, newNonce, readToken, tokenMatches } from './auth.js';

/** Who holds the lock port. */
export type LockHolder = 'luna-tray' | 'foreign';

/** Thrown by `startControlServer` when the lock/control port is already taken. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly port: number,
    readonly holder: LockHolder,
    /** For a foreign holder: who it is ("PID 123 (user bob)"). */
    readonly who?: string,
  ) {
    super(
      holder === 'luna-tray'
        ? `Luna Tray is already running (127.0.0.1:${port}).`
        : `Port 127.0.0.1:${port} is held by ${who ?? 'another program'}, which is not Luna Tray (the original Python Luna tray also uses this port). Quit that program, or start Luna Tray with --port.`,
    );
  }
}

/** What {@link proveHolder} found on the port. */
export type HolderCheck =
  { kind: 'luna-tray' } | { kind: 'nobody' } | { kind: 'impostor'; who: string; message: string };

/** Where {@link proveHolder} asks: the address, and whether the user named it as a tunnel (`--url`). */
export interface HolderTarget {
  host?: LoopbackHost;
  /**
   * A port forwarded to a Luna Tray listening on another port (an SSH tunnel). Its proof is bound
   * to the far side's port, which the answer states; the user vouched for the address by naming
   * it (docs/security.md §2, "SSH tunnels").
   */
  tunnel?: boolean;
}

/**
 * Does the holder of `port` prove that it is OUR Luna Tray, i.e. that it knows the control token?
 * Sends a fresh nonce to `GET /app/identity` and checks the HMAC in the answer (see
 * `identityProof`); nothing secret is sent. `getToken` is called only after the holder answered
 * (a running server rewrites a deleted token file when asked; docs/security.md §2). Works the
 * same on every OS: no peer credentials are needed.
 */
export async function proveHolder(
  port: number,
  getToken: () => Promise<string | null>,
  timeoutMs = 1_500,
  target: HolderTarget = {},
): Promise<HolderCheck> {
  const nonce = newNonce();
  let reply: { proof?: unknown; port?: unknown } = {};
  try {
    const res = await loopbackRequest(port, 'GET', `/app/identity?nonce=${nonce}`, {
      timeoutMs,
      ...(target.host ? { host: target.host } : {}),
    });
    try {
      const parsed = res.status === 200 ? (JSON.parse(res.text) as unknown) : null;
      if (parsed !== null && typeof parsed === 'object') reply = parsed;
    } catch {
      reply = {};
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') return { kind: 'nobody' };
  }
  const proof = typeof reply.proof === 'string' ? reply.proof : null;
  // Locally the proof must be for the port we connected to (a relay to another port fails);
  // through a tunnel it is for the port the far side listens on.
  const boundPort =
    target.tunnel && Number.isInteger(reply.port) && (reply.port as number) > 0
      ? (reply.port as number)
      : port;
  const token = proof !== null ? await getToken() : null;
  if (token && tokenMatches(proof, identityProof(token, nonce, boundPort))) return { kind: 'luna-tray' };
  const who = await describePortHolder(port);
  return {
    kind: 'impostor',
    who,
    message:
      `port ${port} is held by ${who}, which is not Luna Tray: it could not prove that it knows our ` +
      'control token, so the token was not sent. (If it is a Luna Tray started with another --data-dir, use that one.)',
  };
}

/** Who holds the port, for `startControlServer` (which knows the token). */
export async function identifyHolder(
  port: number,
  token: string,
): Promise<{ holder: LockHolder; who?: string }> {
  const check = await proveHolder(port, async () => token);
  if (check.kind === 'luna-tray') return { holder: 'luna-tray' };
  return {
    holder: 'foreign',
    who: check.kind === 'impostor' ? check.who : 'a program that has since exited',
  };
}

/**
 * Ask the running Luna Tray to show its window (the second-instance hand-over). The holder must
 * prove itself first; an impostor gets nothing and the result is false.
 */
export async function requestShow(port: number, dataDir: string): Promise<boolean> {
  const read: { token: string | null } = { token: null };
  const check = await proveHolder(port, async () => (read.token = await readToken(dataDir)));
  if (check.kind !== 'luna-tray' || read.token === null) return false;
  try {
    const res = await loopbackRequest(port, 'POST', '/app/show', {
      headers: { authorization: `Bearer ${read.token}`, 'content-type': 'application/json' },
      body: '{}',
      timeoutMs: 2_000,
    });
    return res.status === 200;
  } catch {
    return false;
  }
}

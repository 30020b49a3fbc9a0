import { request } from 'undici';

import { readToken } from './auth.js';

/** Who holds the lock port. */
export type LockHolder = 'luna-tray' | 'foreign';

/** Thrown by `startControlServer` when the lock/control port is already taken. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly port: number,
    readonly holder: LockHolder,
  ) {
    super(
      holder === 'luna-tray'
        ? `Luna Tray is already running (127.0.0.1:${port}).`
        : `Port 127.0.0.1:${port} is held by another program (the original Python Luna tray also uses it). Quit that program, or start Luna Tray with --port.`,
    );
  }
}

/** Ask whoever holds the port whether it is Luna Tray (`GET /app/identity`, no token needed). */
export async function identifyHolder(port: number, timeoutMs = 1_500): Promise<LockHolder> {
  try {
    const res = await request(`http://127.0.0.1:${port}/app/identity`, {
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { host: `127.0.0.1:${port}` },
    });
    const body = (await res.body.json()) as { app?: unknown };
    return res.statusCode === 200 && body?.app === 'luna-tray' ? 'luna-tray' : 'foreign';
  } catch {
    return 'foreign';
  }
}

/** Ask the running Luna Tray to show its window (the second-instance hand-over). */
export async function requestShow(port: number, dataDir: string): Promise<boolean> {
  const token = await readToken(dataDir);
  try {
    const res = await request(`http://127.0.0.1:${port}/app/show`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token ?? ''}`, 'content-type': 'application/json' },
      body: '{}',
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

import type { Generation } from '../../shared/daemon-status.js';
import type { LogLevel } from '../../shared/log-entry.js';
import type { LunaClient } from '../daemon/luna-client.js';
import { errorMessage } from '../util/error-message.js';

/** The outcome of a user action, as the API and CLI report it. */
export type ActionOutcome =
  { ok: true; message: string } | { ok: false; code: 'not-running' | 'operation-failed'; message: string };

/**
 * The one-shot requests a user sends to a daemon that is up (Unload, Check), in words. They change
 * no status: the health watch alone judges liveness; a success only asks for fresh info.
 */

/** Ask the daemon to unload its models; reports the daemon's real reply (docs/daemon-protocol.md §15 problem 9). */
export async function requestUnload(
  client: Pick<LunaClient, 'unload'>,
  o: { log: (level: LogLevel, text: string) => void; refreshInfo: () => void },
): Promise<ActionOutcome> {
  try {
    const r = await client.unload();
    o.log('info', `Unload requested: ${r.message}`);
    o.refreshInfo();
    return { ok: true, message: r.message };
  } catch (e) {
    return { ok: false, code: 'operation-failed', message: `Unload failed: ${errorMessage(e)}` };
  }
}

/** A ping now, whatever the status says, reported with its latency and protocol. */
export async function checkDaemon(
  client: Pick<LunaClient, 'ping'>,
  o: { host: string; port: number; generation: Generation; timeoutMs: number; refreshInfo: () => void },
): Promise<ActionOutcome> {
  const where = `${o.host}:${o.port}`;
  try {
    const pong = await client.ping({ timeoutMs: o.timeoutMs });
    o.refreshInfo();
    const ms = pong.latencyMs.toFixed(0);
    return {
      ok: true,
      message: `The Luna daemon on ${where} answered in ${ms} ms (${o.generation} protocol).`,
    };
  } catch (e) {
    return { ok: false, code: 'operation-failed', message: `No answer from ${where}: ${errorMessage(e)}` };
  }
}

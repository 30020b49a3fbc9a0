import type { DaemonInfo } from '../../shared/daemon-info.js';
import type { Generation } from '../../shared/daemon-status.js';
import type { DaemonConfig } from '../../shared/settings-schema.js';
import { LunaChannel } from '../daemon/luna-channel.js';
import type { LunaClient } from '../daemon/luna-client.js';
import { createMonitorSocket } from '../daemon/monitor-socket.js';
import { proveFeedOwnership } from './feed-ownership.js';
import { createProcessSampler, type ProcessSample } from './processes.js';

/** Process CPU/RSS sampling interval. */
export const STATS_INTERVAL_MS = 5_000;
/** The WebSocket monitor sends a `status` message every second (docs/daemon-protocol.md §10). */
const FEED_PERIOD_MS = 1_000;
/**
 * The shortest health interval for which the status feed stands in for pings: one and a half feed
 * periods, so that the feed's normal jitter never looks like silence.
 */
const FEED_LIVENESS_MIN_INTERVAL_MS = 1.5 * FEED_PERIOD_MS;
/**
 * While the status feed proves liveness, a protocol ping still goes out this often (at least every
 * health interval): the feed has its own daemon thread, and a deadlocked request handler must still
 * be noticed.
 */
export const PROTOCOL_CHECK_MS = 30_000;

const monotonic = (): number => performance.now();

/** What the watch needs to know about one running daemon, fixed for the watch's life. */
export interface HealthWatchOptions {
  generation: Generation;
  host: string;
  port: number;
  /** 0: no status feed. */
  wsPort: number;
  health: DaemonConfig['health'];
  /** The daemon's PID, for CPU/RSS samples; null when unknown (an adopted daemon without one). */
  pid: number | null;
  /** See {@link PROTOCOL_CHECK_MS}; tests shorten it. */
  protocolCheckMs?: number;
  /** A client over a fresh connection (each call opens its own). */
  client: (generation: Generation) => LunaClient;
  /** Reports, in order of arrival. */
  onPingOk: () => void;
  onPingFailed: (failedPings: number, error: unknown) => void;
  /** A feed message from a feed proven to be this daemon's. */
  onInfo: (info: DaemonInfo) => void;
  /** Poll `get_info` (the feed is down). */
  refreshInfo: () => void;
  onStats: (sample: ProcessSample | null) => void;
  warn: (message: string) => void;
}

/** A running watch; `stop()` ends every timer, connection and late callback. */
export interface HealthWatch {
  stop(): void;
}

/**
 * Health, info and process stats while the daemon runs, with as few wake-ups as the guarantees
 * allow (bench: idle):
 *
 * - **Liveness.** A protocol ping every `health.intervalSec`; the caller counts failures towards
 *   `unresponsive`. While the WebSocket status feed delivers (docs/daemon-protocol.md §10: one
 *   message per second), each message proves the daemon process is alive, so the ping is skipped:
 *   the check runs when the feed has been silent for one whole interval, and pings from then on. A
 *   SIGSTOPped or wedged process stops the feed too, so the first ping leaves at most one interval
 *   after the hang, exactly as with plain interval pings. This needs an interval of at least
 *   {@link FEED_LIVENESS_MIN_INTERVAL_MS} (room for the feed's jitter); shorter intervals always ping.
 * - **Pings** of the current generation reuse one connection (docs/daemon-protocol.md §5.1: one write
 *   and one read each); every {@link PROTOCOL_CHECK_MS} a ping takes a fresh connection instead, so
 *   a daemon that stopped accepting connections is noticed too. A check that finds the previous ping
 *   still pending sends the next one as soon as it settles (never two at once, never one skipped).
 * - **Protocol check.** The feed runs on its own daemon thread, so a handler deadlock with a live
 *   feed is caught by a protocol ping that still runs every {@link PROTOCOL_CHECK_MS} while the feed
 *   proves liveness; its failure switches to interval pings until a ping answers again.
 * - **Info** (models, VRAM, uptime) comes from the feed; `get_info` is polled every
 *   `health.infoIntervalSec` only while the feed is down (docs/daemon-protocol.md §15 problem 11).
 * - **Process stats** are sampled every {@link STATS_INTERVAL_MS} on a feed message or an interval
 *   ping, and on a timer of their own only while the feed is down.
 */
export function startHealthWatch(o: HealthWatchOptions): HealthWatch {
  const stoppers: (() => void)[] = [];
  const intervalMs = o.health.intervalSec * 1000;
  /** Set when the watch stops: a late ping result must not start another ping. */
  let stopped = false;

  // Process CPU/RSS, every STATS_INTERVAL_MS, piggybacked on wake-ups that happen anyway.
  const sample = o.pid ? createProcessSampler(o.pid) : null;
  let lastSampleAt = monotonic();
  const sampleStatsIfDue = (): void => {
    // The tolerance lets a 5-s timer sample on every tick despite sub-millisecond timer jitter.
    if (!sample || monotonic() - lastSampleAt < STATS_INTERVAL_MS - 50) return;
    lastSampleAt = monotonic();
    void sample().then((s) => {
      if (!stopped) o.onStats(s);
    });
  };

  // Liveness.
  const feedLiveness = o.wsPort > 0 && intervalMs >= FEED_LIVENESS_MIN_INTERVAL_MS;
  const protocolCheckMs = Math.max(o.protocolCheckMs ?? PROTOCOL_CHECK_MS, intervalMs);
  let failedPings = 0;
  let pinging = false;
  /** Monotonic time of the last feed message (liveness evidence). */
  let lastFeedAt = Number.NEGATIVE_INFINITY;
  /** Monotonic time of the last protocol ping sent (the readiness or adoption probe just answered). */
  let lastPingAt = monotonic();
  let healthTimer: NodeJS.Timeout | null = null;
  // The legacy daemon closes after each reply (§5.2): no reusable connection there.
  const channel = o.generation === 'current' ? new LunaChannel({ host: o.host, port: o.port }) : null;
  let lastFreshPingAt = monotonic();

  /** A check found the previous ping still pending: send the next one as soon as it settles. */
  let pingDue = false;
  const ping = (): void => {
    // With a ping timeout as long as the interval (the defaults: 2 s and 2 s), a hung daemon's
    // ping is still pending at the next check. Skipping that check (the earlier code) left one
    // ping per two intervals and stretched "unresponsive" from interval × failures + timeout
    // (8 s) to 10.4–11.9 s (measured); deferring it keeps the pings back to back (7.2–7.8 s).
    if (pinging) {
      pingDue = true;
      return;
    }
    pinging = true;
    pingDue = false;
    const now = monotonic();
    lastPingAt = now;
    const fresh = !channel || now - lastFreshPingAt >= protocolCheckMs;
    if (fresh) lastFreshPingAt = now;
    const timeoutMs = o.health.pingTimeoutMs;
    void (fresh ? o.client(o.generation).ping({ timeoutMs }) : channel.ping({ timeoutMs }))
      .then(
        () => {
          if (stopped) return;
          failedPings = 0;
          o.onPingOk();
        },
        (e: unknown) => {
          if (!stopped) o.onPingFailed(++failedPings, e);
        },
      )
      .finally(() => {
        pinging = false;
        if (pingDue && !stopped) ping();
      });
  };
  const armHealth = (delayMs: number): void => {
    // +1 ms: the timer may fire a fraction of a millisecond early on the monotonic clock.
    healthTimer = setTimeout(healthCheck, Math.max(1, Math.ceil(delayMs) + 1));
  };
  const healthCheck = (): void => {
    const now = monotonic();
    // A ping failure (failedPings > 0) keeps interval pings going until a ping answers again: a
    // live feed must not hide a daemon whose protocol handler no longer replies.
    if (feedLiveness && failedPings === 0 && now - lastFeedAt < intervalMs) {
      if (now - lastPingAt >= protocolCheckMs) ping();
      // Next look: the moment the feed will have been silent for a whole interval.
      armHealth(lastFeedAt + intervalMs - now);
      return;
    }
    ping();
    sampleStatsIfDue();
    armHealth(intervalMs);
  };
  armHealth(intervalMs);
  stoppers.push(() => {
    if (healthTimer) clearTimeout(healthTimer);
    channel?.close();
  });

  // While the feed is down: `get_info` polls and a stats timer (both stop while it delivers).
  const fallbackTimers: NodeJS.Timeout[] = [];
  const setFeedUp = (up: boolean): void => {
    if (up) {
      for (const t of fallbackTimers.splice(0)) clearInterval(t);
    } else if (fallbackTimers.length === 0 && !stopped) {
      fallbackTimers.push(setInterval(o.refreshInfo, o.health.infoIntervalSec * 1000));
      if (sample) fallbackTimers.push(setInterval(sampleStatsIfDue, STATS_INTERVAL_MS));
    }
  };
  stoppers.push(() => {
    for (const t of fallbackTimers.splice(0)) clearInterval(t);
  });
  setFeedUp(false);

  if (o.wsPort > 0) {
    // Only a feed proven to come from this daemon is listened to (feed-ownership.ts): another
    // daemon's monitor would show its models and uptime and hide a hang of ours. Until then, and
    // if the proof fails, `get_info` polling and pings carry on alone.
    void proveFeedOwnership(o.host, o.port, o.wsPort).then((proof) => {
      if (stopped) return;
      if (!proof.trusted) {
        o.warn(
          `Not using the status feed on ${o.host}:${o.wsPort}: ${proof.reason}. Polling get_info instead.`,
        );
        return;
      }
      const monitor = createMonitorSocket({
        host: o.host,
        port: o.wsPort,
        onStatus: (info) => {
          lastFeedAt = monotonic();
          o.onInfo(info);
          sampleStatsIfDue();
        },
        onConnectionChange: setFeedUp,
      });
      stoppers.push(() => monitor.dispose());
    });
  }
  o.refreshInfo();

  return {
    stop() {
      stopped = true;
      for (const s of stoppers.splice(0)) s();
    },
  };
}

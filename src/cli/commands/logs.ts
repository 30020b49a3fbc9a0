import { levelRank, logLevelSchema, type LogEntry, type LogLevel } from '../../shared/log-entry.js';
import type { LogPage } from '../../shared/contract/invoke.js';
import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT, UsageError } from '../context.js';
import { listDaemons, selectDaemon } from '../daemon-select.js';
import { formatEntry, type Io } from '../output.js';
import { createRetryTimer } from '../../shared/retry-timer.js';

/**
 * `luna-tray logs [-n N] [-f] [--level L] [--daemon ID] [--json]`. `--daemon` keeps the entries
 * tagged with that daemon's id; with several daemons configured, each line names its daemon.
 */
export async function logsCommand({ ctx, io, values }: Invocation): Promise<number> {
  const lines = (values.lines as string | undefined) ?? '100';
  const level = values.level as string | undefined;
  const n = Number(lines);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`-n must be a whole number ≥ 0, got "${lines}"`);
  let minLevel: LogLevel = 'debug';
  if (level !== undefined) {
    const parsed = logLevelSchema.safeParse(level.toLowerCase() === 'warn' ? 'warning' : level.toLowerCase());
    if (!parsed.success)
      throw new UsageError(`--level must be one of ${logLevelSchema.options.join(', ')}, got "${level}"`);
    minLevel = parsed.data;
  }
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const daemon = values.daemon as string | undefined;
  if (daemon !== undefined) await selectDaemon(api, daemon);
  // The tag is worth a column only when there is more than one daemon to tell apart.
  const tagged = daemon === undefined && ((await listDaemons(api))?.length ?? 1) > 1;
  const matches = (e: LogEntry) =>
    levelRank(e.level) >= levelRank(minLevel) && (daemon === undefined || e.daemon === daemon);
  const print = (e: LogEntry) => {
    if (!matches(e)) return;
    io.stdout.write(ctx.json ? `${JSON.stringify(e)}\n` : `${formatEntry(io, e, tagged)}\n`);
  };
  const page = async (since: number, limit?: number): Promise<LogPage> => {
    const r = await api.invoke('logs:get-since', { seq: since, ...(limit ? { limit } : {}) });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };

  // The last N entries (of the chosen level and daemon): without a filter, ask for exactly the page
  // before the newest seq; with one, read the ring and keep the last N that match.
  const head = await page(0, 1);
  let lastSeq = head.lastSeq;
  if (n > 0) {
    const all = minLevel === 'debug' && daemon === undefined;
    const from = all ? Math.max(head.lastSeq - n, head.firstSeq - 1, 0) : Math.max(head.firstSeq - 1, 0);
    const backlog = await page(from, all ? n : 200_000);
    const matching = backlog.entries.filter(matches);
    for (const e of matching.slice(-n)) print(e);
    lastSeq = Math.max(lastSeq, backlog.lastSeq);
  }
  if (!values.follow) return EXIT.ok;

  return follow(api, io, lastSeq, page, print);
}

/** Reconnect delays of `logs -f`: quick at first, never more often than every 5 s in a long outage. */
export const FOLLOW_BACKOFF = { initialMs: 250, maxMs: 5_000 };

/**
 * `logs -f`: push events, re-synced by sequence number after every (re)connect, so nothing is
 * missed or printed twice. A lost connection schedules ONE retry (see createRetryTimer): the socket
 * reports a loss as `error` and then `close`, and retrying from both multiplied the reconnects.
 */
function follow(
  api: ApiClient,
  io: Io,
  startSeq: number,
  page: (since: number) => Promise<LogPage>,
  print: (e: LogEntry) => void,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let lastSeq = startSeq;
    let close: (() => void) | null = null;
    let stopped = false;
    let waiting = false;
    /** Pushes that arrive while the gap is being fetched wait here, so the order holds. */
    let held: LogEntry[] | null = null;
    const retry = createRetryTimer(FOLLOW_BACKOFF);
    const emit = (entries: readonly LogEntry[]) => {
      for (const e of entries) {
        if (e.seq <= lastSeq) continue;
        lastSeq = e.seq;
        print(e);
      }
    };
    const resync = async () => {
      held = [];
      try {
        for (;;) {
          const p = await page(lastSeq);
          if (p.lastSeq < lastSeq) {
            // A new Luna Tray (its log starts again at 1): follow the new log from its start.
            io.stderr.write('Luna Tray restarted: following its new log.\n');
            lastSeq = Math.max(0, p.firstSeq - 1);
            continue;
          }
          if (p.firstSeq > lastSeq + 1 && lastSeq > 0) {
            io.stderr.write(`(${p.firstSeq - lastSeq - 1} entries left the log buffer while disconnected)\n`);
          }
          emit(p.entries);
          if (p.entries.length === 0 || lastSeq >= p.lastSeq) break;
        }
      } catch {
        // The connection went again: its close handler schedules the next try.
      }
      const pending = held;
      held = null;
      emit(pending);
    };
    const lost = () => {
      close = null;
      if (stopped) return;
      if (!waiting) io.stderr.write('waiting for Luna Tray…\n');
      waiting = true;
      retry.schedule(connect);
    };
    const connect = () => {
      if (stopped) return;
      let ended = false;
      close = api.events(
        (m) => {
          if (m.type !== 'logs:appended') return;
          if (held) held.push(...m.data.entries);
          else emit(m.data.entries);
        },
        () => {
          if (ended) return; // `error` and `close` for the same loss: one retry
          ended = true;
          lost();
        },
        () => {
          retry.reset();
          if (waiting) io.stderr.write('reconnected to Luna Tray.\n');
          waiting = false;
          void resync();
        },
      );
    };
    connect();
    io.signal.addEventListener('abort', () => {
      stopped = true;
      retry.cancel();
      close?.();
      resolve(EXIT.ok);
    });
  });
}

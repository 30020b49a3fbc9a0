import { levelRank, logLevelSchema, type LogEntry, type LogLevel } from '../../shared/log-entry.js';
import type { LogPage } from '../../shared/contract/invoke.js';
import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT, UsageError } from '../context.js';
import { formatEntry } from '../output.js';

/** `luna-tray logs [-n N] [-f] [--level L] [--json]`. */
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
  const api = await ApiClient.create(ctx.port, ctx.dataDir);
  const print = (e: LogEntry) => {
    if (levelRank(e.level) < levelRank(minLevel)) return;
    io.stdout.write(ctx.json ? `${JSON.stringify(e)}\n` : `${formatEntry(io, e)}\n`);
  };
  const page = async (since: number, limit?: number): Promise<LogPage> => {
    const r = await api.invoke('logs:get-since', { seq: since, ...(limit ? { limit } : {}) });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };

  // The last N entries (of the chosen level and above): without a level filter, ask for exactly the
  // page before the newest seq; with one, read the ring and keep the last N that match.
  const head = await page(0, 1);
  let lastSeq = head.lastSeq;
  if (n > 0) {
    const from =
      minLevel === 'debug'
        ? Math.max(head.lastSeq - n, head.firstSeq - 1, 0)
        : Math.max(head.firstSeq - 1, 0);
    const backlog = await page(from, minLevel === 'debug' ? n : 200_000);
    const matching = backlog.entries.filter((e) => levelRank(e.level) >= levelRank(minLevel));
    for (const e of matching.slice(-n)) print(e);
    lastSeq = Math.max(lastSeq, backlog.lastSeq);
  }
  if (!values.follow) return EXIT.ok;

  // Follow: push events, re-syncing from the last seq after every (re)connect so nothing is
  // missed or printed twice.
  return new Promise<number>((resolve) => {
    let close: (() => void) | null = null;
    let stopped = false;
    const connect = () => {
      close = api.events(
        (m) => {
          if (m.type !== 'logs:appended') return;
          for (const e of m.data.entries) {
            if (e.seq <= lastSeq) continue;
            lastSeq = e.seq;
            print(e);
          }
        },
        () => {
          if (stopped) return;
          setTimeout(connect, 1_000);
        },
        () => {
          void page(lastSeq).then(
            (p) => {
              for (const e of p.entries) {
                if (e.seq <= lastSeq) continue;
                lastSeq = e.seq;
                print(e);
              }
            },
            () => undefined,
          );
        },
      );
    };
    connect();
    io.signal.addEventListener('abort', () => {
      stopped = true;
      close?.();
      resolve(EXIT.ok);
    });
  });
}

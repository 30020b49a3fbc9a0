import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  createParseScratch,
  DIRECT_LINE_RE,
  LEGACY_LINE_RE,
  TRAY_LINE_RE,
  parseLogFileLine,
  parseLogLine,
  parseSpanInto,
  rawLineLevel,
} from '../../../src/core/logs/log-line-parser.js';

describe('parseLogLine: record starts (docs/daemon-protocol.md §12)', () => {
  it.each([
    [
      'direct, Luna Daemon Ready!',
      '2025-12-12 14:03:11,123 - LunaDaemon - INFO - Luna Daemon Ready!',
      { format: 'direct', level: 'info', logger: 'LunaDaemon', text: 'Luna Daemon Ready!' },
    ],
    [
      'direct, [Config] WARNING',
      '2025-12-12 14:03:10,001 - LunaDaemon - WARNING - [Config] Package import failed: attempted relative import with no known parent package',
      {
        format: 'direct',
        level: 'warning',
        logger: 'LunaDaemon',
        text: '[Config] Package import failed: attempted relative import with no known parent package',
      },
    ],
    [
      'direct, dotted logger name',
      '2025-12-12 14:03:10,500 - luna_daemon.weight_registry - INFO - [WeightRegistry] Initialized on cuda:1',
      {
        format: 'direct',
        level: 'info',
        logger: 'luna_daemon.weight_registry',
        text: '[WeightRegistry] Initialized on cuda:1',
      },
    ],
    [
      'direct, ERROR with traceback text start',
      '2025-12-12 14:03:10,002 - LunaDaemon - ERROR - [Config] Fallback import failed: boom',
      {
        format: 'direct',
        level: 'error',
        logger: 'LunaDaemon',
        text: '[Config] Fallback import failed: boom',
      },
    ],
    [
      'direct, CRITICAL and DEBUG',
      '2025-12-12 14:03:10,002 - x - CRITICAL - disk on fire',
      { format: 'direct', level: 'critical', logger: 'x', text: 'disk on fire' },
    ],
    [
      'tray format',
      '2025-12-12 14:03:11,123 - INFO - Luna Daemon Ready!',
      { format: 'tray', level: 'info', text: 'Luna Daemon Ready!' },
    ],
    [
      'tray format, WARNING',
      '2025-12-12 14:03:11,123 - WARNING - [Config] [WARN] Using hardcoded defaults',
      { format: 'tray', level: 'warning', text: '[Config] [WARN] Using hardcoded defaults' },
    ],
    [
      'tray format, empty message',
      '2025-12-12 14:03:11,123 - DEBUG - ',
      { format: 'tray', level: 'debug', text: '' },
    ],
    [
      'legacy',
      '[14:03:11] [Daemon] INFO: Ready to accept connections!',
      { format: 'legacy', level: 'info', text: 'Ready to accept connections!' },
    ],
    [
      'legacy ERROR',
      '[14:03:12] [Daemon] ERROR: Request failed: bad pickle',
      { format: 'legacy', level: 'error', text: 'Request failed: bad pickle' },
    ],
    [
      '[Luna.Daemon] print (§3.5)',
      '[Luna.Daemon] Using attention mode: flash',
      { format: 'luna-print', level: 'info', logger: 'Luna.Daemon', text: 'Using attention mode: flash' },
    ],
    [
      '[Luna.DaemonAPI] error print',
      '[Luna.DaemonAPI] Error starting daemon: boom',
      { format: 'luna-print', level: 'error', logger: 'Luna.DaemonAPI', text: 'Error starting daemon: boom' },
    ],
  ])('%s', (_name, line, expected) => {
    expect(parseLogLine(line)).toEqual(expected);
  });

  it.each([
    ['traceback start', 'Traceback (most recent call last):'],
    ['frame', '  File "/x/daemon_server.py", line 12, in <module>'],
    ['code line', '    import comfy.utils'],
    ['exception line', "ModuleNotFoundError: No module named 'comfy'"],
    ['banner print', '===================================================='],
    ['bracket print without level', '[Config] CLIP_DEVICE=cuda:1'],
    ['legacy with another tag', '[14:03:11] [Other] INFO: x'],
    ['legacy with an unknown level', '[14:03:11] [Daemon] NOTICE: x'],
    ['timestamp but no level', '2025-12-12 14:03:11,123 - LunaDaemon - hello'],
    ['unknown level word', '2025-12-12 14:03:11,123 - LunaDaemon - TRACE - x'],
    ['level without separator', '2025-12-12 14:03:11,123 - INFO: x'],
    ['empty', ''],
    ['number only', '42'],
  ])('%s is not a record start', (_name, line) => {
    expect(parseLogLine(line)).toBeNull();
  });

  it('agrees with the reference regexes on generated lines (property)', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_.:,\-[\]]{0,8}$/);
    const level = fc.constantFrom('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'WARN', 'info', 'X');
    const sep = fc.constantFrom(' - ', ' - ', ' - ', ' -  ', ' ', ': ', ' [Daemon] ');
    const ts = fc.constantFrom(
      '2025-12-12 14:03:11,123',
      '2025-12-12 14:03:11.123',
      '[14:03:11]',
      '[14:03:11]',
      '14:03:11',
      '2025-12-12',
      '2025-1a-12 14:03:11,123',
    );
    // Mostly well-formed lines with small mutations: ts, [sep name], sep, level, sep, message.
    const line = fc
      .tuple(
        ts,
        fc.option(fc.tuple(sep, word)),
        sep,
        level,
        sep,
        fc.array(fc.oneof(word, level, sep), { maxLength: 4 }),
      )
      .map(([t, name, s1, lv, s2, rest]) => t + (name ? name.join('') : '') + s1 + lv + s2 + rest.join(''));
    let matched = 0;
    fc.assert(
      fc.property(line, (l) => {
        const parsed = parseLogLine(l);
        if (parsed) matched++;
        const tray = TRAY_LINE_RE.exec(l);
        const direct = DIRECT_LINE_RE.exec(l);
        const legacy = LEGACY_LINE_RE.exec(l);
        if (tray) {
          expect(parsed).toMatchObject({ format: 'tray', level: tray[2]!.toLowerCase(), text: tray[3] });
        } else if (direct && !/^\d/.test(l)) {
          // Documented deviation: `%(asctime)s` always starts with a digit, so the direct format is
          // only tried on lines that do (a `[`-line is legacy or a print).
          expect(parsed === null || parsed.format === 'luna-print').toBe(true);
        } else if (direct) {
          expect(parsed).toMatchObject({
            format: 'direct',
            logger: direct[2],
            level: direct[3]!.toLowerCase(),
            text: direct[4],
          });
        } else if (legacy) {
          expect(parsed).toMatchObject({
            format: 'legacy',
            level: legacy[2]!.toLowerCase(),
            text: legacy[3],
          });
        } else if (parsed) {
          expect(parsed.format).toBe('luna-print');
        }
      }),
      { numRuns: 3000 },
    );
    // The generator must actually exercise matching lines, not only rejections.
    expect(matched).toBeGreaterThan(30);
  });
});

describe('rawLineLevel', () => {
  it.each([
    ['Traceback (most recent call last):', 'error'],
    ["ModuleNotFoundError: No module named 'comfy'", 'error'],
    ['OSError: [Errno 98] Address already in use', 'error'],
    ['torch.cuda.OutOfMemoryError: CUDA out of memory.', 'error'],
    ['KeyboardInterrupt', 'error'],
    ['UserWarning: TypedStorage is deprecated', 'warning'],
    ['Warning: pystray not installed. Run: pip install pystray pillow', 'warning'],
    ['Error importing daemon: boom', 'error'],
    ['Error: DynamicDaemon not available', 'error'],
    ['Luna Daemon starting in headless mode...', 'info'],
    ['Errors found: 0', 'info'],
    ['Daemon error: CUDA not available', 'error'],
    ['Processed 3 requests, last error: none so far in a long line of text', 'info'],
    ['====', 'info'],
    ['  File "x.py", line 1', 'info'],
  ])('%s → %s', (line, level) => {
    expect(rawLineLevel(line)).toBe(level);
  });
});

describe('parseLogFileLine', () => {
  it("reads back the supervisor's own lines; the daemon's verbatim lines are not ours", () => {
    expect(parseLogFileLine('2026-11-21T05:41:00.123Z [luna-tray] WARNING spawned pid 12')).toEqual({
      ts: Date.parse('2026-11-21T05:41:00.123Z'),
      source: 'supervisor',
      level: 'warning',
      text: 'spawned pid 12',
    });
    expect(parseLogFileLine('2026-11-21T05:41:00.123Z [luna-tray] INFO [x] y')?.text).toBe('[x] y');
    expect(parseLogFileLine('2025-12-12 14:03:11,123 - LunaDaemon - INFO - Luna Daemon Ready!')).toBeNull();
    expect(parseLogFileLine('2026-11-21T05:41:00.123Z stderr INFO  [LunaDaemon] old format')).toBeNull();
    expect(parseLogFileLine('  File "x.py", line 1')).toBeNull();
  });

  it('reuses a repeated prefix (compiled to a sticky regex) only for lines that really start with it', () => {
    const scratch = createParseScratch();
    // A logger name full of regex syntax: an unescaped pattern would match the impostor below.
    const logger = 'a.b(c)[d]+*?^$|\\/-{2}';
    const prefix = `2025-12-12 14:03:11,123 - ${logger} - INFO - `;
    const str = Array.from({ length: 20 }, (_, i) => `${prefix}line ${i}`).join('\n');
    let at = 0;
    for (let i = 0; i < 20; i++) {
      const end = str.indexOf('\n', at) === -1 ? str.length : str.indexOf('\n', at);
      expect(parseSpanInto(str, at, end, scratch)).toBe(true);
      expect([scratch.logger, scratch.level, str.slice(scratch.textStart, end)]).toEqual([
        logger,
        'info',
        `line ${i}`,
      ]);
      at = end + 1;
    }
    expect(scratch.prefixRe).not.toBeNull();
    // Same length, `.` → `x`: a different logger, parsed afresh.
    const impostor = prefix.replace('a.b', 'axb') + 'other';
    expect(parseSpanInto(impostor, 0, impostor.length, scratch)).toBe(true);
    expect(scratch.logger).toBe('axb(c)[d]+*?^$|\\/-{2}');
    // And the prefix again, after a level change in between.
    const warn = `2025-12-12 14:03:11,123 - ${logger} - WARNING - w`;
    expect(parseSpanInto(warn, 0, warn.length, scratch)).toBe(true);
    expect(scratch.level).toBe('warning');
  });
});

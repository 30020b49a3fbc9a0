import { describe, expect, it } from 'vitest';

import type { LogEntry } from '../../../src/shared/log-entry.js';
import { createRecordAssembler, MAX_CONTINUATION_LINES } from '../../../src/core/logs/record-assembler.js';

type Brief = Pick<LogEntry, 'level' | 'text'> & { logger?: string };

function assemble(lines: string[], source: 'stdout' | 'stderr' = 'stderr'): Brief[] {
  const a = createRecordAssembler(source);
  const out: LogEntry[] = [];
  a.push(lines, 1000, out);
  a.close(out);
  return out.map((e) => {
    const b: Brief = { level: e.level, text: e.text };
    if (e.logger !== undefined) b.logger = e.logger;
    expect(e.source).toBe(source);
    expect(e.ts).toBe(1000);
    return b;
  });
}

const TB_COMFY = [
  'Traceback (most recent call last):',
  '  File "/x/custom_nodes/ComfyUI-Luna-Collection/luna_daemon/daemon_server.py", line 1890, in <module>',
  '    main()',
  '  File "/x/custom_nodes/ComfyUI-Luna-Collection/luna_daemon/weight_registry.py", line 14, in <module>',
  '    import comfy.utils',
  "ModuleNotFoundError: No module named 'comfy'",
];

describe('createRecordAssembler', () => {
  it('keeps single-line records apart (startup sequence, docs/daemon-protocol.md §3.8)', () => {
    expect(
      assemble([
        '2025-12-12 14:03:10,001 - LunaDaemon - INFO - [Config] Attempting package import from .config',
        '2025-12-12 14:03:10,002 - LunaDaemon - WARNING - [Config] Package import failed: no parent',
        '2025-12-12 14:03:11,123 - LunaDaemon - INFO - Luna Daemon Ready!',
      ]),
    ).toEqual([
      { level: 'info', logger: 'LunaDaemon', text: '[Config] Attempting package import from .config' },
      { level: 'warning', logger: 'LunaDaemon', text: '[Config] Package import failed: no parent' },
      { level: 'info', logger: 'LunaDaemon', text: 'Luna Daemon Ready!' },
    ]);
  });

  it('attaches a logged traceback (logger.error(traceback.format_exc())) to its record', () => {
    expect(
      assemble([
        '2025-12-12 14:03:10,002 - LunaDaemon - ERROR - [Config] Fallback import failed: boom',
        'Traceback (most recent call last):',
        '  File "/x/daemon_server.py", line 40, in <module>',
        '    spec.loader.exec_module(cfg)',
        'ValueError: boom',
        '',
        '2025-12-12 14:03:10,003 - LunaDaemon - WARNING - [Config] [WARN] Using hardcoded defaults',
      ]),
    ).toEqual([
      {
        level: 'error',
        logger: 'LunaDaemon',
        text: [
          '[Config] Fallback import failed: boom',
          'Traceback (most recent call last):',
          '  File "/x/daemon_server.py", line 40, in <module>',
          '    spec.loader.exec_module(cfg)',
          'ValueError: boom',
        ].join('\n'),
      },
      { level: 'warning', logger: 'LunaDaemon', text: '[Config] [WARN] Using hardcoded defaults' },
    ]);
  });

  it('makes an uncaught traceback one error record (missing comfy, docs/daemon-protocol.md §3.3)', () => {
    expect(assemble(TB_COMFY)).toEqual([{ level: 'error', text: TB_COMFY.join('\n') }]);
  });

  it('starts a new record for a raw traceback after an INFO record', () => {
    expect(
      assemble(['2025-12-12 14:03:11,123 - LunaDaemon - INFO - [Socket] listening', ...TB_COMFY]),
    ).toEqual([
      { level: 'info', logger: 'LunaDaemon', text: '[Socket] listening' },
      { level: 'error', text: TB_COMFY.join('\n') },
    ]);
  });

  it('keeps chained tracebacks together and ends the record at the next print', () => {
    const chained = [
      'Traceback (most recent call last):',
      '  File "a.py", line 1, in f',
      "KeyError: 'x'",
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "a.py", line 3, in g',
      'OSError: [Errno 98] Address already in use',
    ];
    expect(assemble([...chained, 'Daemon error: boom', 'after'])).toEqual([
      { level: 'error', text: chained.join('\n') },
      { level: 'error', text: 'Daemon error: boom' },
      { level: 'info', text: 'after' },
    ]);
  });

  it('turns raw prints into their own records with a sensible level', () => {
    expect(
      assemble(
        [
          'Warning: pystray not installed, running in headless mode',
          'Luna Daemon starting in headless mode...',
          '',
          '====',
          '  Luna VAE/CLIP Daemon v2.1 - Split Architecture',
          'ValueError: stray exception line',
        ],
        'stdout',
      ),
    ).toEqual([
      { level: 'warning', text: 'Warning: pystray not installed, running in headless mode' },
      { level: 'info', text: 'Luna Daemon starting in headless mode...' },
      { level: 'info', text: '====' },
      { level: 'info', text: '  Luna VAE/CLIP Daemon v2.1 - Split Architecture' },
      { level: 'error', text: 'ValueError: stray exception line' },
    ]);
  });

  it('handles the legacy and tray formats with continuations', () => {
    expect(
      assemble([
        '[14:03:11] [Daemon] ERROR: Worker crashed',
        '  details line',
        '[14:03:11] [Daemon] INFO: Ready to accept connections!',
        '2025-12-12 14:03:11,123 - INFO - Luna Daemon Ready!',
      ]),
    ).toEqual([
      { level: 'error', text: 'Worker crashed\n  details line' },
      { level: 'info', text: 'Ready to accept connections!' },
      { level: 'info', text: 'Luna Daemon Ready!' },
    ]);
  });

  it('holds a record open until closed, across pushes', () => {
    const a = createRecordAssembler('stderr');
    const out: LogEntry[] = [];
    a.push(
      ['2025-12-12 14:03:10,002 - LunaDaemon - ERROR - failed', 'Traceback (most recent call last):'],
      1,
      out,
    );
    expect(out).toEqual([]);
    expect(a.hasOpen).toBe(true);
    a.push(['  File "x.py", line 1', 'ValueError: v'], 2, out);
    expect(out).toEqual([]);
    a.close(out);
    expect(a.hasOpen).toBe(false);
    expect(out).toHaveLength(1);
    expect(out[0]!.ts).toBe(1);
    expect(out[0]!.text.split('\n')).toHaveLength(4);
  });

  it('caps an endless continuation so it cannot hold memory', () => {
    const lines = ['2025-12-12 14:03:10,002 - LunaDaemon - INFO - start'];
    for (let i = 0; i < MAX_CONTINUATION_LINES + 5; i++) lines.push(`  progress ${i}`);
    const out = assemble(lines);
    expect(out[0]!.text.split('\n')).toHaveLength(MAX_CONTINUATION_LINES + 1);
    expect(out.slice(1).map((e) => e.text)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `  progress ${MAX_CONTINUATION_LINES + i}`),
    );
  });
});

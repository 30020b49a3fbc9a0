import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  bytesNeedStrip,
  createLineSplitter,
  truncationMarker,
} from '../../../src/core/logs/line-splitter.js';

function feed(chunks: (string | Buffer)[], max = 1024, stripAnsi = false): string[] {
  const s = createLineSplitter({ maxLineLength: max, stripAnsi });
  const out: string[] = [];
  for (const c of chunks) out.push(...s.push(typeof c === 'string' ? Buffer.from(c) : c));
  out.push(...s.flush());
  return out;
}

describe('createLineSplitter', () => {
  it.each([
    ['LF', ['a\nb\n'], ['a', 'b']],
    ['CRLF', ['a\r\nb\r\n'], ['a', 'b']],
    ['lone CR ends a line (progress bars)', ['10%\r20%\r30%\n'], ['10%', '20%', '30%']],
    ['CRLF split across chunks is one line end', ['a\r', '\nb\n'], ['a', 'b']],
    ['CR at chunk end then text', ['a\r', 'b\n'], ['a', 'b']],
    ['partial tail kept across chunks', ['hel', 'lo wo', 'rld\nnext'], ['hello world', 'next']],
    ['empty lines are kept', ['a\n\n\nb\n'], ['a', '', '', 'b']],
    ['no trailing newline: flush returns the tail', ['only'], ['only']],
    ['tab survives', ['a\tb\n'], ['a\tb']],
  ])('%s', (_name, chunks, expected) => {
    expect(feed(chunks)).toEqual(expected);
  });

  it('returns nothing until a line is complete', () => {
    const s = createLineSplitter();
    expect(s.push(Buffer.from('abc'))).toEqual([]);
    expect(s.push(Buffer.from('def\ng'))).toEqual(['abcdef']);
    expect(s.flush()).toEqual(['g']);
    expect(s.flush()).toEqual([]);
  });

  it('reassembles a multi-byte UTF-8 character split at every byte position', () => {
    const text = 'é€😀 ok\n';
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(feed([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(['é€😀 ok']);
    }
  });

  it('turns invalid UTF-8 into U+FFFD without throwing', () => {
    const bad = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a, 0xe2, 0x82]);
    expect(feed([bad])).toEqual(['a\uFFFD\uFFFDb', '\uFFFD']);
  });

  it('truncates an overlong line inside one chunk with a byte-count marker', () => {
    const line = 'x'.repeat(300);
    expect(feed([`${line}\nshort\n`], 100)).toEqual(['x'.repeat(100) + truncationMarker(200), 'short']);
  });

  it('counts dropped bytes in UTF-8, and never cuts a surrogate pair', () => {
    const line = 'a' + '😀'.repeat(10); // 1 + 20 code units, 1 + 40 bytes
    const [out] = feed([`${line}\n`], 4);
    // 'a' + one emoji (3 code units) fit; the cut at 4 would split the 2nd emoji's pair.
    expect(out).toBe('a😀' + truncationMarker(36));
  });

  it('truncates a 10 MB single line fed in 64 KiB chunks, keeping only the cap', () => {
    const total = 10 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x7a);
    const s = createLineSplitter({ maxLineLength: 16 * 1024 });
    for (let sent = 0; sent < total; sent += chunk.length) expect(s.push(chunk)).toEqual([]);
    const [line, ...rest] = s.push(Buffer.from('\nafter\n'));
    expect(rest).toEqual(['after']);
    expect(line).toBe('z'.repeat(16 * 1024) + truncationMarker(total - 16 * 1024));
  });

  it('does not build growing strings for an endless line (linear time)', () => {
    // 64 MB in 8 KiB chunks. Concatenating and re-measuring the whole partial line per chunk would
    // copy ~256 GB (quadratic); counting the overflow is linear and takes milliseconds.
    const chunk = Buffer.alloc(8 * 1024, 0x61);
    const s = createLineSplitter({ maxLineLength: 16 * 1024 });
    const started = performance.now();
    for (let i = 0; i < 8192; i++) s.push(chunk);
    const [line] = s.flush();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(line).toBe('a'.repeat(16 * 1024) + truncationMarker(64 * 1024 * 1024 - 16 * 1024));
  });

  it('strips ANSI escapes and control characters when asked', () => {
    expect(feed(['\x1b[32mgreen\x1b[0m ok\x07\n', 'plain\n'], 1024, true)).toEqual(['green ok', 'plain']);
    // A sequence in a line that started in an earlier chunk is still stripped.
    expect(feed(['\x1b[1mbo', 'ld\x1b[0m\n'], 1024, true)).toEqual(['bold']);
  });

  it('leaves text alone when stripping is off', () => {
    expect(feed(['\x1b[32mgreen\n'])).toEqual(['\x1b[32mgreen']);
  });

  it('rejects a nonsense cap', () => {
    expect(() => createLineSplitter({ maxLineLength: 0 })).toThrow(RangeError);
  });

  it('matches a reference split for any text cut into any chunks (property)', () => {
    const piece = fc.constantFrom('a', 'bc', 'é', '😀', '\n', '\r', '\r\n', ' ', '€');
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (pieces, cuts) => {
          const text = pieces.join('');
          const bytes = Buffer.from(text);
          const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort(
            (a, b) => a - b,
          );
          const chunks: Buffer[] = [];
          let at = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(at, p));
            at = p;
          }
          chunks.push(bytes.subarray(at));
          const expected = text.split(/\r\n|\r|\n/);
          if (expected[expected.length - 1] === '') expected.pop();
          expect(feed(chunks)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('joinedLines() is exactly the returned lines, each followed by a newline', () => {
    const piece = fc.constantFrom('a', 'bc', '\n', '\r', '\r\n', '\x1b[1m', '\x07', 'é', 'x'.repeat(12), '');
    fc.assert(
      fc.property(
        fc.array(fc.array(piece, { maxLength: 12 }), { maxLength: 8 }),
        fc.boolean(),
        (chunks, strip) => {
          const s = createLineSplitter({ maxLineLength: 8, stripAnsi: strip });
          for (const c of chunks) {
            const lines = [...s.push(Buffer.from(c.join('')))];
            expect(s.joinedLines()).toBe(lines.map((l) => `${l}\n`).join(''));
          }
          const rest = s.flush();
          expect(s.joinedLines()).toBe(rest.map((l) => `${l}\n`).join(''));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('joinedParts() writes the same bytes as joinedLines(), as a slice of the chunk when it can', () => {
    const piece = fc.constantFrom('a', 'bc', '\n', '\r', '\r\n', '\x1b[1m', 'é', '€', 'x'.repeat(12), '');
    // Raw byte chunks, cut anywhere (inside UTF-8 sequences too), sometimes with invalid bytes.
    const chunkBytes = fc
      .tuple(fc.array(piece, { maxLength: 12 }), fc.constantFrom(null, 0xff, 0xc3))
      .map(([parts, bad]) => {
        const b = Buffer.from(parts.join(''));
        return bad === null ? b : Buffer.concat([b, Buffer.from([bad])]);
      });
    fc.assert(
      fc.property(fc.array(chunkBytes, { maxLength: 8 }), fc.boolean(), (chunks, strip) => {
        const s = createLineSplitter({ maxLineLength: 8, stripAnsi: strip });
        for (const c of chunks) {
          s.push(c);
          const parts = s.joinedParts();
          const bytes = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
          expect(bytes.toString('utf8')).toBe(s.joinedLines());
          // Only valid UTF-8 ever goes to the file as raw bytes.
          for (const p of parts)
            if (typeof p !== 'string') expect(Buffer.from(p).toString('utf8')).not.toContain('\ufffd');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('hands the unaltered lines of a chunk over as spans of the decoded chunk and its bytes to the file', () => {
    const s = createLineSplitter({ maxLineLength: 100 });
    const spans: [string, number, number, number][] = [];
    const chunk = Buffer.from('head\nalpha\nbeta\ntail');
    s.push(Buffer.from('pre-'));
    const n = s.pushTo(chunk, { line: (str, a, b, ts) => spans.push([str, a, b, ts]) }, 42);
    expect(n).toBe(3);
    expect(spans.map(([str, a, b]) => str.slice(a, b))).toEqual(['pre-head', 'alpha', 'beta']);
    // Lines after the first are spans of ONE string (the decoded chunk): no string per line.
    expect(spans[1]![0]).toBe(spans[2]![0]);
    expect(spans.every(([, , , ts]) => ts === 42)).toBe(true);
    const parts = s.joinedParts();
    expect(parts[0]).toBe('pre-head\n');
    expect(Buffer.isBuffer(parts[1]) && parts[1].buffer === chunk.buffer).toBe(true);
    expect(Buffer.from(parts[1] as Uint8Array).toString()).toBe('alpha\nbeta\n');
    expect(s.flush()).toEqual(['tail']);
  });

  it('keeps the text path for the file when the chunk had CRs, controls or overlong lines', () => {
    for (const [text, opts] of [
      ['a\r\nb\r\nc\n', {}],
      ['a\nb\x1b[1m\nc\n', { stripAnsi: true }],
      ['a\nbbbbbbbbbbbbbbbbbbbb\nc\n', { maxLineLength: 5 }],
    ] as const) {
      const s = createLineSplitter(opts);
      s.push(Buffer.from(text));
      expect(s.joinedParts()).toEqual([s.joinedLines()]);
    }
  });

  it('bytesNeedStrip() agrees with the control-character regex on the decoded text', () => {
    // eslint-disable-next-line no-control-regex
    const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
    const char = fc.constantFrom(
      '\u2029',
      '\u202a',
      '\u202e',
      '\u202f',
      '\u2065',
      '\u2066',
      '\u2069',
      '\u206a',
      '…',
      'a',
      ' ',
      '\t',
      '\n',
      '\r',
      '\x00',
      '\x07',
      '\x1b',
      '\x1f',
      '\x7f',
      '\u0080',
      '\u009b',
      '\u009f',
      '\u00a0',
      '°',
      'é',
      '€',
      '😀',
    );
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        expect(bytesNeedStrip(Buffer.from(text))).toBe(CONTROLS.test(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('strips bidi controls (U+202E, U+2066) from captured lines, also when split across chunks', () => {
    const s = createLineSplitter({ stripAnsi: true });
    const bytes = Buffer.from('user\u202Egnp.exe\n\u2066isolated\u2069 text\n');
    const cut = bytes.indexOf(0xe2) + 1;
    expect([...s.push(bytes.subarray(0, cut)), ...s.push(bytes.subarray(cut))]).toEqual([
      'usergnp.exe',
      'isolated text',
    ]);
  });

  it('strips a C1 control whose two bytes arrive in different chunks', () => {
    const s = createLineSplitter({ stripAnsi: true });
    const bytes = Buffer.from('ab\u0085cd\nnext\n');
    // Cut between 0xC2 and 0x85 (NEL).
    expect([...s.push(bytes.subarray(0, 3)), ...s.push(bytes.subarray(3))]).toEqual(['abcd', 'next']);
  });

  it('asciiBytesOf() gives the bytes of the last two pure-ASCII chunks, for their decoded text only', () => {
    const s = createLineSplitter();
    const texts: string[] = [];
    const sink = { line: (str: string) => void texts.push(str) };
    const a = Buffer.from('a1\na2\n');
    const b = Buffer.from('b1 é\nb2\n');
    const c = Buffer.from('c1\nc2\n');
    s.pushTo(a, sink, 0);
    const textA = texts.at(-1)!;
    expect(s.asciiBytesOf(textA)).toBe(a);
    s.pushTo(b, sink, 0);
    const textB = texts.at(-1)!;
    expect(s.asciiBytesOf(textB)).toBeNull(); // not ASCII: offsets would not be byte offsets
    expect(s.asciiBytesOf(textA)).toBe(a); // still the previous chunk
    s.pushTo(c, sink, 0);
    expect(s.asciiBytesOf(texts.at(-1)!)).toBe(c);
    expect(s.asciiBytesOf(textA)).toBeNull(); // two chunks ago
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DaemonError } from '../../../src/core/daemon/errors.js';
import { FrameReader, encodeFrame } from '../../../src/core/daemon/framing.js';
import { decodePickle } from '../../../src/core/daemon/pickle-decode.js';
import { encodePickle, type PickleValue } from '../../../src/core/daemon/pickle-encode.js';

import { runPickleHelper } from './helpers.js';

/** Decode and classify: a value, or a DaemonError that is not the decoder's internal-bug fallback. */
function decodeSafely(bytes: Uint8Array): 'ok' | DaemonError['code'] {
  const t0 = performance.now();
  let result: 'ok' | DaemonError['code'];
  try {
    decodePickle(bytes);
    result = 'ok';
  } catch (e) {
    if (!(e instanceof DaemonError)) throw new Error(`non-DaemonError escaped: ${String(e)}`);
    if (/internal decoder error/.test(e.message)) throw new Error(`decoder bug: ${e.message}`);
    result = e.code;
  }
  // Synchronous and linear: even a hostile 4 KiB input decodes in far less than this.
  const ms = performance.now() - t0;
  if (ms > 250) throw new Error(`decode took ${ms.toFixed(0)} ms`);
  return result;
}

const jsonLike: fc.Arbitrary<PickleValue> = fc.letrec<{ v: PickleValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 6 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), tie('v'), { maxKeys: 6 }),
  ),
})).v;

// Seeds: our own encodings plus real Python pickles of every protocol (memo, FRAME, LONG1, tuples…).
const pythonSeeds = (JSON.parse(runPickleHelper(['cases'])) as { hex: string }[])
  .map((c) => Buffer.from(c.hex, 'hex'))
  .filter((b) => b.length < 4096);

const seed = fc.oneof(
  jsonLike.map((v) => new Uint8Array(encodePickle(v))),
  fc.constantFrom(...pythonSeeds).map((b) => new Uint8Array(b)),
);

/** A mutation of a valid pickle. */
const mutated = fc.oneof(
  // Bit flips.
  fc
    .tuple(seed, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }))
    .map(([b, flips]) => {
      const out = new Uint8Array(b);
      for (const [i, bit] of flips) out[i % out.length]! ^= 1 << bit;
      return out;
    }),
  // Truncation.
  fc.tuple(seed, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
  // Splices of two valid pickles.
  fc.tuple(seed, seed, fc.nat(), fc.nat()).map(([a, b, i, j]) => {
    const out = new Uint8Array([...a.subarray(0, i % (a.length + 1)), ...b.subarray(j % (b.length + 1))]);
    return out;
  }),
  // A huge length operand inserted (BINUNICODE/BINBYTES/BINUNICODE8/LONG4/LONG_BINGET/LONG_BINPUT/FRAME).
  fc
    .tuple(
      seed,
      fc.nat(),
      fc.constantFrom(0x58, 0x42, 0x8d, 0x8e, 0x96, 0x8b, 0x6a, 0x72, 0x95, 0x8a, 0x8c, 0x43),
      fc.constantFrom(0xff, 0x7f, 0x80),
    )
    .map(([b, i, op, fill]) => {
      const at = 2 + (i % Math.max(1, b.length - 2));
      return new Uint8Array([
        ...b.subarray(0, at),
        op,
        ...new Array<number>(8).fill(fill),
        ...b.subarray(at),
      ]);
    }),
);

describe('pickle decoder fuzzing', () => {
  it('random bytes never crash, never hang', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        decodeSafely(bytes);
        // Also behind a PROTO header, so the opcode loop is exercised, not just the first-byte check.
        decodeSafely(new Uint8Array([0x80, 0x04, ...bytes]));
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid pickles never crash, never hang', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        decodeSafely(bytes);
      }),
      { numRuns: 4000 },
    );
  });

  it('length operands beyond the bytes present are garbage, immediately', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0x58, 0x42, 0x8d, 0x8e, 0x96),
        fc.integer({ min: 64, max: 2 ** 31 - 1 }),
        fc.uint8Array({ maxLength: 32 }),
        (op, len, tail) => {
          const header =
            op === 0x58 || op === 0x42
              ? [len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff, len >>> 24]
              : [len & 0xff, (len >>> 8) & 0xff, (len >>> 16) & 0xff, len >>> 24, 0, 0, 0, 0];
          expect(decodeSafely(new Uint8Array([0x80, 0x04, op, ...header, ...tail]))).toBe('garbage');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('round-trips arbitrary JSON-like values: decode(encode(x)) equals x', () => {
    fc.assert(
      fc.property(jsonLike, fc.constantFrom(2 as const, 4 as const), (v, protocol) => {
        expect(decodePickle(encodePickle(v, { protocol }))).toEqual(v);
      }),
      { numRuns: 3000 },
    );
  });

  it('frames survive arbitrary chunking', () => {
    fc.assert(
      fc.property(
        fc.array(jsonLike, { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        fc.constantFrom('current' as const, 'legacy' as const),
        (values, cuts, generation) => {
          const wire = Buffer.concat(values.map((v) => encodeFrame(encodePickle(v), generation)));
          const reader = new FrameReader({ generation });
          const got: PickleValue[] = [];
          let pos = 0;
          let i = 0;
          while (pos < wire.length) {
            const n = cuts[i++ % cuts.length]!;
            for (const f of reader.push(wire.subarray(pos, pos + n))) got.push(decodePickle(f));
            pos += n;
          }
          expect(got).toEqual(values);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

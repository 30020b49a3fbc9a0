import { describe, expect, it } from 'vitest';

import { decodePickle } from '../../../src/core/daemon/pickle-decode.js';
import { PickleEncodeError, encodePickle, type PickleValue } from '../../../src/core/daemon/pickle-encode.js';

import { revive, runPickleHelper, tag } from './helpers.js';

const samples: PickleValue[] = [
  { cmd: 'ping' },
  { cmd: 'set_clip_device', device: 'cuda:0' },
  {
    ints: [
      0,
      1,
      255,
      256,
      65535,
      65536,
      -1,
      -129,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 40,
      -(2 ** 52),
      Number.MAX_SAFE_INTEGER,
    ],
  },
  { big: [2n ** 64n, -(2n ** 70n), 2n ** 2100n, -(2n ** 63n)] },
  { floats: [0.5, -2.25, 1e300, 5e-324, -0, Math.PI] },
  { text: ['', 'café', '日本語', '🌙', 'x'.repeat(300), 'é'.repeat(200)] },
  { nested: { a: [[], {}, [null, true, false]], b: { c: { d: 'e' } } } },
];

describe('encodePickle', () => {
  it('produces bytes Python decodes to the same values (protocols 2 and 4)', () => {
    const hexes = samples.flatMap((s) => [
      encodePickle(s, { protocol: 4 }).toString('hex'),
      encodePickle(s, { protocol: 2 }).toString('hex'),
    ]);
    const decoded = JSON.parse(runPickleHelper(['loads-stdin'], JSON.stringify(hexes))) as unknown[];
    samples.forEach((s, i) => {
      expect(revive(decoded[2 * i]), `protocol 4 sample ${i}`).toEqual(revive(tag(s)));
      expect(revive(decoded[2 * i + 1]), `protocol 2 sample ${i}`).toEqual(revive(tag(s)));
    });
  });

  it('writes ints beyond 32 bits as LONG1 and floats as big-endian BINFLOAT', () => {
    expect(encodePickle(2 ** 32).toString('hex')).toBe('80048a050000000001' + '2e');
    expect(encodePickle(1.5).toString('hex')).toBe('8004473ff8000000000000' + '2e');
    expect(encodePickle(-1).toString('hex')).toBe('80044affffffff2e');
  });

  it('round-trips through the decoder', () => {
    for (const s of samples) expect(decodePickle(encodePickle(s))).toEqual(s);
  });

  it('writes small bigints as ints (they decode as numbers)', () => {
    expect(decodePickle(encodePickle([0n, -1n, 2n ** 40n]))).toEqual([0, -1, 2 ** 40]);
  });

  it('refuses values it cannot represent', () => {
    expect(() => encodePickle((() => 1) as unknown as PickleValue)).toThrow(PickleEncodeError);
    expect(() => encodePickle(new Date() as unknown as PickleValue)).toThrow(PickleEncodeError);
  });

  it('leaves out undefined dict values', () => {
    expect(decodePickle(encodePickle({ cmd: 'x', device: undefined } as unknown as PickleValue))).toEqual({
      cmd: 'x',
    });
  });
});

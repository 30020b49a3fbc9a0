import { describe, expect, it } from 'vitest';

import { DaemonError } from '../../../src/core/daemon/errors.js';
import {
  FrameReader,
  encodeFrame,
  looksLikeLegacyFrame,
  readFrameLength,
} from '../../../src/core/daemon/framing.js';

describe('encodeFrame', () => {
  it('writes an 8-byte big-endian header for current and 4-byte for legacy', () => {
    const body = Buffer.from([1, 2, 3]);
    expect([...encodeFrame(body, 'current')]).toEqual([0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    expect([...encodeFrame(body, 'legacy')]).toEqual([0, 0, 0, 3, 1, 2, 3]);
    const big = Buffer.alloc(0x10203);
    expect([...encodeFrame(big, 'current').subarray(0, 8)]).toEqual([0, 0, 0, 0, 0, 1, 2, 3]);
    expect(readFrameLength(encodeFrame(big, 'legacy'), 'legacy')).toBe(0x10203);
  });
});

describe('FrameReader', () => {
  const frames = [Buffer.from('alpha'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('omega')];
  // Compare as hex strings: deep-equality over 70,000-element buffers is needlessly slow.
  const hex = (bs: Uint8Array[]): string[] => bs.map((b) => Buffer.from(b).toString('hex'));
  const want = hex(frames);

  for (const generation of ['current', 'legacy'] as const) {
    it(`${generation}: reassembles frames from every split point and coalesced chunks`, () => {
      const wire = Buffer.concat(frames.map((f) => encodeFrame(f, generation)));
      // One byte at a time.
      const r1 = new FrameReader({ generation });
      const out1: Buffer[] = [];
      for (const b of wire) out1.push(...r1.push(Buffer.from([b])));
      expect(hex(out1)).toEqual(want);
      // Everything at once.
      expect(hex(new FrameReader({ generation }).push(wire))).toEqual(want);
      // Every two-way split of the first 40 bytes.
      for (let cut = 0; cut < 40; cut++) {
        const r = new FrameReader({ generation });
        const out = [...r.push(wire.subarray(0, cut)), ...r.push(wire.subarray(cut))];
        expect(hex(out)).toEqual(want);
        expect(r.bufferedBytes).toBe(0);
      }
    });
  }

  it('throws oversized on a header claiming 2^62 bytes, before any body arrives', () => {
    const r = new FrameReader({ generation: 'current' });
    const header = Buffer.alloc(8);
    header.writeBigUInt64BE(2n ** 62n);
    expect(r.push(header.subarray(0, 7))).toEqual([]);
    const t0 = performance.now();
    try {
      r.push(header.subarray(7));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DaemonError);
      expect((e as DaemonError).code).toBe('oversized');
    }
    expect(performance.now() - t0).toBeLessThan(50);
  });

  it('honours a small configured maximum on the header, for both generations', () => {
    for (const generation of ['current', 'legacy'] as const) {
      const r = new FrameReader({ generation, maxFrameBytes: 100 });
      expect(r.push(encodeFrame(Buffer.alloc(100), generation))).toHaveLength(1);
      const header = encodeFrame(Buffer.alloc(101), generation).subarray(0, generation === 'current' ? 8 : 4);
      expect(() => r.push(header)).toThrow(/101 bytes; the limit is 100/);
    }
  });

  it('recognises a legacy frame arriving at a current-generation reader', () => {
    const legacyReply = encodeFrame(Buffer.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0, 0x2e]), 'legacy');
    expect(looksLikeLegacyFrame(legacyReply)).toBe(true);
    expect(looksLikeLegacyFrame(Buffer.from('HTTP/1.1 200 OK'))).toBe(false);
    expect(looksLikeLegacyFrame(encodeFrame(Buffer.from([0x80, 0x04, 0x2e]), 'current'))).toBe(false);
  });
});

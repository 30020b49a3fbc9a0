/**
 * Length-prefixed framing of both daemon generations (docs/daemon-protocol.md §5.1, §5.2):
 * current = 8-byte big-endian length, legacy = 4-byte big-endian length (`'>I'`), then the pickle.
 */
import { Buffer } from 'node:buffer';

import type { Generation } from '../../shared/daemon-status.js';

import { DaemonError } from './errors.js';

export type { Generation };

/** Header size per generation. */
export const HEADER_BYTES: Readonly<Record<Generation, number>> = { current: 8, legacy: 4 };

/** Default bound on one frame's body: 64 MiB. The daemon itself has none (docs/daemon-protocol.md §5.1). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Prefix `body` with the header of `generation`. */
export function encodeFrame(body: Uint8Array, generation: Generation): Buffer {
  const h = HEADER_BYTES[generation];
  const out = Buffer.allocUnsafe(h + body.length);
  if (generation === 'current') {
    // 8-byte unsigned big-endian, `struct.pack('>Q', n)` (docs/daemon-protocol.md §5.1).
    out.writeBigUInt64BE(BigInt(body.length), 0);
  } else {
    if (body.length > 0xffffffff) throw new RangeError('a legacy frame holds at most 4 GiB - 1 bytes');
    out.writeUInt32BE(body.length, 0);
  }
  out.set(body, h);
  return out;
}

/**
 * Read a frame length from a complete header at `offset`. Lengths beyond 2^53 come back as
 * `Infinity`: they are oversized for every possible bound, and we never allocate them.
 */
export function readFrameLength(header: Uint8Array, generation: Generation, offset = 0): number {
  const dv = new DataView(header.buffer, header.byteOffset + offset, HEADER_BYTES[generation]);
  if (generation === 'legacy') return dv.getUint32(0, false);
  const hi = dv.getUint32(0, false);
  const lo = dv.getUint32(4, false);
  if (hi >= 0x200000) return Number.POSITIVE_INFINITY;
  return hi * 0x100000000 + lo;
}

/**
 * True when `head` (the first bytes a current-generation client received) looks like a LEGACY frame:
 * a plausible 4-byte length followed by `PROTO 2..5`. That is what a legacy server sends back to an
 * 8-byte-framed request (docs/daemon-protocol.md §7 step 3: `{"error": "Ran out of input"}`, 4-byte framed).
 */
export function looksLikeLegacyFrame(head: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): boolean {
  if (head.length < 6) return false;
  const n = ((head[0]! << 24) >>> 0) + (head[1]! << 16) + (head[2]! << 8) + head[3]!;
  return n >= 2 && n <= maxFrameBytes && head[4] === 0x80 && head[5]! >= 2 && head[5]! <= 5;
}

/** Options of {@link FrameReader}. */
export interface FrameReaderOptions {
  generation: Generation;
  /** Largest accepted body; checked on the header, before anything is buffered. Default 64 MiB. */
  maxFrameBytes?: number;
}

/**
 * Streaming frame reader: feed it socket chunks in any split (partial headers, several frames in one
 * chunk), get complete frame bodies back. An oversized header throws `DaemonError('oversized')` as soon
 * as the header is complete: the body is never buffered, let alone allocated.
 */
export class FrameReader {
  readonly generation: Generation;
  readonly maxFrameBytes: number;
  private readonly headerBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read, or -1 while the header is incomplete. */
  private need = -1;

  constructor(opts: FrameReaderOptions) {
    this.generation = opts.generation;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!(this.maxFrameBytes >= 0)) throw new RangeError('maxFrameBytes must be a non-negative number');
    this.headerBytes = HEADER_BYTES[opts.generation];
  }

  /** Bytes received but not yet returned as a frame (header bytes included). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while part of a frame (header or body) has been received. */
  get midFrame(): boolean {
    return this.buffered > 0;
  }

  /** Add a chunk; returns every frame body it completed (often none). Throws on an oversized header. */
  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    if (chunk.length > 0) {
      this.chunks.push(
        Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
      );
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < this.headerBytes) return out;
        const head = this.take(this.headerBytes, false);
        const n = readFrameLength(head, this.generation);
        if (n > this.maxFrameBytes) {
          throw new DaemonError(
            'oversized',
            `frame header announces ${Number.isFinite(n) ? n : '> 2^53'} bytes; the limit is ${this.maxFrameBytes}`,
          );
        }
        this.take(this.headerBytes, true);
        this.need = n;
      }
      if (this.buffered < this.need) return out;
      out.push(this.take(this.need, true));
      this.need = -1;
    }
  }

  /** Copy out the first `n` buffered bytes; `consume` removes them. Concatenates at most once per call. */
  private take(n: number, consume: boolean): Buffer {
    const first = this.chunks[0];
    let result: Buffer;
    if (n === 0) {
      result = Buffer.alloc(0);
    } else if (first && first.length >= n) {
      result = first.subarray(0, n);
      if (consume) {
        if (first.length === n) this.chunks.shift();
        else this.chunks[0] = first.subarray(n);
      }
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      result = all.subarray(0, n);
      if (consume) this.chunks = all.length > n ? [all.subarray(n)] : [];
      else this.chunks = [all];
    }
    if (consume) this.buffered -= n;
    return result;
  }
}

/**
 * A small pickle ENCODER for request dicts (docs/daemon-protocol.md §6.1): dict, list, str, int, float,
 * bool and None only. The daemon decodes with `pickle.loads`, which accepts any protocol.
 */
import { Buffer } from 'node:buffer';

/** A value the encoder can write (and the decoder can return). Tuples and sets decode as arrays. */
export type PickleValue =
  null | boolean | number | bigint | string | Uint8Array | PickleValue[] | { [key: string]: PickleValue };

/** Options of {@link encodePickle}. */
export interface EncodeOptions {
  /** Declared protocol: 2 or 4 (default 4). Protocol 2 uses BINUNICODE for every string. */
  protocol?: 2 | 4;
  /** Deepest nesting accepted (default 256); deeper input throws a RangeError. */
  maxDepth?: number;
}

/** Error for values the encoder cannot represent (programmer error, not a daemon failure). */
export class PickleEncodeError extends Error {
  override readonly name = 'PickleEncodeError';
}

const enc = new TextEncoder();

/** Growable byte writer. */
class Writer {
  buf = Buffer.allocUnsafe(256);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

// Opcodes (pickletools names).
const PROTO = 0x80;
const STOP = 0x2e;
const NONE = 0x4e;
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const BININT1 = 0x4b;
const BININT2 = 0x4d;
const BININT = 0x4a;
const LONG1 = 0x8a;
const LONG4 = 0x8b;
const BINFLOAT = 0x47;
const SHORT_BINUNICODE = 0x8c;
const BINUNICODE = 0x58;
const SHORT_BINBYTES = 0x43;
const BINBYTES = 0x42;
const EMPTY_DICT = 0x7d;
const EMPTY_LIST = 0x5d;
const MARK = 0x28;
const SETITEMS = 0x75;
const APPENDS = 0x65;

/** Little-endian two's-complement bytes of `v`, shortest form (Python's `encode_long`). */
function longBytes(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const out: number[] = [];
  let x = v;
  // Emit bytes until the remaining value is the sign extension of the last byte's top bit.
  for (;;) {
    const b = Number(x & 0xffn);
    out.push(b);
    x >>= 8n;
    if ((x === 0n && (b & 0x80) === 0) || (x === -1n && (b & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

/**
 * An opcode with a length operand: the 1-byte form (`shortOp`) when allowed and the length fits,
 * else the 4-byte little-endian form (`longOp`). Lengths here are far below 2^31, so the unsigned
 * write also serves LONG4's signed operand.
 */
function writeSized(w: Writer, length: number, shortOp: number, longOp: number, shortAllowed = true): void {
  if (shortAllowed && length <= 0xff) {
    w.ensure(2);
    w.buf[w.pos++] = shortOp;
    w.buf[w.pos++] = length;
    return;
  }
  w.ensure(5);
  w.buf[w.pos++] = longOp;
  w.buf.writeUInt32LE(length, w.pos);
  w.pos += 4;
}

function writeInt(w: Writer, v: number | bigint): void {
  if (typeof v === 'number') {
    if (v >= 0 && v <= 0xff) {
      w.byte(BININT1);
      w.byte(v);
      return;
    }
    if (v >= 0 && v <= 0xffff) {
      w.ensure(3);
      w.buf[w.pos++] = BININT2;
      w.buf.writeUInt16LE(v, w.pos);
      w.pos += 2;
      return;
    }
    if (v >= -0x80000000 && v <= 0x7fffffff) {
      w.ensure(5);
      w.buf[w.pos++] = BININT;
      w.buf.writeInt32LE(v, w.pos);
      w.pos += 4;
      return;
    }
    v = BigInt(v);
  }
  if (v >= -0x80000000n && v <= 0x7fffffffn) {
    writeInt(w, Number(v));
    return;
  }
  // Ints beyond 32 bits: LONG1 (LONG4 beyond 255 bytes), as Python writes them.
  const b = longBytes(v);
  writeSized(w, b.length, LONG1, LONG4);
  w.bytes(b);
}

function writeValue(w: Writer, v: PickleValue, proto: number, depth: number, maxDepth: number): void {
  if (depth > maxDepth) throw new PickleEncodeError(`value nested deeper than ${maxDepth}`);
  if (v === null) return w.byte(NONE);
  switch (typeof v) {
    case 'boolean':
      return w.byte(v ? NEWTRUE : NEWFALSE);
    case 'bigint':
      return writeInt(w, v);
    case 'number':
      // Safe integers are ints; integral doubles beyond 2^53 (1e300) are floats, as in Python.
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return writeInt(w, v);
      // BINFLOAT is big-endian, unlike every integer operand (docs/daemon-protocol.md §6.4).
      w.ensure(9);
      w.buf[w.pos++] = BINFLOAT;
      w.buf.writeDoubleBE(v, w.pos);
      w.pos += 8;
      return;
    case 'string': {
      const b = enc.encode(v);
      // SHORT_BINUNICODE is a protocol 4 opcode; protocol 2 output uses BINUNICODE throughout.
      writeSized(w, b.length, SHORT_BINUNICODE, BINUNICODE, proto >= 4);
      return w.bytes(b);
    }
    case 'object':
      break;
    default:
      throw new PickleEncodeError(`cannot pickle a ${typeof v}`);
  }
  if (v instanceof Uint8Array) {
    // SHORT_BINBYTES / BINBYTES are protocol 3 opcodes; Python's unpickler accepts them under any
    // declared protocol (docs/daemon-protocol.md §6.1).
    writeSized(w, v.length, SHORT_BINBYTES, BINBYTES);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    w.byte(EMPTY_LIST);
    if (v.length === 0) return;
    w.byte(MARK);
    for (const item of v) writeValue(w, item, proto, depth + 1, maxDepth);
    return w.byte(APPENDS);
  }
  const proto_ = Object.getPrototypeOf(v) as unknown;
  if (proto_ !== Object.prototype && proto_ !== null) {
    throw new PickleEncodeError('only plain objects can be pickled as dicts');
  }
  w.byte(EMPTY_DICT);
  // Keys whose value is `undefined` are left out, as JSON.stringify does, so optional params can be spread.
  const entries = Object.entries(v as Record<string, PickleValue | undefined>).filter(
    ([, x]) => x !== undefined,
  );
  if (entries.length === 0) return;
  w.byte(MARK);
  for (const [k, x] of entries) {
    writeValue(w, k, proto, depth + 1, maxDepth);
    writeValue(w, x!, proto, depth + 1, maxDepth);
  }
  w.byte(SETITEMS);
}

/**
 * Pickle `value` (protocol 4 by default, or 2). Safe integers and bigints use BININT1/BININT2/BININT,
 * then LONG1; every other number (fractions, `-0`, integral doubles beyond 2^53) uses BINFLOAT.
 */
export function encodePickle(value: PickleValue, opts: EncodeOptions = {}): Buffer {
  const proto = opts.protocol ?? 4;
  if (proto !== 2 && proto !== 4) throw new PickleEncodeError('protocol must be 2 or 4');
  const w = new Writer();
  w.byte(PROTO);
  w.byte(proto);
  writeValue(w, value, proto, 0, opts.maxDepth ?? 256);
  w.byte(STOP);
  return w.buf.subarray(0, w.pos);
}

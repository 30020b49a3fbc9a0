/**
 * A SAFE pickle decoder for daemon replies (docs/daemon-protocol.md §6.2–§6.4).
 *
 * It interprets only data opcodes (protocols 2–5) and never imports, calls or instantiates anything:
 * every opcode of §6.3 and every unknown byte stops it with `DaemonError('refused-opcode')`. All
 * lengths are checked against the bytes actually present before anything is allocated, and nesting
 * depth, memo size and item count are bounded. Decoding is synchronous and linear in the input.
 */
import { Buffer } from 'node:buffer';

import { DaemonError } from './errors.js';
import type { PickleValue } from './pickle-encode.js';

export type { PickleValue };

/** Bounds of {@link decodePickle}. */
export interface DecodeOptions {
  /** Deepest container nesting accepted (default 256). */
  maxDepth?: number;
  /** Highest memo index + 1 accepted (default 1,048,576). */
  maxMemo?: number;
  /** Most values created, and most items the result expands to through shared references (default 1,000,000). */
  maxItems?: number;
  /** Longest LONG1/LONG4 operand in bytes (default 1024). */
  maxLongBytes?: number;
}

export const DEFAULT_MAX_DEPTH = 256;
const DEFAULT_MAX_MEMO = 1 << 20;
const DEFAULT_MAX_ITEMS = 1_000_000;
const DEFAULT_MAX_LONG_BYTES = 1024;

/** pickletools names, for messages. Everything not in this table is an unknown byte. */
// prettier-ignore
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1',
  0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** The pickletools name of an opcode byte, or `0xNN` for an unknown byte. */
export function opcodeName(byte: number): string {
  return OPCODE_NAMES[byte] ?? `0x${byte.toString(16).padStart(2, '0')}`;
}

/** Opcodes that import, call or construct objects (docs/daemon-protocol.md §6.3): refused, never interpreted. */
// prettier-ignore
const DANGEROUS = new Set([0x63, 0x93, 0x69, 0x6f, 0x81, 0x92, 0x52, 0x62, 0x50, 0x51, 0x82, 0x83, 0x84, 0x97, 0x98]);

function garbage(msg: string): DaemonError {
  return new DaemonError('garbage', `not a valid reply pickle: ${msg}`);
}

function refused(op: number, pos: number): DaemonError {
  const name = opcodeName(op);
  const known = OPCODE_NAMES[op] !== undefined;
  const why = DANGEROUS.has(op)
    ? 'it imports or constructs objects, which a supervisor never needs (docs/daemon-protocol.md §6.3)'
    : known
      ? 'it is outside the supported data-only subset (docs/daemon-protocol.md §6.2)'
      : 'unknown opcode';
  return new DaemonError('refused-opcode', `refused pickle opcode ${name} at offset ${pos}: ${why}`, {
    opcode: name,
  });
}

/** Decode `bytes` (one pickle, protocol 2–5) into plain values. Throws only {@link DaemonError}s. */
export function decodePickle(bytes: Uint8Array, opts: DecodeOptions = {}): PickleValue {
  try {
    return decodeInner(bytes, opts);
  } catch (e) {
    if (e instanceof DaemonError) throw e;
    // Defensive: a bug in the decoder must still surface as a typed error, never crash a caller.
    throw new DaemonError('garbage', `not a valid reply pickle: internal decoder error: ${String(e)}`, {
      cause: e,
    });
  }
}

type Dict = { [key: string]: PickleValue };

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Python dict keys in replies are str; scalar keys of other types are stringified like `str()`. */
function keyOf(k: PickleValue, pos: number): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (k === null) return 'None';
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  throw garbage(`dict key before offset ${pos} is a container`);
}

/** Assign without ever invoking the `__proto__` setter: that key becomes an ordinary own property. */
function setProp(d: Dict, key: string, v: PickleValue): void {
  if (key === '__proto__')
    Object.defineProperty(d, key, { value: v, writable: true, enumerable: true, configurable: true });
  else d[key] = v;
}

/** Node's native UTF-8 slice (undocumented but long-standing); `toString` is the documented fallback. */
type Utf8Sliceable = Buffer & { utf8Slice?: (start: number, end: number) => string };
const nativeUtf8Slice = typeof (Buffer.prototype as Utf8Sliceable).utf8Slice === 'function';

/**
 * Decode UTF-8 text. Not fatal: Python pickles lone surrogates (e.g. from undecodable Windows file
 * names) with `surrogatepass`; they become U+FFFD instead of failing the whole reply.
 */
function readText(b: Utf8Sliceable, p: number, n: number): string {
  return nativeUtf8Slice ? b.utf8Slice!(p, p + n) : b.toString('utf8', p, p + n);
}

function decodeInner(input: Uint8Array, opts: DecodeOptions): PickleValue {
  // A Buffer view on the same memory (no copy), for the native text decoding.
  const b = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxMemo = opts.maxMemo ?? DEFAULT_MAX_MEMO;
  const maxItems = opts.maxItems ?? DEFAULT_MAX_ITEMS;
  const maxLongBytes = opts.maxLongBytes ?? DEFAULT_MAX_LONG_BYTES;
  const end = b.length;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);

  if (end < 2 || b[0] !== 0x80) {
    throw garbage(
      end === 0 ? 'empty body' : `first byte 0x${b[0]!.toString(16).padStart(2, '0')} is not PROTO (0x80)`,
    );
  }
  const proto = b[1]!;
  if (proto < 2 || proto > 5) throw garbage(`pickle protocol ${proto} is not supported (2–5)`);

  const stack: PickleValue[] = [];
  /** Stack lengths at each MARK; `base` is the innermost one (0 outside any mark). */
  const marks: number[] = [];
  let base = 0;
  const memo: PickleValue[] = [];
  let memoCount = 0;
  let items = 0;
  /** A memoised container was pushed again: the result may share subtrees or even be cyclic. */
  let shared = false;
  let p = 2;

  const need = (n: number, op: number): void => {
    if (n > end - p) {
      throw garbage(`${opcodeName(op)} at offset ${p - 1} needs ${n} bytes, only ${end - p} remain`);
    }
  };
  const pop = (op: number): PickleValue => {
    if (stack.length <= base) throw garbage(`${opcodeName(op)} at offset ${p - 1} on an empty stack`);
    return stack.pop()!;
  };
  const top = (op: number): PickleValue => {
    if (stack.length <= base) throw garbage(`${opcodeName(op)} at offset ${p - 1} on an empty stack`);
    return stack[stack.length - 1]!;
  };
  const push = (v: PickleValue): void => {
    if (++items > maxItems) throw new DaemonError('oversized', `pickle holds more than ${maxItems} values`);
    stack.push(v);
  };
  const popMark = (op: number): number => {
    if (marks.length === 0) throw garbage(`${opcodeName(op)} at offset ${p - 1} without a MARK`);
    const k = marks.pop()!;
    base = marks.length > 0 ? marks[marks.length - 1]! : 0;
    return k;
  };
  const memoPut = (idx: number, op: number): void => {
    if (idx >= maxMemo) throw new DaemonError('oversized', `memo index ${idx} exceeds the limit ${maxMemo}`);
    if (memo[idx] === undefined) memoCount++;
    memo[idx] = top(op);
  };
  const memoGet = (idx: number, op: number): void => {
    const v = idx < memo.length ? memo[idx] : undefined;
    if (v === undefined)
      throw garbage(`${opcodeName(op)} at offset ${p - 1}: memo index ${idx} was never stored`);
    if (typeof v === 'object' && v !== null) shared = true;
    push(v);
  };
  const readLong = (n: number, op: number): number | bigint => {
    if (n > maxLongBytes)
      throw new DaemonError('oversized', `${opcodeName(op)} integer of ${n} bytes exceeds ${maxLongBytes}`);
    need(n, op);
    let v: number | bigint;
    if (n === 0) {
      v = 0;
    } else if (n <= 6) {
      let x = 0;
      for (let i = n - 1; i >= 0; i--) x = x * 256 + b[p + i]!;
      if (b[p + n - 1]! & 0x80) x -= 2 ** (8 * n);
      v = x;
    } else {
      let hex = '';
      for (let i = n - 1; i >= 0; i--) hex += b[p + i]!.toString(16).padStart(2, '0');
      let big = BigInt('0x' + hex);
      if (b[p + n - 1]! & 0x80) big -= 1n << BigInt(8 * n);
      // Fits a double exactly → number; beyond 2^53 → bigint, never silently rounded (docs/daemon-protocol.md §6.4).
      v =
        big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    p += n;
    return v;
  };
  const u32 = (op: number): number => {
    need(4, op);
    const v = dv.getUint32(p, true);
    p += 4;
    return v;
  };
  const u64 = (op: number): number => {
    need(8, op);
    const lo = dv.getUint32(p, true);
    const hi = dv.getUint32(p + 4, true);
    p += 8;
    // Anything ≥ 2^53 can never fit in the remaining bytes anyway.
    return hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x100000000 + lo;
  };
  const text = (n: number, op: number): void => {
    need(n, op);
    push(readText(b, p, n));
    p += n;
  };
  const bytes = (n: number, op: number): void => {
    need(n, op);
    push(new Uint8Array(b.subarray(p, p + n)));
    p += n;
  };

  while (p < end) {
    const op = b[p++]!;
    switch (op) {
      case 0x2e: {
        // STOP. Trailing bytes after STOP are ignored, as `pickle.loads` ignores them.
        if (marks.length > 0 || stack.length !== 1) {
          throw garbage(`STOP at offset ${p - 1} with ${stack.length} values and ${marks.length} open marks`);
        }
        const result = stack[0]!;
        checkShape(result, shared, maxDepth, maxItems);
        return result;
      }
      case 0x80: // PROTO
        need(1, op);
        if (b[p]! < 2 || b[p]! > 5) throw garbage(`pickle protocol ${b[p]!} is not supported (2–5)`);
        p += 1;
        break;
      case 0x95: // FRAME: an 8-byte little-endian length hint; skipped (docs/daemon-protocol.md §6.2).
        need(8, op);
        p += 8;
        break;
      case 0x28: // MARK
        marks.push(stack.length);
        base = stack.length;
        break;
      case 0x7d: // EMPTY_DICT
        push({});
        break;
      case 0x5d: // EMPTY_LIST
      case 0x8f: // EMPTY_SET → array
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE → array
        push([]);
        break;
      case 0x85: {
        // TUPLE1
        const a = pop(op);
        push([a]);
        break;
      }
      case 0x86: {
        // TUPLE2
        const y = pop(op);
        const x = pop(op);
        push([x, y]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const z = pop(op);
        const y = pop(op);
        const x = pop(op);
        push([x, y, z]);
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
      case 0x91: {
        // FROZENSET → array
        const k = popMark(op);
        const arr = stack.splice(k);
        push(arr);
        break;
      }
      case 0x64: {
        // DICT
        const k = popMark(op);
        const arr = stack.splice(k);
        if (arr.length % 2 !== 0) throw garbage(`DICT at offset ${p - 1} with an odd number of items`);
        const d: Dict = {};
        for (let i = 0; i < arr.length; i += 2) setProp(d, keyOf(arr[i]!, p), arr[i + 1]!);
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop(op);
        const k = pop(op);
        const d = top(op);
        if (!isDict(d)) throw garbage(`SETITEM at offset ${p - 1} into a non-dict`);
        setProp(d, keyOf(k, p), v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const k = popMark(op);
        const d = k > 0 ? stack[k - 1] : undefined;
        if (k - 1 < base || !isDict(d)) throw garbage(`SETITEMS at offset ${p - 1} into a non-dict`);
        const n = stack.length - k;
        if (n % 2 !== 0) throw garbage(`SETITEMS at offset ${p - 1} with an odd number of items`);
        for (let i = k; i < stack.length; i += 2) setProp(d, keyOf(stack[i]!, p), stack[i + 1]!);
        stack.length = k;
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop(op);
        const l = top(op);
        if (!Array.isArray(l)) throw garbage(`APPEND at offset ${p - 1} into a non-list`);
        l.push(v);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS (sets are arrays)
        const k = popMark(op);
        const l = k > 0 ? stack[k - 1] : undefined;
        if (k - 1 < base || !Array.isArray(l))
          throw garbage(`${opcodeName(op)} at offset ${p - 1} into a non-list`);
        for (let i = k; i < stack.length; i++) l.push(stack[i]!);
        stack.length = k;
        break;
      }
      case 0x30: // POP
        pop(op);
        break;
      case 0x31: {
        // POP_MARK
        const k = popMark(op);
        stack.length = k;
        break;
      }
      case 0x8c: // SHORT_BINUNICODE
        need(1, op);
        p += 1;
        text(b[p - 1]!, op);
        break;
      case 0x58: // BINUNICODE
        text(u32(op), op);
        break;
      case 0x8d: // BINUNICODE8
        text(u64(op), op);
        break;
      case 0x43: // SHORT_BINBYTES → Uint8Array (harmless, docs/daemon-protocol.md §6.3)
        need(1, op);
        p += 1;
        bytes(b[p - 1]!, op);
        break;
      case 0x42: // BINBYTES
        bytes(u32(op), op);
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        bytes(u64(op), op);
        break;
      case 0x94: // MEMOIZE: store at the next index, `len(memo)` as Python does.
        memoPut(memoCount, op);
        break;
      case 0x71: // BINPUT
        need(1, op);
        p += 1;
        memoPut(b[p - 1]!, op);
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32(op), op);
        break;
      case 0x68: // BINGET
        need(1, op);
        p += 1;
        memoGet(b[p - 1]!, op);
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32(op), op);
        break;
      case 0x4b: // BININT1
        need(1, op);
        push(b[p]!);
        p += 1;
        break;
      case 0x4d: // BININT2
        need(2, op);
        push(dv.getUint16(p, true));
        p += 2;
        break;
      case 0x4a: // BININT
        need(4, op);
        push(dv.getInt32(p, true));
        p += 4;
        break;
      case 0x8a: {
        // LONG1
        need(1, op);
        p += 1;
        push(readLong(b[p - 1]!, op));
        break;
      }
      case 0x8b: {
        // LONG4: a signed 4-byte length; negative is malformed.
        need(4, op);
        const n = dv.getInt32(p, true);
        p += 4;
        if (n < 0) throw garbage(`LONG4 at offset ${p - 5} with a negative length`);
        push(readLong(n, op));
        break;
      }
      case 0x47: // BINFLOAT: big-endian, unlike every integer operand (docs/daemon-protocol.md §6.4).
        need(8, op);
        push(dv.getFloat64(p, false));
        p += 8;
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      default:
        throw refused(op, p - 1);
    }
  }
  throw garbage('truncated: no STOP opcode');
}

/**
 * Bound the result's nesting depth (and, when memoised containers were reused, reject cycles and
 * bound the expanded size, so a consumer walking it can neither loop nor blow up exponentially).
 */
function checkShape(root: PickleValue, shared: boolean, maxDepth: number, maxItems: number): void {
  if (typeof root !== 'object' || root === null || root instanceof Uint8Array) return;
  if (!shared) {
    // A tree: an iterative walk with depths.
    const nodes: object[] = [root];
    const depths: number[] = [1];
    while (nodes.length > 0) {
      const n = nodes.pop()!;
      const d = depths.pop()!;
      if (d > maxDepth) throw new DaemonError('oversized', `reply nested deeper than ${maxDepth} levels`);
      if (Array.isArray(n)) {
        for (let i = 0; i < n.length; i++) {
          const c: unknown = n[i];
          if (typeof c === 'object' && c !== null && !(c instanceof Uint8Array)) {
            nodes.push(c);
            depths.push(d + 1);
          }
        }
      } else {
        for (const k in n) {
          const c: unknown = (n as Dict)[k];
          if (typeof c === 'object' && c !== null && !(c instanceof Uint8Array)) {
            nodes.push(c);
            depths.push(d + 1);
          }
        }
      }
    }
    return;
  }
  // A graph: post-order DFS with memoised (height, expanded size); a node met on its own path is a cycle.
  const done = new Map<object, { h: number; size: number }>();
  const onPath = new Set<object>();
  const childrenOf = (n: object): unknown[] => (Array.isArray(n) ? n : Object.values(n));
  const frames: { node: object; kids: unknown[]; i: number; h: number; size: number }[] = [];
  const enter = (node: object): void => {
    if (frames.length >= maxDepth)
      throw new DaemonError('oversized', `reply nested deeper than ${maxDepth} levels`);
    onPath.add(node);
    frames.push({ node, kids: childrenOf(node), i: 0, h: 1, size: 1 });
  };
  enter(root);
  while (frames.length > 0) {
    const f = frames[frames.length - 1]!;
    if (f.i < f.kids.length) {
      const c = f.kids[f.i++];
      if (typeof c !== 'object' || c === null || c instanceof Uint8Array) {
        f.size += 1;
      } else if (onPath.has(c)) {
        throw garbage('the reply contains a reference cycle');
      } else {
        const known = done.get(c);
        if (known) {
          f.h = Math.max(f.h, known.h + 1);
          f.size += known.size;
        } else {
          enter(c);
        }
      }
      if (f.size > maxItems)
        throw new DaemonError('oversized', `reply expands to more than ${maxItems} values`);
      continue;
    }
    frames.pop();
    onPath.delete(f.node);
    done.set(f.node, { h: f.h, size: f.size });
    const parent = frames[frames.length - 1];
    if (parent) {
      parent.h = Math.max(parent.h, f.h + 1);
      parent.size += f.size;
      if (parent.size > maxItems)
        throw new DaemonError('oversized', `reply expands to more than ${maxItems} values`);
    }
  }
}

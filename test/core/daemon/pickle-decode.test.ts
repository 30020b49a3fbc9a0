import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { DaemonError } from '../../../src/core/daemon/errors.js';
import { decodePickle } from '../../../src/core/daemon/pickle-decode.js';

import { revive, runPickleHelper, tag } from './helpers.js';

interface Case {
  name: string;
  protocol: number;
  hex: string;
  expected: unknown;
}

const cases = JSON.parse(runPickleHelper(['cases'])) as Case[];

function decodeHex(hex: string): unknown {
  return decodePickle(Buffer.from(hex, 'hex'));
}

function expectCode(fn: () => unknown, code: DaemonError['code']): DaemonError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DaemonError);
    expect((e as DaemonError).code, (e as Error).message).toBe(code);
    return e as DaemonError;
  }
  throw new Error(`expected a DaemonError ${code}, but decoding succeeded`);
}

/** Hand-built pickle: PROTO 4 + body bytes. */
function p4(...body: number[]): Buffer {
  return Buffer.from([0x80, 0x04, ...body]);
}

describe('decodePickle against real Python pickles', () => {
  it('has reference cases for protocols 2, 3, 4 and 5', () => {
    expect(new Set(cases.map((c) => c.protocol))).toEqual(new Set([2, 3, 4, 5]));
    expect(cases.length).toBeGreaterThan(40);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s decodes to what Python sees', (_name, c) => {
    const value = decodeHex(c.hex);
    const expected = revive(c.expected);
    if (c.name.startsWith('sets/')) {
      // Sets have no order: compare sorted.
      const v = value as Record<string, unknown[]>;
      const e = expected as Record<string, unknown[]>;
      for (const k of Object.keys(e)) expect([...v[k]!].sort()).toEqual([...e[k]!].sort());
      return;
    }
    expect(tag(value)).toEqual(tag(expected));
  });

  it('returns bigint beyond 2^53 and number within, with exact values', () => {
    const c = cases.find((x) => x.name === 'bigints/p4')!;
    const v = decodeHex(c.hex) as unknown[];
    expect(v[0]).toBe(2n ** 53n);
    expect(v[1]).toBe(2n ** 53n + 1n);
    expect(v[2]).toBe(-(2n ** 53n) - 1n);
    expect(v[3]).toBe(2n ** 63n);
    expect(v[4]).toBe(-(2n ** 63n));
    expect(v[6]).toBe(-(10n ** 30n));
    expect(v[7]).toBe(2 ** 40);
    expect(v[8]).toBe(-(2 ** 40));
    expect(v[9]).toBe(Number.MAX_SAFE_INTEGER);
    expect(v[10]).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('decodes BINFLOAT big-endian, including -0.0 and subnormals', () => {
    const v = decodeHex(cases.find((x) => x.name === 'floats/p4')!.hex) as number[];
    expect(Object.is(v[1], -0)).toBe(true);
    expect(v[4]).toBe(3.141592653589793);
    expect(v[7]).toBe(5e-324);
  });

  it('resolves memo back-references (BINGET) to the same strings and shares containers', () => {
    const memoHex = cases.find((x) => x.name === 'memo/p4')!.hex;
    // Python writes the repeated string once and then BINGET (0x68) it.
    expect(memoHex).toMatch(/68/);
    expect(decodeHex(memoHex)).toEqual([
      'repeated-string',
      'repeated-string',
      'repeated-string',
      { a: 'repeated-string', b: 'repeated-string' },
    ]);
    const shared = decodeHex(cases.find((x) => x.name === 'shared_container/p2')!.hex) as Record<
      string,
      unknown
    >;
    expect(shared.first).toBe(shared.second);
  });

  it('never lets "__proto__" pollute a prototype', () => {
    const v = decodeHex(cases.find((x) => x.name === 'proto_key/p4')!.hex) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ polluted: true });
    expect((v as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('decodePickle refuses code-executing pickles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'luna-pickle-'));
  const marker = join(dir, 'pwned');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const evil = JSON.parse(runPickleHelper(['evil', marker])) as { p2: string; p4: string };

  it('refuses os.system via GLOBAL + REDUCE (protocol 2), and nothing runs', () => {
    const e = expectCode(() => decodeHex(evil.p2), 'refused-opcode');
    expect(e.opcode).toBe('GLOBAL');
    expect(e.message).toMatch(/GLOBAL/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses os.system via STACK_GLOBAL + REDUCE (protocol 4), and nothing runs', () => {
    const e = expectCode(() => decodeHex(evil.p4), 'refused-opcode');
    expect(e.opcode).toBe('STACK_GLOBAL');
    expect(existsSync(marker)).toBe(false);
  });

  it('the Python side would really have run it (the test can fail)', () => {
    runPickleHelper(['loads', evil.p4]);
    expect(existsSync(marker)).toBe(true);
  });

  const refusedOps: [string, number][] = [
    ['GLOBAL', 0x63],
    ['STACK_GLOBAL', 0x93],
    ['REDUCE', 0x52],
    ['BUILD', 0x62],
    ['INST', 0x69],
    ['OBJ', 0x6f],
    ['NEWOBJ', 0x81],
    ['NEWOBJ_EX', 0x92],
    ['PERSID', 0x50],
    ['BINPERSID', 0x51],
    ['EXT1', 0x82],
    ['EXT2', 0x83],
    ['EXT4', 0x84],
    ['NEXT_BUFFER', 0x97],
    ['READONLY_BUFFER', 0x98],
  ];
  it.each(refusedOps)('refuses %s by name', (name, byte) => {
    const e = expectCode(() => decodePickle(p4(0x4e, byte, 0x2e)), 'refused-opcode');
    expect(e.opcode).toBe(name);
  });

  it.each([0x00, 0x01, 0x7f, 0x99, 0xff, 0x41])('refuses the unknown or unsupported byte %i', (byte) => {
    const e = expectCode(() => decodePickle(p4(byte, 0x2e)), 'refused-opcode');
    expect(e.message).toMatch(/unknown opcode/);
  });

  it.each([
    ['INT', 0x49],
    ['DUP', 0x32],
    ['BINSTRING', 0x54],
    ['GET', 0x67],
  ] as [string, number][])('refuses %s: known, but outside the data-only subset', (name, byte) => {
    const e = expectCode(() => decodePickle(p4(0x4e, byte, 0x2e)), 'refused-opcode');
    expect(e.opcode).toBe(name);
    expect(e.message).toMatch(/outside the supported/);
  });
});

describe('decodePickle bounds and malformed input', () => {
  it('rejects non-pickles as garbage', () => {
    expectCode(() => decodePickle(Buffer.from('{"cmd": "ping"}')), 'garbage');
    expectCode(() => decodePickle(Buffer.alloc(0)), 'garbage');
    expectCode(() => decodePickle(Buffer.from([0x80, 0x09, 0x4e, 0x2e])), 'garbage');
  });

  it('rejects truncation and missing STOP as garbage', () => {
    expectCode(() => decodePickle(p4(0x4e)), 'garbage');
    expectCode(() => decodePickle(p4(0x47, 0, 0)), 'garbage');
    expectCode(() => decodePickle(p4(0x2e)), 'garbage');
    expectCode(() => decodePickle(p4(0x4e, 0x4e, 0x2e)), 'garbage');
  });

  it('length operands larger than the remaining bytes are garbage, fast, without allocating', () => {
    const t0 = performance.now();
    // BINUNICODE 2^31 - 1, BINBYTES 4 GiB - 1, BINUNICODE8 2^62, BINBYTES8 2^63, LONG1 255 with 2 bytes.
    expectCode(() => decodePickle(p4(0x58, 0xff, 0xff, 0xff, 0x7f, 0x41, 0x2e)), 'garbage');
    expectCode(() => decodePickle(p4(0x42, 0xff, 0xff, 0xff, 0xff, 0x41)), 'garbage');
    expectCode(() => decodePickle(p4(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x41)), 'garbage');
    expectCode(() => decodePickle(p4(0x8e, 0, 0, 0, 0, 0, 0, 0, 0x80)), 'garbage');
    expectCode(() => decodePickle(p4(0x8a, 0xff, 1, 2)), 'garbage');
    expectCode(() => decodePickle(p4(0x8b, 0xff, 0xff, 0xff, 0x7f, 1)), 'oversized');
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('bounds nesting depth (default 256, configurable)', () => {
    const deep = (n: number): Buffer =>
      p4(...Array<number>(n).fill(0x5d), ...Array<number>(n - 1).fill(0x61), 0x2e);
    expect(decodePickle(deep(256))).toBeDefined();
    expectCode(() => decodePickle(deep(257)), 'oversized');
    expectCode(() => decodePickle(deep(11), { maxDepth: 10 }), 'oversized');
    // TUPLE1 chains nest without growing the stack.
    const tuples = p4(0x4e, ...Array<number>(300).fill(0x85), 0x2e);
    expectCode(() => decodePickle(tuples), 'oversized');
  });

  it('rejects reference cycles and exponential expansion through shared containers', () => {
    // L = []; L.append(L)
    expectCode(() => decodePickle(p4(0x5d, 0x94, 0x68, 0, 0x61, 0x2e)), 'garbage');
    // x0 = [None]; x(i+1) = [xi, xi] … 40 levels: 2^40 leaves if expanded.
    const body: number[] = [0x4e, 0x85, 0x94, 0x30];
    for (let i = 0; i < 40; i++) body.push(0x68, i, 0x68, i, 0x86, 0x94, 0x30);
    body.push(0x68, 40, 0x2e);
    expectCode(() => decodePickle(p4(...body)), 'oversized');
  });

  it('bounds the memo and the item count', () => {
    expectCode(() => decodePickle(p4(0x4e, 0x72, 0xff, 0xff, 0xff, 0x7f, 0x2e)), 'oversized');
    expectCode(() => decodePickle(p4(0x4e, 0x72, 0x10, 0, 0, 0, 0x2e), { maxMemo: 16 }), 'oversized');
    expectCode(
      () => decodePickle(p4(0x5d, 0x28, 0x4e, 0x4e, 0x4e, 0x65, 0x2e), { maxItems: 3 }),
      'oversized',
    );
    expectCode(() => decodePickle(p4(0x68, 0x05, 0x2e)), 'garbage');
  });

  it('rejects structural misuse as garbage', () => {
    expectCode(() => decodePickle(p4(0x5d, 0x4e, 0x4e, 0x73, 0x2e)), 'garbage'); // SETITEM into a list
    expectCode(() => decodePickle(p4(0x7d, 0x4e, 0x61, 0x2e)), 'garbage'); // APPEND into a dict
    expectCode(() => decodePickle(p4(0x65, 0x2e)), 'garbage'); // APPENDS without MARK
    expectCode(() => decodePickle(p4(0x7d, 0x28, 0x4e, 0x75, 0x2e)), 'garbage'); // odd SETITEMS
    expectCode(() => decodePickle(p4(0x7d, 0x5d, 0x4e, 0x73, 0x2e)), 'garbage'); // list as key
    expectCode(() => decodePickle(p4(0x28, 0x85, 0x2e)), 'garbage'); // pops below the MARK
  });

  it('skips FRAME and ignores trailing bytes after STOP, like pickle.loads', () => {
    expect(decodePickle(p4(0x95, 1, 0, 0, 0, 0, 0, 0, 0, 0x4e, 0x2e, 0xde, 0xad))).toBeNull();
  });
});

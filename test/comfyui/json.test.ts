import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { JsonParseError, parseJsonLossless, stringifyJson } from '../../src/core/comfyui/json.js';

describe('lossless JSON', () => {
  it('keeps integers beyond 2^53 exact, as bigint, and writes them back verbatim', () => {
    const text =
      '{"seed":18446744073709551615,"neg":-9223372036854775808,"small":42,"f":1.5,"s":"12345678901234567890"}';
    const v = parseJsonLossless(text);
    expect(v).toEqual({
      seed: 18446744073709551615n,
      neg: -9223372036854775808n,
      small: 42,
      f: 1.5,
      s: '12345678901234567890',
    });
    expect(stringifyJson(v)).toBe(text);
  });
  it('agrees with JSON.parse on safe documents (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        const text = JSON.stringify(j);
        fc.pre(!/\d{16,}/.test(text)); // 16+ digit integers may legitimately become bigint
        // force the slow path too by prefixing a 16-digit string-free number
        const slow = parseJsonLossless(`[${text},1234567890123456]`) as unknown[];
        expect(slow[0]).toEqual(JSON.parse(text));
        expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });
  it('reports line and column of errors', () => {
    try {
      parseJsonLossless('{\n "a": 12345678901234567890,\n "b": tru\n}');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(JsonParseError);
      expect((e as JsonParseError).line).toBe(3);
    }
  });
});

/**
 * Lossless JSON for ComfyUI payloads (docs/comfyui.md, "Workflow conversion" P15): seeds and object_info
 * `max` values reach 2^64−1, which `JSON.parse` silently rounds. Integer literals outside the safe range are
 * kept as `bigint`; everything else parses exactly like `JSON.parse`. No dependency.
 */

/** A JSON value whose unsafe integers are `bigint`. */
export type JsonValue =
  null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (lossless). */
export type JsonObject = { [key: string]: JsonValue };

/** Invalid JSON text, with the 0-based offset and the 1-based line/column of the problem. */
export class JsonParseError extends Error {
  override readonly name = 'JsonParseError';
  readonly code = 'JSON_PARSE' as const;
  constructor(
    readonly detail: string,
    readonly position: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${detail} at line ${line}, column ${column} (position ${position})`);
  }
}

// 16+ consecutive digits is the cheapest over-approximation of "may exceed 2^53" (9007199254740992 has 16).
const MAYBE_BIG = /\d{16,}/;

/** Parse JSON text, keeping integers beyond ±(2^53−1) as `bigint`. Throws {@link JsonParseError}. */
export function parseJsonLossless(text: string): JsonValue {
  if (!MAYBE_BIG.test(text)) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // Fall through: the slow parser produces a precise line/column message.
    }
  }
  return new Parser(text).parseDocument();
}

/** True when `v` is a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const BIG_MARK = '\u0000BIG:';
const BIG_RE = /"\\u0000BIG:(-?\d+)\\u0000"/g;

/** `JSON.stringify` that writes `bigint` values as bare integer literals (no precision loss). */
export function stringifyJson(value: unknown, indent?: number): string {
  const out = JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? `${BIG_MARK}${v.toString()}\u0000` : v),
    indent,
  );
  return out === undefined ? 'null' : out.replace(BIG_RE, '$1');
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): JsonValue {
    this.ws();
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.fail('Unexpected content after the JSON value');
    return v;
  }

  private fail(detail: string): never {
    const before = this.s.slice(0, this.i);
    const line = before.split('\n').length;
    const column = this.i - before.lastIndexOf('\n');
    throw new JsonParseError(detail, this.i, line, column);
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  private value(): JsonValue {
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    if (this.s.startsWith('true', this.i)) return ((this.i += 4), true);
    if (this.s.startsWith('false', this.i)) return ((this.i += 5), false);
    if (this.s.startsWith('null', this.i)) return ((this.i += 4), null);
    this.fail(c === undefined ? 'Unexpected end of JSON' : `Unexpected character ${JSON.stringify(c)}`);
  }

  private object(): JsonObject {
    const out: JsonObject = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') return (this.i++, out);
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('Expected a property name in double quotes');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("Expected ':' after a property name");
      this.i++;
      this.ws();
      // defineProperty so a "__proto__" key stays an own data property, as with JSON.parse.
      Object.defineProperty(out, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.ws();
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === '}') return (this.i++, out);
      else this.fail("Expected ',' or '}' in an object");
    }
  }

  private array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') return (this.i++, out);
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ',') this.i++;
      else if (c === ']') return (this.i++, out);
      else this.fail("Expected ',' or ']' in an array");
    }
  }

  private string(): string {
    const start = this.i;
    this.i++;
    let hasEscape = false;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('Unterminated string');
      if (c === 34) break;
      if (c === 92) {
        hasEscape = true;
        this.i += 2;
        continue;
      }
      if (c < 32) this.fail('Control character in a string');
      this.i++;
    }
    this.i++;
    const raw = this.s.slice(start, this.i);
    if (!hasEscape) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      this.i = start;
      this.fail('Invalid escape in a string');
    }
  }

  private number(): number | bigint {
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail('Invalid number');
    this.i += m[0].length;
    const isInt = m[1] === undefined && m[2] === undefined;
    const n = Number(m[0]);
    if (isInt && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }
}

/** Text of a JSON value for messages: strings as-is, objects as JSON, null/undefined as ''. */
export function jsonText(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return stringifyJson(v);
  return String(v);
}

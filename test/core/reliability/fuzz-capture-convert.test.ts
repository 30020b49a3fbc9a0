/**
 * Property-based fuzzing (fast-check) of two parsers that take input from outside:
 * (b) the whole log capture path (line splitting, ANSI stripping, level parsing, record grouping)
 *     on random byte streams split at random points;
 * (c) the ComfyUI workflow converter on random and mutated UI workflows.
 * (a), the pickle decoder, is fuzzed in test/core/daemon/pickle-fuzz.test.ts.
 */
import { EventEmitter } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ComfyWorkflowError } from '../../../src/core/comfyui/errors.js';
import { convertWorkflow } from '../../../src/core/comfyui/convert.js';
import type { JsonObject, JsonValue } from '../../../src/core/comfyui/json.js';
import type { ObjectInfoMap } from '../../../src/core/comfyui/client.js';
import { createLogCapture } from '../../../src/core/logs/log-capture.js';
import { truncationMarker } from '../../../src/core/logs/line-splitter.js';
import { LogStore } from '../../../src/core/logs/log-store.js';

// ---- (b) the log capture path -------------------------------------------------------------------

/** Escape sequences and control characters a hostile or careless daemon may print. */
const ESCAPES = [
  '\x1b[31;1m',
  '\x1b[0m',
  '\x1b[2K\x1b[1G',
  '\x1b]0;title\x07',
  '\x1b]8;;http://example.invalid\x1b\\link\x1b]8;;\x1b\\',
  '\x1bP1$r0m\x1b\\',
  '\x1b(B',
  '\x1b7',
  '\x1b',
  '\x1b[',
  '\x1b]unterminated',
  '\u009b2J',
  '\u009d52;c;aGVsbG8=\u009c', // C1 OSC 52 (clipboard write) terminated by C1 ST
  '\u0090dcs\u009c',
];

const controlChar = fc
  .oneof(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0x7f, max: 0x9f }))
  .filter((c) => c !== 10 && c !== 13)
  .map((c) => Buffer.from(String.fromCharCode(c), 'utf8'));

const fragment: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.constantFrom(...ESCAPES).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: controlChar },
  // Invalid UTF-8: stray continuation bytes, truncated sequences, overlongs, bytes never valid.
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        [0xff],
        [0xfe],
        [0x80],
        [0xc3],
        [0xe2, 0x82],
        [0xf0, 0x9f, 0x98],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
      )
      .map((b) => Buffer.from(b)),
  },
  { weight: 1, arbitrary: fc.constant(Buffer.from('\t')) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => Buffer.from('x'.repeat(n))) },
);

/** How a line starts: a daemon-formatted record, a raw print, an indented continuation, a traceback. */
const lineKind = fc.constantFrom('direct', 'raw', 'indented', 'traceback', 'exception');

function lineHead(kind: string, marker: string): string {
  switch (kind) {
    case 'direct':
      return `2026-11-21 05:41:00,123 - LunaDaemon - WARNING - ${marker}`;
    case 'indented':
      return `    ${marker}`;
    case 'traceback':
      return `Traceback (most recent call last): ${marker}`;
    case 'exception':
      return `RuntimeError: ${marker}`;
    default:
      return marker;
  }
}

const streamCase = fc.record({
  lines: fc.array(
    fc.tuple(lineKind, fc.array(fragment, { maxLength: 8 }), fc.constantFrom('\n', '\r\n', '\r')),
    { minLength: 1, maxLength: 40 },
  ),
  finalTerminator: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  maxLineLength: fc.integer({ min: 80, max: 400 }),
});

/** A unique ASCII token per input line, at its start (escapes never precede it on its line). */
const markerOf = (i: number) => `<#${i}#>`;

/** Feed `chunks` through a real capture as one stderr stream; returns the published entries. */
function capture(chunks: Buffer[], maxLineLength: number) {
  const store = new LogStore({ capacity: 100_000 });
  const cap = createLogCapture({ store, maxLineLength, recordIdleMs: 60_000 });
  // The capture needs only on/once/off and the 'data'/'end' events: a bare emitter, synchronously.
  const stream = new EventEmitter() as unknown as Readable;
  cap.attach(stream, 'stderr');
  for (const c of chunks) stream.emit('data', c);
  stream.emit('end');
  cap.dispose();
  return store.since(0, 1_000_000).entries;
}

describe('fuzz: the log capture path', () => {
  it('random bytes (ANSI, controls, invalid UTF-8, CR/LF/CRLF) split anywhere: never throws, every line once and in order, no control characters, line cap respected', () => {
    fc.assert(
      fc.property(streamCase, ({ lines, finalTerminator, cuts, maxLineLength }) => {
        const parts: Buffer[] = [];
        lines.forEach(([kind, fragments, terminator], i) => {
          parts.push(Buffer.from(lineHead(kind, markerOf(i))), ...fragments);
          if (i < lines.length - 1 || finalTerminator) parts.push(Buffer.from(terminator));
        });
        const bytes = Buffer.concat(parts);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(last, p));
          last = p;
        }

        const entries = capture(chunks, maxLineLength);

        const texts = entries.map((e) => e.text);
        // No escape or control character survives, except TAB and the NEWLINE joining a record's lines.
        for (const t of texts) {
          // eslint-disable-next-line no-control-regex
          const bad = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/.exec(t);
          if (bad)
            throw new Error(
              `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} in ${JSON.stringify(t)}`,
            );
        }
        // Every line of every entry respects the cap (plus the truncation marker).
        const capWithMarker = maxLineLength + truncationMarker(10 ** 9).length;
        for (const t of texts)
          for (const l of t.split('\n')) expect(l.length).toBeLessThanOrEqual(capWithMarker);
        // Every input line is in exactly one entry (its own, or as a continuation), in input order.
        const all = texts.join('\n');
        const found = [...all.matchAll(/<#(\d+)#>/g)].map((m) => Number(m[1]));
        expect(found).toEqual(lines.map((_, i) => i));
        for (const e of entries) expect(e.source).toBe('stderr');
      }),
      { numRuns: 2000 },
    );
  });
});

// ---- (c) the workflow converter -----------------------------------------------------------------

const FIXTURES = fileURLToPath(new URL('../../fixtures/comfyui/', import.meta.url));
const OBJECT_INFO = JSON.parse(readFileSync(`${FIXTURES}object_info.json`, 'utf8')) as ObjectInfoMap;
/** The converter fixtures whose expected outcome is a prompt (those expecting an error are left out). */
const SEED_WORKFLOWS = readdirSync(`${FIXTURES}convert`)
  .filter((f) => f.endsWith('.workflow.json'))
  .filter((f) => {
    const expected = JSON.parse(
      readFileSync(`${FIXTURES}convert/${f.replace('.workflow.json', '.api.json')}`, 'utf8'),
    ) as JsonObject;
    return !('error' in expected);
  })
  .map((f) => JSON.parse(readFileSync(`${FIXTURES}convert/${f}`, 'utf8')) as JsonObject);
const NODE_TYPES = Object.keys(OBJECT_INFO);

/** A JSON value of any shape (for replacing parts of a workflow with nonsense). */
const anyJson: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -3, max: 40 }),
    // parseJsonLossless keeps integers beyond 2^53 as bigint.
    fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(
      '',
      'KSampler',
      'Reroute',
      'PrimitiveNode',
      'Note',
      '0',
      '1',
      'MODEL',
      '*',
      '__proto__',
      'constructor',
    ),
    fc.string({ maxLength: 8 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(
      fc.constantFrom(
        'id',
        'type',
        'inputs',
        'outputs',
        'links',
        'link',
        'widgets_values',
        'mode',
        'nodes',
        'name',
        'slot_index',
        'definitions',
        'subgraphs',
        '__proto__',
      ),
      tie('v'),
      {
        maxKeys: 5,
        // Workflows come from JSON.parse (or the lossless parser), which never makes null-prototype objects.
        noNullPrototype: true,
      },
    ),
  ),
})).v;

/** Set `value` at a random path inside `root` (a structural mutation), returning a new value. */
function mutateAt(root: JsonValue, path: number[], value: JsonValue): JsonValue {
  if (path.length === 0 || root === null || typeof root !== 'object') return value;
  const [step, ...rest] = path;
  if (Array.isArray(root)) {
    if (root.length === 0) return [value];
    const i = step! % root.length;
    const copy = root.slice();
    copy[i] = mutateAt(copy[i]!, rest, value);
    return copy;
  }
  const keys = Object.keys(root);
  if (keys.length === 0) return { x: value };
  const k = keys[step! % keys.length]!;
  return { ...root, [k]: mutateAt(root[k]!, rest, value) };
}

/** A small random UI workflow: nodes of known (and unknown) types wired by random links. */
const randomWorkflow: fc.Arbitrary<JsonValue> = fc
  .record({
    nodes: fc.array(
      fc.record({
        id: fc.integer({ min: 1, max: 12 }),
        type: fc.oneof(
          fc.constantFrom(...NODE_TYPES),
          fc.constantFrom('Reroute', 'PrimitiveNode', 'Note', 'Unknown Node'),
        ),
        mode: fc.constantFrom(0, 0, 0, 2, 4),
        widgets_values: fc.array(anyJson, { maxLength: 6 }),
        inputs: fc.array(
          fc.record({
            name: fc.constantFrom(
              'model',
              'clip',
              'vae',
              'samples',
              'positive',
              'negative',
              'latent_image',
              'seed',
              'text',
              'images',
            ),
            type: fc.constantFrom(
              'MODEL',
              'CLIP',
              'VAE',
              'LATENT',
              'CONDITIONING',
              'INT',
              'STRING',
              'IMAGE',
              '*',
            ),
            link: fc.option(fc.integer({ min: 1, max: 20 })),
          }),
          { maxLength: 5 },
        ),
        outputs: fc.array(
          fc.record({
            name: fc.string({ maxLength: 6 }),
            type: fc.constantFrom('MODEL', 'CLIP', 'VAE', 'LATENT', 'CONDITIONING', 'INT', 'IMAGE', '*'),
            links: fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 3 }),
          }),
          { maxLength: 3 },
        ),
      }),
      { maxLength: 10 },
    ),
    links: fc.array(
      fc.tuple(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom('MODEL', 'CLIP', 'INT', '*'),
      ),
      { maxLength: 20 },
    ),
  })
  .map((w): JsonValue => ({ last_node_id: 12, last_link_id: 20, version: 0.4, ...w }));

const mutatedSeed: fc.Arbitrary<JsonValue> = fc
  .tuple(
    fc.constantFrom(...SEED_WORKFLOWS),
    fc.array(fc.tuple(fc.array(fc.nat({ max: 50 }), { maxLength: 6 }), anyJson), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([seed, edits]) => edits.reduce<JsonValue>((w, [path, value]) => mutateAt(w, path, value), seed));

/** A prompt converted from a UI workflow is consistent: every link input names a node that exists in it. */
function checkResult(prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>): void {
  for (const [id, node] of Object.entries(prompt)) {
    expect(typeof node.class_type, `node ${id} class_type`).toBe('string');
    for (const [name, v] of Object.entries(node.inputs)) {
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number') {
        expect(Object.hasOwn(prompt, v[0]), `node ${id} input ${name} links to missing node ${v[0]}`).toBe(
          true,
        );
      }
    }
  }
}

function convertsSafely(workflow: JsonValue): 'ok' | 'workflow-error' {
  const t0 = performance.now();
  let result: ReturnType<typeof convertWorkflow> | null = null;
  try {
    result = convertWorkflow(workflow, OBJECT_INFO);
  } catch (e) {
    if (!(e instanceof ComfyWorkflowError)) {
      throw new Error(
        `not a ComfyWorkflowError: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`,
      );
    }
  }
  const ms = performance.now() - t0;
  if (ms > 500) throw new Error(`conversion took ${ms.toFixed(0)} ms`);
  if (!result) return 'workflow-error';
  // API prompts are passed through verbatim (ComfyUI validates them); converted UI workflows must be consistent.
  if (result.format === 'ui')
    checkResult(
      result.prompt as unknown as Record<string, { class_type: string; inputs: Record<string, unknown> }>,
    );
  return 'ok';
}

describe('fuzz: the workflow converter', () => {
  it('the seed workflows convert, with consistent links', () => {
    for (const w of SEED_WORKFLOWS) expect(convertsSafely(w)).toBe('ok');
  });

  it('random UI workflows: a consistent prompt or a ComfyWorkflowError, never another exception or a hang', () => {
    const outcomes = { ok: 0, 'workflow-error': 0 };
    fc.assert(
      fc.property(randomWorkflow, (w) => {
        outcomes[convertsSafely(w)]++;
      }),
      { numRuns: 2000 },
    );
    // Both outcomes occur: the generator is neither all-valid nor all-rejected.
    expect(outcomes.ok).toBeGreaterThan(50);
    expect(outcomes['workflow-error']).toBeGreaterThan(50);
  });

  it('mutated real workflows (parts replaced by nonsense): same guarantee', () => {
    fc.assert(
      fc.property(mutatedSeed, (w) => {
        convertsSafely(w);
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary JSON: same guarantee', () => {
    fc.assert(
      fc.property(anyJson, (w) => {
        convertsSafely(w);
      }),
      { numRuns: 1000 },
    );
  });
});

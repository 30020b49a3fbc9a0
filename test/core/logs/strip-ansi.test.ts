import { describe, expect, it } from 'vitest';

import { stripAnsi } from '../../../src/core/logs/strip-ansi.js';

describe('stripAnsi', () => {
  it.each([
    ['SGR colours', '\x1b[1;31mERROR\x1b[0m done', 'ERROR done'],
    ['cursor movement and erase (tqdm)', '\x1b[A\x1b[2K 45%|████▌     |', ' 45%|████▌     |'],
    ['private mode CSI', '\x1b[?25lhidden cursor\x1b[?25h', 'hidden cursor'],
    ['8-bit CSI', '\x9b31mred', 'red'],
    ['OSC title with BEL', '\x1b]0;Luna Daemon\x07text', 'text'],
    ['OSC hyperlink with ST', '\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\', 'link'],
    ['unterminated OSC runs to the end', 'a\x1b]0;title', 'a'],
    ['charset selection', '\x1b(Bplain', 'plain'],
    ['two-byte escapes', '\x1b7saved\x1b8', 'saved'],
    ['DCS string', '\x1bPq#0;2;0;0;0\x1b\\after', 'after'],
    ['C0 controls except TAB', 'a\x00b\x07c\x08d\te\x7f', 'abcd\te'],
    ['lone ESC', 'a\x1b', 'a'],
    ['bidi override (Trojan Source)', 'ok \u202Egnp.exe\u202C done', 'ok gnp.exe done'],
    ['bidi embeddings and isolates', '\u202Aa\u202Bb\u202Dc\u2066d\u2067e\u2068f\u2069', 'abcdef'],
    ['neighbours of the bidi ranges kept', 'a\u2029b\u202Fc\u2065d\u206Ae', 'a\u2029b\u202Fc\u2065d\u206Ae'],
    ['clean text untouched', 'Luna Daemon Ready! ✓ é', 'Luna Daemon Ready! ✓ é'],
  ])('%s', (_name, input, expected) => {
    expect(stripAnsi(input)).toBe(expected);
  });

  it('returns the same string object for clean input (no copy)', () => {
    const s = 'x'.repeat(100);
    expect(stripAnsi(s)).toBe(s);
  });
});

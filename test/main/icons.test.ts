// Decodes the committed icon files for real (chunks, zlib inflate, scanline unfiltering) and checks
// the colours, so a broken generator or a swapped file cannot pass unnoticed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

const ICONS = fileURLToPath(new URL('../../assets/icons', import.meta.url));

interface Image {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel. */
  pixel(x: number, y: number): [number, number, number, number];
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** A minimal PNG decoder: 8-bit RGBA (colour type 6) or RGB (2), non-interlaced, all five filters. */
function decodePng(buf: Buffer): Image {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let off = 8;
  let width = 0;
  let height = 0;
  let colourType = -1;
  const idat: Buffer[] = [];
  let sawEnd = false;
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8], 'bit depth').toBe(8);
      colourType = data[9]!;
      expect(data[12], 'interlace').toBe(0);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') sawEnd = true;
    off += 12 + len;
  }
  expect(sawEnd).toBe(true);
  expect([2, 6]).toContain(colourType);
  const bpp = colourType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  expect(raw.length).toBe(height * (stride + 1));
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= bpp ? out[y * stride + x - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp]! : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (pred === undefined) throw new Error(`bad filter ${filter}`);
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return {
    width,
    height,
    pixel(x, y) {
      const i = (y * width + x) * bpp;
      return [out[i]!, out[i + 1]!, out[i + 2]!, bpp === 4 ? out[i + 3]! : 255];
    },
  };
}

const load = (name: string) => decodePng(readFileSync(join(ICONS, name)));

/** Colour families: which channel dominates, and roughly how. */
const families: Record<string, (r: number, g: number, b: number) => boolean> = {
  gray: (r, g, b) => Math.max(r, g, b) - Math.min(r, g, b) < 24 && r > 100 && r < 190,
  yellow: (r, g, b) => r > 200 && g > 160 && b < 120,
  green: (r, g, b) => g > 140 && r < 90 && b < 130,
  red: (r, g, b) => r > 200 && g < 120 && b < 120,
};

const variants: [suffix: string, size: number][] = [
  ['.png', 16],
  ['@2x.png', 32],
  ['-32.png', 32],
  ['-32@2x.png', 64],
];

describe('tray icon PNGs', () => {
  for (const colour of Object.keys(families)) {
    for (const [suffix, size] of variants) {
      it(`tray-${colour}${suffix} is ${size}px, ${colour} in the centre, transparent in the corner`, () => {
        const img = load(`tray-${colour}${suffix}`);
        expect([img.width, img.height]).toEqual([size, size]);
        const [r, g, b, a] = img.pixel(size >> 1, size >> 1);
        expect(a).toBe(255);
        expect(families[colour]!(r, g, b), `centre rgb(${r},${g},${b})`).toBe(true);
        // No other family matches: the four icons really differ.
        for (const [other, test] of Object.entries(families))
          if (other !== colour) expect(test(r, g, b), other).toBe(false);
        expect(img.pixel(0, 0)[3]).toBe(0);
        expect(img.pixel(size - 1, size - 1)[3]).toBe(0);
      });
    }

    it(`tray-${colour}Template is black + alpha`, () => {
      for (const [name, size] of [
        [`tray-${colour}Template.png`, 16],
        [`tray-${colour}Template@2x.png`, 32],
      ] as const) {
        const img = load(name);
        expect(img.width).toBe(size);
        let opaque = 0;
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const [r, g, b, a] = img.pixel(x, y);
            if (a > 0) {
              expect([r, g, b]).toEqual([0, 0, 0]);
              opaque++;
            }
          }
        expect(opaque).toBeGreaterThan(0);
        expect(img.pixel(0, 0)[3]).toBe(0);
      }
    });
  }

  it('the template variants differ in shape (colour cannot carry the state there)', () => {
    const masks = Object.keys(families).map((c) => {
      const img = load(`tray-${c}Template@2x.png`);
      let m = '';
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) m += img.pixel(x, y)[3] > 127 ? '1' : '0';
      return m;
    });
    expect(new Set(masks).size).toBe(4);
  });
});

/** Every entry of an ICO file, decoded (each is a PNG). */
function icoEntries(name: string): Image[] {
  const buf = readFileSync(join(ICONS, name));
  expect(buf.readUInt16LE(0)).toBe(0);
  expect(buf.readUInt16LE(2)).toBe(1);
  const out: Image[] = [];
  for (let i = 0; i < buf.readUInt16LE(4); i++) {
    const e = 6 + i * 16;
    const w = buf[e] === 0 ? 256 : buf[e]!;
    const h = buf[e + 1] === 0 ? 256 : buf[e + 1]!;
    expect(buf.readUInt16LE(e + 6)).toBe(32);
    const len = buf.readUInt32LE(e + 8);
    const at = buf.readUInt32LE(e + 12);
    expect(at + len).toBeLessThanOrEqual(buf.length);
    const img = decodePng(buf.subarray(at, at + len));
    expect([img.width, img.height]).toEqual([w, h]);
    out.push(img);
  }
  return out;
}

describe('app icons', () => {
  it('icon.png is 512 px with an opaque centre and transparent corners', () => {
    const img = load('icon.png');
    expect([img.width, img.height]).toEqual([512, 512]);
    expect(img.pixel(256, 256)[3]).toBe(255);
    expect(img.pixel(0, 0)[3]).toBe(0);
  });

  it.each([16, 32, 48, 64, 128, 256, 512])('linux/%ix%i.png has that size', (size) => {
    const img = load(`linux/${size}x${size}.png`);
    expect([img.width, img.height]).toEqual([size, size]);
  });

  it('icon.ico is an ICO container with PNG entries 16/32/48/256 that decode', () => {
    expect(icoEntries('icon.ico').map((e) => e.width)).toEqual([16, 32, 48, 256]);
  });

  it('icon-1024.png (macOS) is 1024 px', () => {
    const img = load('icon-1024.png');
    expect([img.width, img.height]).toEqual([1024, 1024]);
    expect(img.pixel(512, 512)[3]).toBe(255);
  });

  it.each(['gray', 'yellow', 'green', 'red'])('tray-%s.ico (Windows) holds 16/20/24/32 px', (colour) => {
    const entries = icoEntries(`tray-${colour}.ico`);
    expect(entries.map((e) => e.width)).toEqual([16, 20, 24, 32]);
    const big = entries.at(-1)!;
    expect(big.pixel(16, 16)[3]).toBe(255);
    expect(big.pixel(0, 0)[3]).toBe(0);
  });
});

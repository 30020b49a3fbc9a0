#!/usr/bin/env node
// Generates every icon of the app as real PNG files (and one ICO container) with node:zlib only:
// no image dependency. Run `node scripts/make-icons.mjs`; the output in assets/icons/ is committed.
//
// Tray icons: a filled, anti-aliased disc in one of the four status colours (docs/architecture.md §10) with a
// slightly darker rim so it reads on light and dark task bars. macOS template variants are black +
// alpha (macOS recolours them), so they encode the state by SHAPE instead of colour:
//   gray = hollow ring, yellow = half-filled ring, green = filled disc, red = ring with a bar.
// The app icon is a pale crescent moon on a dark-blue disc.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, 'assets', 'icons');

/** The four status colours (RGB). Keep in sync with test/main/icons.test.ts. */
export const TRAY_COLORS = {
  gray: [0x8a, 0x8f, 0x98],
  yellow: [0xf2, 0xc9, 0x4c],
  green: [0x27, 0xae, 0x60],
  red: [0xeb, 0x57, 0x57],
};

/** Supersampling grid per pixel (SS×SS samples) for anti-aliased edges. */
const SS = 4;

/**
 * Render an RGBA image: `shade(x, y)` gets coordinates in [0,1]² and returns `[r,g,b,a]` (a in 0..1)
 * or null for transparent. Samples are averaged with premultiplied alpha.
 */
function render(size, shade) {
  const px = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const c = shade((x + (sx + 0.5) / SS) / size, (y + (sy + 0.5) / SS) / size);
          if (!c) continue;
          r += c[0] * c[3];
          g += c[1] * c[3];
          b += c[2] * c[3];
          a += c[3];
        }
      }
      const i = (y * size + x) * 4;
      if (a > 0) {
        px[i] = Math.round(r / a);
        px[i + 1] = Math.round(g / a);
        px[i + 2] = Math.round(b / a);
      }
      px[i + 3] = Math.round((a / (SS * SS)) * 255);
    }
  }
  return px;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** Encode RGBA pixels as a PNG (8-bit RGBA, filter type 0 on every scanline). */
export function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ICO container whose entries are PNG images (Vista+ format). */
function encodeIco(entries) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(entries.length, 4);
  const dir = Buffer.alloc(16 * entries.length);
  let offset = 6 + dir.length;
  entries.forEach(({ size, png }, i) => {
    const o = i * 16;
    dir[o] = size >= 256 ? 0 : size; // 0 means 256
    dir[o + 1] = size >= 256 ? 0 : size;
    dir[o + 2] = 0; // palette
    dir[o + 3] = 0; // reserved
    dir.writeUInt16LE(1, o + 4); // colour planes
    dir.writeUInt16LE(32, o + 6); // bits per pixel
    dir.writeUInt32LE(png.length, o + 8);
    dir.writeUInt32LE(offset, o + 12);
    offset += png.length;
  });
  return Buffer.concat([header, dir, ...entries.map((e) => e.png)]);
}

const darker = (rgb, f) => rgb.map((c) => Math.round(c * f));

/** Status dot: disc of radius 0.42 with a darker rim of ~1/16 of the size. */
function trayDot(rgb) {
  const rim = darker(rgb, 0.72);
  return (x, y) => {
    const d = Math.hypot(x - 0.5, y - 0.5);
    if (d > 0.42) return null;
    return d > 0.42 - 0.07 ? [...rim, 1] : [...rgb, 1];
  };
}

/** Template (black + alpha) shapes, one per state, for macOS menu bars. */
function trayTemplate(color) {
  const black = [0, 0, 0, 1];
  return (x, y) => {
    const d = Math.hypot(x - 0.5, y - 0.5);
    if (d > 0.42) return null;
    const ring = d > 0.42 - 0.1;
    switch (color) {
      case 'gray':
        return ring ? black : null;
      case 'yellow':
        return ring || x < 0.5 ? black : null;
      case 'green':
        return black;
      case 'red':
        return ring || (Math.abs(x - 0.5) < 0.07 && y > 0.24 && y < 0.76) ? black : null;
      default:
        throw new Error(`unknown colour ${color}`);
    }
  };
}

/** App icon: a pale crescent moon on a dark-blue disc. */
function appIcon() {
  const sky = [0x1f, 0x2a, 0x44];
  const moon = [0xf5, 0xe6, 0xa8];
  return (x, y) => {
    const d = Math.hypot(x - 0.5, y - 0.5);
    if (d > 0.48) return null;
    const inMoon = Math.hypot(x - 0.47, y - 0.5) < 0.3;
    const inShadow = Math.hypot(x - 0.6, y - 0.42) < 0.25;
    return inMoon && !inShadow ? [...moon, 1] : [...sky, 1];
  };
}

function writePng(rel, size, shade) {
  const file = join(outDir, rel);
  mkdirSync(dirname(file), { recursive: true });
  const png = encodePng(size, render(size, shade));
  writeFileSync(file, png);
  return png;
}

for (const [name, rgb] of Object.entries(TRAY_COLORS)) {
  writePng(`tray-${name}.png`, 16, trayDot(rgb));
  writePng(`tray-${name}@2x.png`, 32, trayDot(rgb));
  writePng(`tray-${name}-32.png`, 32, trayDot(rgb));
  writePng(`tray-${name}-32@2x.png`, 64, trayDot(rgb));
  // Electron treats a file whose name ends in "Template" as a template image on macOS.
  writePng(`tray-${name}Template.png`, 16, trayTemplate(name));
  writePng(`tray-${name}Template@2x.png`, 32, trayTemplate(name));
  // Windows: one .ico with the sizes its tray asks for at 100/125/150/200 % scaling (16/20/24/32).
  const trayIco = [16, 20, 24, 32].map((size) => ({
    size,
    png: encodePng(size, render(size, trayDot(rgb))),
  }));
  writeFileSync(join(outDir, `tray-${name}.ico`), encodeIco(trayIco));
}

writePng('icon.png', 512, appIcon());
// macOS wants 1024 px (512 pt @2x) for the .icns electron-builder makes.
writePng('icon-1024.png', 1024, appIcon());
for (const size of [16, 32, 48, 64, 128, 256, 512]) writePng(`linux/${size}x${size}.png`, size, appIcon());
const icoEntries = [16, 32, 48, 256].map((size) => ({ size, png: encodePng(size, render(size, appIcon())) }));
writeFileSync(join(outDir, 'icon.ico'), encodeIco(icoEntries));

console.log(`icons written to ${outDir}`);

/**
 * Property tests: no request target, header or cookie sent before authentication can end the
 * control server or earn more than a 4xx (docs/security.md §1, "pre-auth crash"). Requests are sent
 * as raw bytes over TCP, so targets and headers that node:http's client would refuse still reach
 * the server, on the plain HTTP path and on the WebSocket upgrade path.
 */
import net from 'node:net';

import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ControlServer } from '../../src/core/control/control-server.js';
import { startMinimalServer, type MinimalServer } from './minimal-server.js';

let fixture: MinimalServer;
let server: ControlServer;
let token: string;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  fixture = await startMinimalServer();
  server = fixture.server;
  token = fixture.token;
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await fixture.close();
});

afterEach(() => {
  expect(uncaught, 'an uncaught exception escaped the control server').toEqual([]);
});

/** Send raw request bytes; resolve with the status of the first response line (0: closed without one). */
function rawRequest(bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`));
    }, 5_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 0);
    };
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      // A status line is all we need (a successful upgrade never ends the socket by itself).
      if (got.includes('\r\n')) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => finish());
    socket.write(bytes);
  });
}

/** The public paths (no token needed); anything else must not answer below 400 without the token. */
const PUBLIC = new Set(['/', '/index.html', '/main.js', '/main.js.map', '/styles.css', '/favicon.ico']);

/** Characters that break URL parsing, percent-decoding and cookie splitting (no CR/LF: framing). */
const nasty = fc.constantFrom(
  '/',
  '//',
  '%',
  '%E0%A4%A',
  '%zz',
  '%00',
  ':',
  '99999',
  '?',
  '#',
  '@',
  '\\',
  '..',
  ';',
  '=',
  ' ',
  'evil',
  'api',
  'events',
  'luna_tray_token',
  '\u00e9',
  '\u{1F600}',
  '\u202e',
  '\t',
  '"',
  '[',
  ']',
  'http:',
  'ws:',
  '*',
  '&',
  '+',
);
const text = fc
  .array(fc.oneof(nasty, fc.string({ maxLength: 4 })), { maxLength: 12 })
  .map((a) => a.join('').replace(/[\r\n]/g, ''));
const target = fc.oneof(
  fc.constantFrom(
    '//evil:99999/api/events',
    '//evil:99999/settings',
    'http://evil:99999/api/events',
    '/api/events?x=%E0%A4%A',
    '*',
    '/%',
    '/api/events#frag',
  ),
  text.map((t) => `/${t}`),
  text.map((t) => `//${t}`),
  text.map((t) => `/api/events${t}`),
  text,
);
const cookie = fc.oneof(
  fc.constantFrom('luna_tray_token=%E0%A4%A', 'luna_tray_token=%', 'luna_tray_token', '=;=;', ''),
  text.map((t) => `luna_tray_token=${t}`),
  text,
);

interface Case {
  method: string;
  target: string;
  /** 'ours', 'none' (no Host header) or a literal value. */
  host: string;
  cookie: string | null;
  authorization: string | null;
  origin: string | null;
  extra: [string, string] | null;
  upgrade: boolean;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'OPTIONS', 'DELETE', 'PATCH'),
  target,
  host: fc.oneof(fc.constant('ours'), fc.constant('none'), text),
  cookie: fc.option(cookie),
  authorization: fc.option(
    fc.oneof(
      text.map((t) => `Bearer ${t}`),
      text,
    ),
  ),
  origin: fc.option(fc.oneof(fc.constant('null'), text)),
  extra: fc.option(
    fc.tuple(
      fc.constantFrom('content-length', 'content-type', 'transfer-encoding', 'x-forwarded-for', 'expect'),
      text,
    ),
  ),
  upgrade: fc.boolean(),
});

function encode(c: Case): Buffer {
  const lines = [`${c.method} ${c.target} HTTP/1.1`];
  if (c.host === 'ours') lines.push(`Host: 127.0.0.1:${server.port}`);
  else if (c.host !== 'none') lines.push(`Host: ${c.host}`);
  if (c.cookie !== null) lines.push(`Cookie: ${c.cookie}`);
  if (c.authorization !== null) lines.push(`Authorization: ${c.authorization}`);
  if (c.origin !== null) lines.push(`Origin: ${c.origin}`);
  if (c.extra) lines.push(`${c.extra[0]}: ${c.extra[1]}`);
  if (c.upgrade) {
    lines.push(
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    );
  } else lines.push('Connection: close');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
}

async function stillServes(): Promise<void> {
  const status = await rawRequest(
    Buffer.from(
      `GET /luna/daemon/logs HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    ),
  );
  expect(status, 'an authenticated request after the hostile ones').toBe(200);
}

describe('pre-authentication input never ends the control server', () => {
  it('the two reported crashes: an upgrade to //evil:99999/api/events and a malformed session cookie', async () => {
    const upgrade = (target: string, extra = '') =>
      rawRequest(
        Buffer.from(
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
        ),
      );
    expect(await upgrade('//evil:99999/api/events')).toBe(400);
    expect(await upgrade('/api/events', 'Cookie: luna_tray_token=%E0%A4%A\r\n')).toBe(401);
    const http = (target: string, extra = '') =>
      rawRequest(
        Buffer.from(
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n${extra}\r\n`,
        ),
      );
    expect(await http('//evil:99999/settings')).toBe(400);
    expect(await http('/settings', 'Cookie: luna_tray_token=%E0%A4%A\r\n')).toBe(401);
    await stillServes();
  });

  it('property: any target, Host, Origin, cookie and header, on HTTP and upgrade → a 4xx (or a public page), never a crash or a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const status = await rawRequest(encode(c));
        const what = JSON.stringify(c);
        expect(status, what).toBeGreaterThanOrEqual(200);
        expect(status, what).toBeLessThan(500);
        if (status < 400) {
          // Only a public page may answer without the token (the generator never has the token).
          const path = c.target.split(/[?#]/)[0]!;
          expect(c.upgrade, what).toBe(false);
          expect(PUBLIC.has(path) || path === '/app/identity', what).toBe(true);
        }
        expect(uncaught, what).toEqual([]);
      }),
      { numRuns: 400 },
    );
    await stillServes();
  }, 60_000);
});

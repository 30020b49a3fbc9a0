#!/usr/bin/env node
// The idle benchmark's reference (docs/benchmarks.md, "idle"): the least a Node program must do to
// watch the Luna daemon the way Luna Tray does while idle, and nothing more.
//   - spawns the simulator (`python3 <sim> --port P --ws-port W`);
//   - appends its stdout and stderr to a file (one append-mode stream, chunks as they come);
//   - holds its WebSocket status feed open: a hand-written RFC 6455 client (node:net, no packages)
//     that reads the daemon's status frames, parses their JSON, and sends a masked `{}` text frame
//     (Luna Tray's keep-alive, which gets no reply) every KEEPALIVE_MS, because the daemon drops a
//     client that sends nothing for its 1 s read timeout (docs/daemon-protocol.md §10); reconnects
//     after a close;
//   - sends one protocol `ping` (8-byte length + pickle, docs/daemon-protocol.md §5.1) every 30 s on
//     one kept connection, and reads the reply.
// Usage: node bench/ref/minimal-watcher.mjs <simulator.py> <port> <wsPort> <logFile>
// Prints `ready` on stdout once the feed has delivered its first status; SIGTERM/SIGINT stop the
// simulator and exit.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { connect } from 'node:net';

const [sim, portArg, wsPortArg, logFile] = process.argv.slice(2);
const port = Number(portArg);
const wsPort = Number(wsPortArg);
/** Same cadence as Luna Tray's feed (MONITOR_KEEPALIVE_MS in src/core/daemon/monitor-socket.ts). */
const KEEPALIVE_MS = Number(process.env.REF_KEEPALIVE_MS ?? 600);
const PING_MS = 30_000;

// ---- the daemon and its log file -----------------------------------------------------------------

const log = createWriteStream(logFile, { flags: 'a' });
const child = spawn('python3', [sim, '--port', String(port), '--ws-port', String(wsPort)], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
child.stdout.on('data', (d) => log.write(d));
child.stderr.on('data', (d) => log.write(d));
child.on('exit', () => process.exit(1));

function stop() {
  child.removeAllListeners('exit');
  child.kill('SIGKILL');
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// ---- the WebSocket feed ----------------------------------------------------------------------------

/** A masked client text frame (payloads here are < 126 bytes). */
function textFrame(text) {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length;
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i & 3];
  return frame;
}

let statuses = 0;
let announced = false;

function openFeed() {
  const sock = connect(wsPort, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let keepAlive = null;
  sock.on('connect', () => {
    sock.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${wsPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  sock.on('data', (d) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      upgraded = true;
      buf = buf.subarray(end + 4);
      keepAlive = setInterval(() => sock.write(textFrame('{}')), KEEPALIVE_MS);
    }
    // Unmasked server frames: 2-byte header, 16- or 64-bit extended lengths.
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + len) return;
      if ((buf[0] & 0x0f) === 1) {
        // The daemon writes Infinity as a bare token (docs/daemon-protocol.md §10).
        const msg = JSON.parse(buf.toString('utf8', at, at + len).replace(/\bInfinity\b/g, 'null'));
        if (msg.type === 'status') statuses++;
        if (!announced) {
          announced = true;
          process.stdout.write('ready\n');
        }
      }
      buf = buf.subarray(at + len);
    }
  });
  sock.on('error', () => undefined);
  sock.on('close', () => {
    clearInterval(keepAlive);
    setTimeout(openFeed, 500);
  });
}

// ---- the protocol ping -----------------------------------------------------------------------------

// pickle protocol 2 of {"cmd": "ping"}: PROTO 2, EMPTY_DICT, BINUNICODE "cmd", BINUNICODE "ping", SETITEM, STOP.
const PING_PICKLE = Buffer.from([
  0x80,
  0x02,
  0x7d,
  0x58,
  3,
  0,
  0,
  0,
  ...Buffer.from('cmd'),
  0x58,
  4,
  0,
  0,
  0,
  ...Buffer.from('ping'),
  0x73,
  0x2e,
]);
const PING = Buffer.alloc(8 + PING_PICKLE.length);
PING.writeBigUInt64BE(BigInt(PING_PICKLE.length));
PING_PICKLE.copy(PING, 8);

let channel = null;
let pongs = 0;

function ping() {
  if (!channel) {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8 && buf.length >= 8 + Number(buf.readBigUInt64BE(0))) {
        buf = buf.subarray(8 + Number(buf.readBigUInt64BE(0)));
        pongs++;
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (channel === sock) channel = null;
    });
    channel = sock;
  }
  channel.write(PING);
}

// Start once the daemon says it is ready (its WebSocket port opens just before).
let started = false;
child.stderr.on('data', (d) => {
  if (started || !d.includes('Luna Daemon Ready!')) return;
  started = true;
  openFeed();
  ping();
  setInterval(ping, PING_MS);
});
process.on('SIGUSR2', () => process.stderr.write(`statuses=${statuses} pongs=${pongs}\n`));

/**
 * A persistent request channel to a CURRENT-generation Luna daemon, for requests the supervisor
 * repeats all the time (the health ping).
 *
 * The current daemon serves any number of framed requests on one connection, one after the other,
 * with a thread per connection (docs/daemon-protocol.md §5.1, "Connections are persistent"). Reusing the
 * connection turns a ping into one write and one read, instead of a socket, a connect, a handshake,
 * a close and a new daemon thread each time (bench: idle). The legacy daemon closes after every reply
 * (§5.2): use {@link LunaClient} for it.
 *
 * Every request has a connect timeout and a reply timeout, like {@link exchange}. Any failure
 * (timeout, reset, close, garbage) destroys the connection, so a late reply can never be taken for
 * the answer to the next request; the next request connects again. Requests are serialised.
 */
import net from 'node:net';

import { DaemonError, fromSocketError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameReader, encodeFrame } from './framing.js';
import { DEFAULT_MAX_DEPTH, decodePickle } from './pickle-decode.js';
import { encodePickle, type PickleValue } from './pickle-encode.js';

/** Options of {@link LunaChannel}. */
export interface LunaChannelOptions {
  host: string;
  port: number;
  /** Connect timeout (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Largest reply frame accepted (default 64 MiB). */
  maxFrameBytes?: number;
}

/** The framed `{"cmd": "ping"}` request, encoded once. */
const PING_FRAME = encodeFrame(encodePickle({ cmd: 'ping' }, { protocol: 4 }), 'current');

interface Pending {
  resolve: (v: PickleValue) => void;
  reject: (e: DaemonError) => void;
  timer: NodeJS.Timeout | undefined;
}

/** One reusable connection; see the module comment. */
export class LunaChannel {
  readonly host: string;
  readonly port: number;
  private readonly connectTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private socket: net.Socket | null = null;
  private connected = false;
  private reader: FrameReader | null = null;
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private connectsValue = 0;

  constructor(opts: LunaChannelOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** How many TCP connections this channel has opened (tests, diagnostics). */
  get connects(): number {
    return this.connectsValue;
  }

  /**
   * `ping` round trip; resolves with the latency in ms. Rejects with a {@link DaemonError}:
   * `timeout`, `refused`, `reset`, `closed`, `garbage`, `daemon-error`, or `aborted` after
   * {@link close}.
   */
  async ping(opts: { timeoutMs: number }): Promise<number> {
    const t0 = performance.now();
    const reply = await this.request(PING_FRAME, opts.timeoutMs);
    if (typeof reply !== 'object' || reply === null || Array.isArray(reply) || reply instanceof Uint8Array)
      throw new DaemonError('garbage', 'reply to "ping" is not a dict');
    if (reply.pong !== true) {
      const err = (reply as { error?: unknown }).error;
      throw typeof err === 'string'
        ? new DaemonError('daemon-error', `the daemon rejected "ping": ${err}`)
        : new DaemonError('garbage', 'unexpected reply to "ping": no pong');
    }
    return performance.now() - t0;
  }

  /** Close the connection; later requests reject with `aborted`. Idempotent. */
  close(): void {
    this.closed = true;
    this.fail(new DaemonError('aborted', `the channel to ${this.where} was closed`));
  }

  /** Drop the current connection (if any): the next request opens a fresh one. */
  reconnect(): void {
    if (this.pending) return; // the request in flight decides the connection's fate
    this.destroySocket();
  }

  private get where(): string {
    return `${this.host}:${this.port}`;
  }

  /** Send one frame and read one reply frame; serialised with the other requests. */
  private request(frame: Buffer, timeoutMs: number): Promise<PickleValue> {
    const run = this.queue.then(
      () => this.send(frame, timeoutMs),
      () => this.send(frame, timeoutMs),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private send(frame: Buffer, timeoutMs: number): Promise<PickleValue> {
    if (this.closed) {
      return Promise.reject(new DaemonError('aborted', `the channel to ${this.where} was closed`));
    }
    return new Promise<PickleValue>((resolve, reject) => {
      const p: Pending = { resolve, reject, timer: undefined };
      this.pending = p;
      const sock = this.socket ?? this.open();
      sock.ref();
      const write = (): void => {
        if (this.pending !== p) return;
        p.timer = setTimeout(
          () => this.fail(new DaemonError('timeout', `${this.where} did not reply within ${timeoutMs} ms`)),
          timeoutMs,
        );
        sock.write(frame);
      };
      if (this.connected) write();
      else {
        p.timer = setTimeout(
          () =>
            this.fail(
              new DaemonError(
                'timeout',
                `connecting to ${this.where} timed out after ${this.connectTimeoutMs} ms`,
              ),
            ),
          this.connectTimeoutMs,
        );
        sock.once('connect', () => {
          if (p.timer) clearTimeout(p.timer);
          write();
        });
      }
    });
  }

  private open(): net.Socket {
    const sock = net.connect({ host: this.host, port: this.port });
    this.connectsValue++;
    sock.setNoDelay(true);
    this.socket = sock;
    this.connected = false;
    this.reader = new FrameReader({ generation: 'current', maxFrameBytes: this.maxFrameBytes });
    sock.once('connect', () => {
      if (this.socket === sock) this.connected = true;
    });
    sock.on('data', (chunk: Buffer) => {
      if (this.socket !== sock) return;
      const p = this.pending;
      let frames: Buffer[];
      try {
        frames = this.reader!.push(chunk);
      } catch (e) {
        this.fail(e as DaemonError);
        return;
      }
      if (frames.length === 0) return;
      // A reply nobody waits for, or more than one: the stream cannot be trusted any more.
      if (!p || frames.length > 1 || this.reader!.midFrame) {
        this.fail(new DaemonError('garbage', `${this.where} sent an unexpected frame`));
        return;
      }
      let value: PickleValue;
      try {
        value = decodePickle(frames[0]!, { maxDepth: DEFAULT_MAX_DEPTH });
      } catch (e) {
        this.fail(e as DaemonError);
        return;
      }
      this.settle(p);
      p.resolve(value);
    });
    sock.on('error', (e) => this.fail(fromSocketError(e, this.host, this.port, this.connected), sock));
    sock.on('close', () =>
      this.fail(
        new DaemonError('closed', `${this.where} closed the connection before a complete reply`),
        sock,
      ),
    );
    return sock;
  }

  /** The request `p` is answered: keep the connection, let it idle without holding the process. */
  private settle(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    this.pending = null;
    this.socket?.unref();
  }

  /** Reject the pending request (if any) with `err` and drop the connection. */
  private fail(err: DaemonError, from?: net.Socket): void {
    if (from && from !== this.socket) return; // an event of a connection already dropped
    this.destroySocket();
    const p = this.pending;
    if (!p) return;
    this.settle(p);
    p.reject(err);
  }

  private destroySocket(): void {
    const sock = this.socket;
    this.socket = null;
    this.connected = false;
    this.reader = null;
    sock?.destroy();
  }
}

import { describe, expect, it, vi } from 'vitest';

import { createHttpBridge, wsUrlOf, type SocketLike } from '../../src/renderer/bridge/http-bridge.js';
import { entry } from './fake-api.js';

class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  open() {
    this.onopen?.({} as Event);
  }
  send(data: unknown) {
    this.onmessage?.({ data: typeof data === 'string' ? data : JSON.stringify(data) } as MessageEvent);
  }
  drop() {
    this.onerror?.({} as Event);
    this.onclose?.({ code: 1006 } as CloseEvent);
  }
  close() {
    this.closed = true;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function setup(
  fetchImpl: (url: string, init: RequestInit) => Promise<Response> = async () =>
    json(200, { ok: true, value: { message: 'ok' } }),
) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const fetch = vi.fn(fetchImpl);
  const bridge = createHttpBridge({
    baseUrl: 'http://127.0.0.1:19299/',
    fetch: fetch as unknown as typeof globalThis.fetch,
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => void ((h as { cleared: boolean }).cleared = true),
  });
  /** Fire the next pending reconnect timer (not the per-call timeouts, which are cleared). */
  const fireReconnect = () => {
    const t = timers.find((x) => !x.cleared && x.ms <= 5000);
    if (!t) throw new Error('no reconnect timer pending');
    t.cleared = true;
    t.fn();
    return t.ms;
  };
  return { bridge, sockets, timers, fetch, fireReconnect };
}

describe('http bridge: invoke', () => {
  it('POSTs JSON to the contract route with the session cookie', async () => {
    const { bridge, fetch } = setup();
    await expect(bridge.invoke('daemon:start', {})).resolves.toEqual({ ok: true, value: { message: 'ok' } });
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('http://127.0.0.1:19299/api/daemon/start');
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('same-origin');
    expect(JSON.parse(init.body as string)).toEqual({});
    expect((init.headers as Record<string, string>)['content-type']).toBe('application/json');
    await bridge.invoke('logs:get-since', { seq: 42 });
    expect(fetch.mock.calls[1]![0]).toBe('http://127.0.0.1:19299/api/logs/get-since');
    expect(JSON.parse(fetch.mock.calls[1]![1].body as string)).toEqual({ seq: 42 });
  });

  it('carries the daemon id in the body of a daemon action', async () => {
    const { bridge, fetch } = setup();
    await bridge.invoke('daemon:restart', { daemon: 'vae' });
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('http://127.0.0.1:19299/api/daemon/restart');
    expect(JSON.parse(init.body as string)).toEqual({ daemon: 'vae' });
  });

  it('passes handled errors and 400 invalid-input bodies through', async () => {
    const issues = [{ key: 'daemon.port', message: 'must be a port number 1–65535' }];
    const { bridge } = setup(async (url) =>
      url.endsWith('/settings/update')
        ? json(400, { ok: false, error: { code: 'invalid-input', message: 'bad settings', issues } })
        : json(200, { ok: false, error: { code: 'not-running', message: 'the daemon is not running' } }),
    );
    await expect(bridge.invoke('daemon:unload', {})).resolves.toEqual({
      ok: false,
      error: { code: 'not-running', message: 'the daemon is not running' },
    });
    await expect(bridge.invoke('settings:update', { patch: { daemon: { port: 70000 } } })).resolves.toEqual({
      ok: false,
      error: { code: 'invalid-input', message: 'bad settings', issues },
    });
  });

  it('maps 401/403 to unauthorized/forbidden with the luna-tray open hint', async () => {
    const { bridge } = setup(async (url) =>
      url.includes('daemon') ? new Response('no', { status: 401 }) : new Response('', { status: 403 }),
    );
    const a = await bridge.invoke('daemon:get-snapshot', {});
    expect(a).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(!a.ok && a.error.message).toMatch(/luna-tray open/);
    const b = await bridge.invoke('settings:get', {});
    expect(b).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(!b.ok && b.error.message).toMatch(/luna-tray open/);
  });

  it('network failure → unavailable; malformed or off-contract replies → errors, never exceptions', async () => {
    let mode = 0;
    const { bridge } = setup(async () => {
      if (mode === 0) throw new TypeError('Failed to fetch');
      if (mode === 1) return new Response('<html>', { status: 502 });
      if (mode === 2) return json(200, { ok: true, value: { nope: 1 } });
      return json(200, { ok: false, error: { code: 'brand-new-code', message: 'from a newer server' } });
    });
    expect(await bridge.invoke('daemon:start', {})).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    mode = 1;
    expect(await bridge.invoke('daemon:start', {})).toMatchObject({ ok: false, error: { code: 'internal' } });
    mode = 2;
    expect(await bridge.invoke('daemon:start', {})).toMatchObject({ ok: false, error: { code: 'internal' } });
    mode = 3;
    expect(await bridge.invoke('daemon:start', {})).toEqual({
      ok: false,
      error: { code: 'internal', message: 'from a newer server' },
    });
  });
});

describe('http bridge: events', () => {
  it('opens ws://<host>/api/events and delivers contract-valid messages by type', () => {
    const { bridge, sockets } = setup();
    expect(sockets[0]!.url).toBe('ws://127.0.0.1:19299/api/events');
    expect(wsUrlOf('https://x:1')).toBe('wss://x:1/api/events');
    const got: unknown[] = [];
    const dispose = bridge.on('logs:appended', (p) => got.push(p));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    sockets[0]!.open();
    sockets[0]!.send({ type: 'logs:appended', data: { entries: [entry(1)] } });
    sockets[0]!.send({ type: 'logs:appended', data: { entries: [{ seq: 'x' }] } }); // off-contract: dropped
    sockets[0]!.send('not json');
    sockets[0]!.send({ type: 'unknown:thing', data: {} });
    sockets[0]!.send({ type: 'app:navigate', data: { view: 'logs' } }); // nobody listens
    expect(got).toEqual([{ entries: [entry(1)] }]);
    dispose();
    sockets[0]!.send({ type: 'logs:appended', data: { entries: [entry(2)] } });
    expect(got).toHaveLength(1);
    warn.mockRestore();
  });

  it('reports connection changes and reconnects with backoff 250 ms → 5 s, reset after an open', () => {
    const { bridge, sockets, fireReconnect } = setup();
    const states: boolean[] = [];
    bridge.onConnection((c) => states.push(c));
    sockets[0]!.open();
    sockets[0]!.drop();
    expect(states).toEqual([true, false]);
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      delays.push(fireReconnect());
      sockets.at(-1)!.drop();
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect(states).toEqual([true, false]); // no repeated "false" while still down
    fireReconnect();
    sockets.at(-1)!.open();
    expect(states).toEqual([true, false, true]);
    sockets.at(-1)!.drop();
    expect(fireReconnect()).toBe(250);
  });

  it('dispose closes the socket and stops reconnecting', () => {
    const { bridge, sockets, timers } = setup();
    sockets[0]!.open();
    bridge.dispose();
    expect(sockets[0]!.closed).toBe(true);
    sockets[0]!.drop();
    expect(timers.filter((t) => !t.cleared && t.ms <= 5000)).toHaveLength(0);
  });
});

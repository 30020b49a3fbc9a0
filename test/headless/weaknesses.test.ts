/**
 * The red team's smaller findings against the control server (docs/security.md): the token file
 * is rewritten when deleted or damaged while the server runs; bodies that are not JSON, too deep,
 * or carry prototype keys are refused with a 4xx.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ApiClient } from '../../src/cli/api-client.js';
import { waitFor } from '../helpers/processes.js';
import { startMinimalServer, type MinimalServer } from './minimal-server.js';

const servers: MinimalServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(extra: { tokenCheckIntervalMs?: number } = {}): Promise<MinimalServer> {
  const s = await startMinimalServer(undefined, extra);
  servers.push(s);
  return s;
}

const tokenPath = (s: MinimalServer) => join(s.dataDir, 'control-token');

describe('the token file while the server runs', () => {
  it.each([
    ['deleted', (p: string) => rmSync(p)],
    ['emptied', (p: string) => writeFileSync(p, '')],
    ['garbage', (p: string) => writeFileSync(p, '\u0000\u0001 not a token')],
    ['another well-formed token', (p: string) => writeFileSync(p, `${'Z'.repeat(43)}\n`)],
  ])(
    '%s → the CLI still gets in (the file is written again), never "refused our token"',
    async (_n, damage) => {
      const s = await server();
      damage(tokenPath(s));
      const api = await ApiClient.create(s.server.port, s.dataDir);
      const r = await api.call('GET', '/luna/daemon/logs');
      expect(r.status).toBe(200);
      expect(readFileSync(tokenPath(s), 'utf8').trim()).toBe(s.token);
    },
  );

  it('is repaired without any client asking, within the check interval', async () => {
    const s = await server({ tokenCheckIntervalMs: 50 });
    rmSync(tokenPath(s));
    await waitFor(() => {
      try {
        return readFileSync(tokenPath(s), 'utf8').trim() === s.token;
      } catch {
        return false;
      }
    }, 'the token file to be written again');
  });
});

describe('request bodies', () => {
  const send = (s: MinimalServer, method: string, path: string, type: string | null, body: string) =>
    fetch(`http://127.0.0.1:${s.server.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${s.token}`, ...(type ? { 'content-type': type } : {}) },
      // fetch labels any string body text/plain; "no type" must mean no body at all.
      ...(type === null ? {} : { body }),
    });

  it('text/plain with an EMPTY body → 415 (a cross-site form cannot trigger an action)', async () => {
    const s = await server();
    for (const path of ['/luna/daemon/start', '/app/show', '/api/daemon/start']) {
      expect((await send(s, 'POST', path, 'text/plain', '')).status, path).toBe(415);
      expect((await send(s, 'POST', path, 'application/x-www-form-urlencoded', '')).status, path).toBe(415);
    }
    expect(s.onShow).not.toHaveBeenCalled();
    // No body and no type at all stays accepted (the CLI's bodiless POSTs).
    expect((await send(s, 'POST', '/app/show', null, '')).status).toBe(200);
  });

  it.each([
    ['__proto__', '{"__proto__": {"daemon": {"command": "evil"}}}'],
    ['constructor', '{"constructor": {"prototype": {"x": 1}}}'],
    ['nested __proto__', '{"daemon": {"__proto__": {"command": "evil"}}}'],
    ['in env', '{"daemon": {"env": {"__proto__": "x"}}}'],
  ])('a settings body with a %s key → 400', async (_n, body) => {
    const s = await server();
    const put = await send(s, 'PUT', '/settings', 'application/json', body);
    expect(put.status).toBe(400);
    expect(await put.text()).toMatch(/forbidden key/);
    const api = await send(s, 'POST', '/api/settings/update', 'application/json', `{"patch": ${body}}`);
    expect(api.status).toBe(400);
  });

  it('a body nested 3,000 levels deep → 400, the server keeps answering', async () => {
    const s = await server();
    const deep = `{"daemon": {"env": ${'['.repeat(3000)}${']'.repeat(3000)}}}`;
    const r = await send(s, 'PUT', '/settings', 'application/json', deep);
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/nested deeper/);
    expect((await send(s, 'POST', '/app/show', null, '')).status).toBe(200);
  });
});

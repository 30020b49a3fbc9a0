import type { ServerResponse } from 'node:http';

import type { LunaCore } from '../app/luna-core.types.js';
import { deviceRoute, deviceRouteMethod } from './device-routes.js';
import { HttpError, sendJson } from './http-io.js';
import { lunaStatusJson } from './luna-status.js';

/**
 * The original-compatible daemon routes (README, "The control API"; docs/multi-daemon.md):
 * `/luna/daemon/<verb>` acts on the first daemon with the original shapes, and
 * `/luna/daemons/<id>/<verb>` does the same for one daemon of `settings.daemons`;
 * `GET /luna/daemons` lists them all.
 */

const ACTIONS = ['start', 'stop', 'restart', 'reconnect', 'unload'] as const;
type LunaAction = (typeof ACTIONS)[number];
const CHANNEL_OF = {
  start: 'daemon:start',
  stop: 'daemon:stop',
  restart: 'daemon:restart',
  reconnect: 'daemon:check',
  unload: 'daemon:unload',
} as const;

const ONE_DAEMON = /^\/luna\/daemon\/([a-z-]+)$/;
const PER_DAEMON = /^\/luna\/daemons\/([^/]+)\/([a-z-]+)$/;

/**
 * Answer `path` when it is one of these routes; false when it is not (the caller goes on). `readBody`
 * reads (and checks) the JSON body.
 */
export async function lunaRoute(
  core: LunaCore,
  res: ServerResponse,
  method: string,
  path: string,
  readBody: () => Promise<unknown>,
): Promise<boolean> {
  if (path === '/luna/daemons') {
    if (method !== 'GET') throw new HttpError(405, 'method not allowed: use GET /luna/daemons');
    const r = await core.handlers['daemons:list']({});
    if (!r.ok) throw new HttpError(500, r.error.message);
    sendJson(res, 200, { daemons: r.value.daemons });
    return true;
  }
  let id: string | undefined;
  let verb: string | undefined;
  const per = PER_DAEMON.exec(path);
  if (per) {
    id = decodeURIComponent(per[1]!);
    verb = per[2]!;
    const unknown = await unknownDaemon(core, id);
    if (unknown !== null) {
      // The device routes answer in the original panel's own shape, errors included (docs/devices.md).
      if (deviceRouteMethod(verb)) sendJson(res, 404, { success: false, error: unknown });
      else throw new HttpError(404, unknown);
      return true;
    }
  } else {
    verb = ONE_DAEMON.exec(path)?.[1];
  }
  if (verb === undefined) return false;

  if (verb === 'status') {
    if (method !== 'GET') throw new HttpError(405, `method not allowed: use GET ${path}`);
    const snap = await core.handlers['daemon:get-snapshot'](id === undefined ? {} : { daemon: id });
    if (!snap.ok) throw new HttpError(snap.error.code === 'not-found' ? 404 : 500, snap.error.message);
    const comfy = await core.handlers['comfy:list-instances']({});
    const body = lunaStatusJson(snap.value, comfy.ok ? comfy.value.instances : []);
    sendJson(res, 200, id === undefined ? body : { id, ...body });
    return true;
  }
  const deviceMethod = deviceRouteMethod(verb);
  if (deviceMethod && core.daemonDevices) {
    if (method !== deviceMethod) throw new HttpError(405, `method not allowed: use ${deviceMethod} ${path}`);
    const devices = core.daemonDevices(id);
    const body = method === 'POST' ? await readBody() : undefined;
    if (!devices) {
      // A configured daemon that is disabled has no supervisor, so it cannot be running.
      const error = `The Luna daemon${id === undefined ? '' : ` "${id}"`} is disabled, so it is not running.`;
      sendJson(res, 409, { success: false, error });
      return true;
    }
    const r = await deviceRoute(devices, verb, body);
    sendJson(res, r.status, r.body);
    return true;
  }
  if ((ACTIONS as readonly string[]).includes(verb) && method === 'POST') {
    await readBody();
    await lunaAction(core, res, verb as LunaAction, id);
    return true;
  }
  return false;
}

/** Null for a configured id, else the 404 message naming the ids that do exist (a typo is fixable from it). */
async function unknownDaemon(core: LunaCore, id: string): Promise<string | null> {
  const r = await core.handlers['daemons:list']({});
  const ids = r.ok ? r.value.daemons.map((d) => d.id) : [];
  if (ids.includes(id)) return null;
  return `no daemon "${id}": the configured daemons are ${ids.join(', ') || '(none)'} (GET /luna/daemons lists them)`;
}

/** The original routes' shape `{status, message}`, with honest HTTP codes (docs/architecture.md §9). */
async function lunaAction(
  core: LunaCore,
  res: ServerResponse,
  action: LunaAction,
  id: string | undefined,
): Promise<void> {
  const r = await core.handlers[CHANNEL_OF[action]](id === undefined ? {} : { daemon: id });
  if (r.ok) return sendJson(res, 200, { status: 'ok', message: r.value.message });
  const status =
    r.error.code === 'not-running'
      ? 409
      : r.error.code === 'not-found'
        ? 404
        : r.error.code === 'invalid-input'
          ? 400
          : action === 'reconnect'
            ? 503
            : 500;
  sendJson(res, status, { status: 'error', message: r.error.message });
}

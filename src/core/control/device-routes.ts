import type { DaemonDevices, DeviceCallResult, DeviceComponent } from '../gpu/daemon-devices.js';

/**
 * The original ComfyUI-side device routes (docs/devices.md): `GET /luna/daemon/devices` and
 * `POST /luna/daemon/set-{clip,vae,llm}-device`. The body is the daemon's reply passed through, or
 * `{success: false, error}` as the original builds it; unlike the original, a failure gets an honest
 * HTTP status (409 not running, 400 refused or missing device, 502 no answer).
 */
const SET_ROUTE = /^set-(clip|vae|llm)-device$/;

/**
 * `'GET'` / `'POST'` when `verb` (the last segment of `/luna/daemon/<verb>` or
 * `/luna/daemons/<id>/<verb>`) is one of the device routes, else null.
 */
export function deviceRouteMethod(verb: string): 'GET' | 'POST' | null {
  if (verb === 'devices') return 'GET';
  return SET_ROUTE.test(verb) ? 'POST' : null;
}

function httpStatus(r: DeviceCallResult): number {
  if (r.ok) return 200;
  switch (r.code) {
    case 'not-running':
      return 409;
    case 'invalid-input':
      return 400;
    case 'unavailable':
      return 501;
    default:
      return 502;
  }
}

/** Run a device route for one daemon; `body` is the parsed JSON request body (POST only). */
export async function deviceRoute(
  devices: DaemonDevices,
  verb: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const component = SET_ROUTE.exec(verb)?.[1] as DeviceComponent | undefined;
  const device =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>).device
      : undefined;
  const r = component ? await devices.setDevice(component, device) : await devices.get();
  return { status: httpStatus(r), body: r.reply };
}

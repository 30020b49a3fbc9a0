import { connect } from 'node:net';

import { APP_QUIT_PATH } from '../../shared/contract/http-routes.js';
import { loopbackRequest } from '../../core/util/loopback-http.js';
import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT } from '../context.js';

/** True while something accepts connections on the control port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * True while Luna Tray answers behind a tunnel: the tunnel's local end (ssh) keeps accepting
 * connections after the far side closed, so only an answer counts.
 */
async function answering(api: ApiClient): Promise<boolean> {
  try {
    const res = await loopbackRequest(api.port, 'GET', '/app/identity', { host: api.host, timeoutMs: 2_000 });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * `luna-tray quit`: the running app or `serve` runs its Exit (the daemon is stopped unless
 * app.keepDaemonOnExit). Returns once the control port is closed, which the Exit does last.
 */
export async function quitCommand({ ctx, io }: Invocation): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const { status, body } = await api.call('POST', APP_QUIT_PATH, {});
  if (status !== 202) {
    io.stderr.write(`Luna Tray did not accept quit: ${JSON.stringify(body)}\n`);
    return EXIT.failed;
  }
  const deadline = Date.now() + 60_000;
  while (ctx.tunnel ? await answering(api) : await listening(ctx.port)) {
    if (Date.now() > deadline) {
      io.stderr.write('Luna Tray is still quitting after 60 s (stopping the daemon takes long?).\n');
      return EXIT.failed;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  io.stdout.write('Luna Tray quit.\n');
  return EXIT.ok;
}

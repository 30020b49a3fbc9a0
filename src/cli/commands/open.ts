import { spawn } from 'node:child_process';

import { PANEL_URL_PATH, type PanelUrlReply } from '../../shared/contract/http-routes.js';
import { ApiClient } from '../api-client.js';
import type { Invocation } from '../command-table.js';
import { EXIT } from '../context.js';

/** Open a URL in the desktop's browser, best effort (a GPU box may have no desktop at all). */
export function openInBrowser(url: string): boolean {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/** `luna-tray open [--print]`: a panel URL with a one-time code, opened in the browser or printed. */
export async function openCommand({ ctx, io, values }: Invocation): Promise<number> {
  const api = await ApiClient.create(ctx.port, ctx.dataDir, ctx);
  const { status, body } = await api.call('POST', PANEL_URL_PATH, {});
  const url = status === 200 ? (body as Partial<PanelUrlReply>).url : undefined;
  if (!url) {
    io.stderr.write(`Could not get a panel URL: ${JSON.stringify(body)}\n`);
    return EXIT.failed;
  }
  io.stdout.write(`${url}\n`);
  if (!values.print) openInBrowser(url);
  return EXIT.ok;
}

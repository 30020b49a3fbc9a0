import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

import { ApiClient } from '../api-client.js';
import { EXIT, type Context } from '../context.js';
import type { Io } from '../output.js';

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
export async function openCommand(ctx: Context, io: Io, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { print: { type: 'boolean', default: false } },
    strict: true,
  });
  const api = await ApiClient.create(ctx.port, ctx.dataDir);
  const { status, body } = await api.call('POST', '/app/panel-url', {});
  const url = (body as { url?: string }).url;
  if (status !== 200 || !url) {
    io.stderr.write(`Could not get a panel URL: ${JSON.stringify(body)}\n`);
    return EXIT.failed;
  }
  io.stdout.write(`${url}\n`);
  if (!values.print) openInBrowser(url);
  return EXIT.ok;
}

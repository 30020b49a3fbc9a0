// The CLI's entry: global options, then the command table (command-table.ts) parses, explains and
// dispatches. Only the chosen command's code is loaded.
import { resolve } from 'node:path';

import { DEFAULT_CONTROL_PORT, defaultDataDir } from '../core/paths.js';
import { parseCommandArgs, splitGlobal } from './args.js';
import { findCommand } from './command-table.js';
import { EXIT, UsageError, type Context } from './context.js';
import { paint, type Io } from './output.js';

/** The usage error's hint: the command's help when there is a command. */
function usageHint(command: string | undefined): string {
  return command && command !== 'help' && findCommand(command)
    ? `Run \`luna-tray ${command} --help\` for its usage.`
    : 'Run `luna-tray --help` for usage.';
}

/**
 * `--url`: the control API on a loopback address (an SSH tunnel's local end). Only loopback: the
 * token travels in clear HTTP, so a remote box is reached through `ssh -L`, never directly.
 */
function tunnelOf(url: string, from: string): { host: '127.0.0.1' | '::1'; port: number } {
  const m = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?\/?$/i.exec(url.trim());
  const port = m ? Number(m[2] ?? 80) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(
      `${from} must be http://127.0.0.1:PORT, http://localhost:PORT or http://[::1]:PORT, got "${url}" — reach a remote box through an SSH tunnel (see the README)`,
    );
  }
  return { host: m[1] === '[::1]' ? '::1' : '127.0.0.1', port };
}

function contextOf(g: ReturnType<typeof splitGlobal>, env: NodeJS.ProcessEnv): Context {
  const portNumber = g.port === undefined ? DEFAULT_CONTROL_PORT : Number(g.port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw new UsageError(`--port must be a port number 1–65535, got "${g.port}"`);
  }
  // --port names a local Luna Tray; it wins over LUNA_TRAY_URL from the environment, and so does
  // `serve`, which runs here (an explicit --url with it is a usage error there).
  if (g.url !== undefined && g.port !== undefined) throw new UsageError('give --url or --port, not both');
  const fromEnv = g.port === undefined && g.command !== 'serve' ? env.LUNA_TRAY_URL || undefined : undefined;
  const url = g.url ?? fromEnv;
  const tunnel = url === undefined ? null : tunnelOf(url, g.url !== undefined ? '--url' : 'LUNA_TRAY_URL');
  const tokenFile = g.tokenFile ?? (env.LUNA_TRAY_TOKEN_FILE || undefined);
  // Absolute, so `config path` and every message name the same place wherever the CLI ran.
  return {
    dataDir: resolve(g.dataDir ?? defaultDataDir(env)),
    port: tunnel?.port ?? portNumber,
    portGiven: g.port !== undefined || tunnel !== null,
    ...(tunnel ? { host: tunnel.host, tunnel: true } : {}),
    ...(tokenFile !== undefined ? { tokenFile: resolve(tokenFile) } : {}),
    json: g.json,
  };
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let command: string | undefined;
  try {
    const g = splitGlobal(argv);
    command = g.command;
    if (g.version) {
      io.stdout.write(`${typeof LUNA_TRAY_VERSION === 'string' ? LUNA_TRAY_VERSION : 'dev'}\n`);
      return EXIT.ok;
    }
    if (g.command === undefined) {
      const { globalHelp } = await import('./help.js');
      io.stdout.write(globalHelp(io.env));
      return g.help ? EXIT.ok : EXIT.usage;
    }
    const spec = findCommand(g.command);
    if (!spec) throw (await import('./help.js')).unknownCommand(g.command);
    // -h/--help anywhere: print the usage and never run the command.
    if (g.help) {
      io.stdout.write((await import('./help.js')).commandHelp(spec));
      return EXIT.ok;
    }
    const ctx = contextOf(g, io.env);
    const { values, positionals } = parseCommandArgs(spec, g.rest);
    const handler = await spec.load();
    return await handler({ ctx, io, values, positionals, argv: g.rest });
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`luna-tray: ${e.message}\n${usageHint(command)}\n`);
      return EXIT.usage;
    }
    const { ApiUnavailableError } = await import('./api-client.js');
    if (e instanceof ApiUnavailableError) {
      io.stderr.write(`${paint(io, 'red', '✗')} ${e.message}\n`);
      return EXIT.unavailable;
    }
    io.stderr.write(`luna-tray: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failed;
  }
}

/** Resolves once everything written to `stream` has been handed to the OS (or the reader left). */
export function flushed(stream: NodeJS.WritableStream & { writableLength?: number }): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writableLength) return resolve();
    stream.once('drain', resolve);
    stream.once('error', resolve);
    stream.once('close', resolve);
  });
}

declare const LUNA_TRAY_VERSION: string | undefined;

// Entry point (the bundle's only top-level effect).
if (process.argv[1] && /(?:^|[\\/])(?:index\.js|luna-tray)$/.test(process.argv[1])) {
  const abort = new AbortController();
  const io: Io = {
    stdout: process.stdout,
    stderr: process.stderr,
    color: !!process.stdout.isTTY && !process.env.NO_COLOR,
    signal: abort.signal,
    env: process.env,
  };
  // `serve` installs its own graceful handlers; other long-running commands (logs -f, run) abort.
  let serving = false;
  try {
    serving = splitGlobal(process.argv.slice(2)).command === 'serve';
  } catch {
    // A usage error: main() reports it.
  }
  if (!serving) {
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
  }
  // A reader that went away (`| head`) is not an error worth a stack trace.
  process.stdout.on('error', () => undefined);
  const exit = async (code: number) => {
    // process.exit() drops what a slow pipe has not read yet: wait for both streams first.
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  };
  void main(process.argv.slice(2), io).then(exit, (e: unknown) => {
    process.stderr.write(`luna-tray: ${String(e)}\n`);
    void exit(EXIT.failed);
  });
}

import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import type { OneDaemonSettings } from '../../shared/settings-schema.js';

/** How to start the daemon: what `spawn` needs, plus a human description. */
export interface LaunchProfile {
  ok: true;
  command: string;
  args: string[];
  cwd: string;
  /** The complete environment for the child (the base environment plus our additions). */
  env: Record<string, string>;
  /** One line for logs and the UI, e.g. `ComfyUI: /x/venv/bin/python …/daemon_server.py`. */
  description: string;
  /** Things the user should know (fallbacks taken), possibly empty. */
  notes: string[];
}

/** Why no launch command could be built; `message` says what to do. */
export interface LaunchProfileError {
  ok: false;
  kind: 'not-configured' | 'missing-python' | 'missing-script';
  message: string;
}

/** Result of {@link resolveLaunchProfile}. */
export type LaunchProfileResult = LaunchProfile | LaunchProfileError;

/** Options of {@link resolveLaunchProfile}. */
export interface LaunchProfileOptions {
  /** Luna Tray's data directory: the working directory when nothing better is known. */
  dataDir: string;
  /** The bundled simulator script (`sim/luna_daemon_sim.py`). */
  simulatorPath: string;
  /** Interpreter names (or paths) to try on PATH for the simulator and as a last resort. */
  pythonCandidates?: string[];
  /** Platform rules to apply (default `process.platform`). */
  platform?: NodeJS.Platform;
  /** The base environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** What {@link detectFromComfyUI} found in a ComfyUI folder. */
export interface ComfyUIDetection {
  root: string;
  /** The interpreter: the ComfyUI venv/embedded Python, else one on PATH, else null. */
  python: string | null;
  pythonSource: 'venv' | '.venv' | 'embedded' | 'path' | null;
  /** The relative paths that were checked for a bundled interpreter, for messages. */
  pythonLookedFor: string[];
  /** `custom_nodes/<…Luna-Collection…>`, when found. */
  collectionDir: string | null;
  /** The daemon entry script, when found. */
  script: string | null;
  scriptKind: 'daemon_server' | 'tray_app' | null;
  notes: string[];
}

/** Result of {@link checkPython}. */
export interface PythonCheck {
  ok: boolean;
  /** `sys.version`'s first line, when the interpreter ran. */
  version?: string;
  message: string;
}

const SET_COMFY_PATH =
  'enter it in Settings → ComfyUI → "ComfyUI folder", or run `luna-tray config set comfyui.path /path/to/ComfyUI` (or choose the simulator profile)';

function isWindows(platform: NodeJS.Platform): boolean {
  return platform === 'win32';
}

function isExecutableFile(file: string, platform: NodeJS.Platform): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    // Windows has no execute bit; existence is what counts there.
    if (!isWindows(platform)) accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Case-insensitive environment lookup on Windows (`Path` vs `PATH`), exact elsewhere. */
function envKey(env: Record<string, string>, name: string, platform: NodeJS.Platform): string {
  if (!isWindows(platform)) return name;
  return Object.keys(env).find((k) => k.toUpperCase() === name.toUpperCase()) ?? name;
}

/** Find an executable on PATH (with PATHEXT on Windows); an absolute or relative path is checked as is. */
export function findOnPath(
  name: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): string | null {
  const plain = toPlainEnv(env);
  if (name.includes('/') || (isWindows(platform) && name.includes('\\'))) {
    return isExecutableFile(name, platform) ? path.resolve(name) : null;
  }
  const dirs = (plain[envKey(plain, 'PATH', platform)] ?? '')
    .split(isWindows(platform) ? ';' : ':')
    .filter(Boolean);
  const exts = isWindows(platform)
    ? ['', ...(plain[envKey(plain, 'PATHEXT', platform)] ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean)]
    : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isExecutableFile(candidate, platform)) return candidate;
    }
  }
  return null;
}

function toPlainEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function defaultPythonCandidates(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string[] {
  const fromEnv = env.PYTHON ? [env.PYTHON] : [];
  return [...fromEnv, ...(isWindows(platform) ? ['python', 'python3', 'py'] : ['python3', 'python'])];
}

/** The interpreter locations inside a ComfyUI folder, in order of preference. */
function bundledPythons(platform: NodeJS.Platform): { rel: string; source: 'venv' | '.venv' | 'embedded' }[] {
  return isWindows(platform)
    ? [
        { rel: 'venv/Scripts/python.exe', source: 'venv' },
        { rel: '.venv/Scripts/python.exe', source: '.venv' },
        // The portable build's folder really is spelled "python_embeded".
        { rel: 'python_embeded/python.exe', source: 'embedded' },
      ]
    : [
        { rel: 'venv/bin/python', source: 'venv' },
        { rel: '.venv/bin/python', source: '.venv' },
        { rel: 'python_embeded/python.exe', source: 'embedded' },
      ];
}

/**
 * Inspect a ComfyUI folder: its Python (venv, .venv, the portable build's `python_embeded`, else
 * PATH) and the Luna daemon under `custom_nodes/*Luna-Collection*` (docs/daemon-protocol.md §3.2–3.3).
 */
export function detectFromComfyUI(
  comfyRoot: string,
  options: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv; pythonCandidates?: string[] } = {},
): ComfyUIDetection {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const root = path.resolve(comfyRoot);
  const notes: string[] = [];
  const candidates = bundledPythons(platform);
  let python: string | null = null;
  let pythonSource: ComfyUIDetection['pythonSource'] = null;
  for (const c of candidates) {
    const file = path.join(root, ...c.rel.split('/'));
    if (isExecutableFile(file, platform)) {
      python = file;
      pythonSource = c.source;
      break;
    }
  }
  if (!python) {
    for (const name of options.pythonCandidates ?? defaultPythonCandidates(env, platform)) {
      const found = findOnPath(name, env, platform);
      if (found) {
        python = found;
        pythonSource = 'path';
        notes.push(`No Python in ${root} (venv, .venv, python_embeded): using ${found} from PATH`);
        break;
      }
    }
  }

  let collectionDir: string | null = null;
  let script: string | null = null;
  let scriptKind: ComfyUIDetection['scriptKind'] = null;
  const customNodes = path.join(root, 'custom_nodes');
  let collections: string[] = [];
  try {
    collections = readdirSync(customNodes, { withFileTypes: true })
      .filter(
        (d) => (d.isDirectory() || d.isSymbolicLink()) && d.name.toLowerCase().includes('luna-collection'),
      )
      .map((d) => d.name)
      // The canonical folder name first, then alphabetical, so the choice is stable.
      .sort(
        (a, b) =>
          Number(b === 'ComfyUI-Luna-Collection') - Number(a === 'ComfyUI-Luna-Collection') ||
          a.localeCompare(b),
      );
  } catch {
    // No custom_nodes folder: reported below as a missing daemon.
  }
  // daemon_server.py in any collection folder wins over tray_app.py in any of them (docs/daemon-protocol.md §3.2).
  for (const kind of ['daemon_server', 'tray_app'] as const) {
    const found = collections
      .map((name) => ({
        dir: path.join(customNodes, name),
        file: path.join(customNodes, name, 'luna_daemon', `${kind}.py`),
      }))
      .find((c) => isFileSafe(c.file));
    if (!found) continue;
    collectionDir = found.dir;
    script = found.file;
    scriptKind = kind;
    if (kind === 'tray_app') {
      notes.push(
        `Using ${found.file}: daemon_server.py was not found. In GUI mode the tray app keeps running after a ` +
          'shutdown and its exit code is not meaningful (docs/daemon-protocol.md §9.2); update ComfyUI-Luna-Collection if you can',
      );
    }
    break;
  }
  if (!collectionDir && collections.length > 0) collectionDir = path.join(customNodes, collections[0]!);
  return {
    root,
    python,
    pythonSource,
    pythonLookedFor: candidates.map((c) => c.rel),
    collectionDir,
    script,
    scriptKind,
    notes,
  };
}

function isFileSafe(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Prepend `dir` to a PATH-like variable. */
function prependPath(
  env: Record<string, string>,
  name: string,
  dir: string,
  platform: NodeJS.Platform,
): void {
  const key = envKey(env, name, platform);
  const existing = env[key];
  env[key] = existing ? `${dir}${isWindows(platform) ? ';' : ':'}${existing}` : dir;
}

function quote(arg: string): string {
  return /[\s"']/.test(arg) ? JSON.stringify(arg) : arg;
}

/**
 * Build the daemon's command line from the settings (docs/daemon-protocol.md §3.2):
 * - `simulator`: `python3 <simulatorPath> --port <daemon.port> --ws-port <daemon.wsPort>` plus
 *   `daemon.args` (extra simulator flags); cwd `daemon.cwd` or the data directory.
 * - `custom`: `daemon.command` + `daemon.args` as given (the command must be set).
 * - `comfyui`: the interpreter is `daemon.command` or the one found in `comfyui.path`; the arguments
 *   are `daemon.args` or the detected `luna_daemon/daemon_server.py` (falling back to `tray_app.py`
 *   with a note). Sets `PYTHONPATH=<ComfyUI root>` (prepended; `comfy` must be importable, §3.3).
 *   cwd `daemon.cwd` or the ComfyUI root.
 * Every profile sets `PYTHONUNBUFFERED=1` (prompt stdout through a pipe, §3.2) and
 * `LUNA_ATTENTION_MODE` when `daemon.attentionMode` is set (§3.5), then merges `daemon.env` last so
 * the user can override anything.
 */
export function resolveLaunchProfile(
  settings: OneDaemonSettings,
  options: LaunchProfileOptions,
): LaunchProfileResult {
  const platform = options.platform ?? process.platform;
  const baseEnv = options.env ?? process.env;
  const d = settings.daemon;
  const env = toPlainEnv(baseEnv);
  env.PYTHONUNBUFFERED = '1';
  if (d.attentionMode) env.LUNA_ATTENTION_MODE = d.attentionMode;
  const finishEnv = (): Record<string, string> => Object.assign(env, d.env);
  const candidates = options.pythonCandidates ?? defaultPythonCandidates(baseEnv, platform);

  if (d.profile === 'simulator') {
    let python: string | null = null;
    for (const c of candidates) {
      python = findOnPath(c, baseEnv, platform);
      if (python) break;
    }
    if (!python) {
      return {
        ok: false,
        kind: 'missing-python',
        message: `No Python found on PATH for the simulator (looked for ${candidates.join(', ')}). Install Python 3 or set PYTHON.`,
      };
    }
    if (!isFileSafe(options.simulatorPath)) {
      return {
        ok: false,
        kind: 'missing-script',
        message: `The bundled simulator is missing: ${options.simulatorPath}`,
      };
    }
    const args = [options.simulatorPath, '--port', String(d.port), '--ws-port', String(d.wsPort)];
    if (d.host !== '127.0.0.1') args.push('--host', d.host);
    args.push(...d.args);
    const cwd = d.cwd || options.dataDir;
    return {
      ok: true,
      command: python,
      args,
      cwd,
      env: finishEnv(),
      description: `Simulator: ${[python, ...args].map(quote).join(' ')}`,
      notes: [],
    };
  }

  if (d.profile === 'custom') {
    if (!d.command) {
      return {
        ok: false,
        kind: 'not-configured',
        message:
          'daemon.command is not set — set it with `luna-tray config set daemon.command /path/to/python` ' +
          '(and daemon.args), or choose the comfyui or simulator profile',
      };
    }
    const cwd = d.cwd || options.dataDir;
    return {
      ok: true,
      command: d.command,
      args: [...d.args],
      cwd,
      env: finishEnv(),
      description: `Custom: ${[d.command, ...d.args].map(quote).join(' ')} (cwd ${cwd})`,
      notes: [],
    };
  }

  // comfyui
  const comfyPath = settings.comfyui.path;
  const notes: string[] = [];
  if (!comfyPath) {
    if (d.command && d.args.length > 0) {
      // An explicit command line works without a ComfyUI folder (but `comfy` must be importable).
      const cwd = d.cwd || options.dataDir;
      return {
        ok: true,
        command: d.command,
        args: [...d.args],
        cwd,
        env: finishEnv(),
        description: `ComfyUI profile (explicit command): ${[d.command, ...d.args].map(quote).join(' ')}`,
        notes: [
          'comfyui.path is not set: PYTHONPATH is not set, so `comfy` must already be importable (docs/daemon-protocol.md §3.3)',
        ],
      };
    }
    return { ok: false, kind: 'not-configured', message: `comfyui.path is not set — ${SET_COMFY_PATH}` };
  }
  if (!isDirectory(comfyPath)) {
    return {
      ok: false,
      kind: 'not-configured',
      message: `comfyui.path does not exist or is not a folder: ${comfyPath} — ${SET_COMFY_PATH}`,
    };
  }
  const found = detectFromComfyUI(comfyPath, { platform, env: baseEnv, pythonCandidates: candidates });
  let command = d.command;
  if (!command) {
    if (!found.python) {
      return {
        ok: false,
        kind: 'missing-python',
        message:
          `No Python found in ${found.root} (looked for ${found.pythonLookedFor.join(', ')}) and none on PATH ` +
          `(${candidates.join(', ')}) — create ComfyUI's venv, or set daemon.command to your Python`,
      };
    }
    command = found.python;
    // Say which interpreter was chosen: PyTorch must be installed in exactly this one.
    if (found.pythonSource !== 'path') {
      const label = found.pythonSource === 'embedded' ? 'python_embeded' : found.pythonSource;
      notes.push(`Using ComfyUI's own Python (${label}): ${found.python}`);
    }
  }
  let args = [...d.args];
  if (args.length === 0) {
    if (!found.script) {
      const pattern = path.join(
        found.root,
        'custom_nodes',
        '*Luna-Collection*',
        'luna_daemon',
        'daemon_server.py',
      );
      return {
        ok: false,
        kind: 'missing-script',
        message: `Luna daemon not found: ${pattern} is missing — install ComfyUI-Luna-Collection`,
      };
    }
    args = [found.script];
  }
  notes.push(...found.notes.filter((n) => d.command === '' || !n.startsWith('No Python')));
  prependPath(env, 'PYTHONPATH', found.root, platform);
  const cwd = d.cwd || found.root;
  return {
    ok: true,
    command,
    args,
    cwd,
    env: finishEnv(),
    description: `ComfyUI: ${[command, ...args].map(quote).join(' ')} (cwd ${cwd})`,
    notes,
  };
}

/**
 * Run `<python> -c "import sys; print(sys.version)"` (pre-flight): is this a working Python 3?
 * Never throws.
 */
export function checkPython(
  command: string,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<PythonCheck> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const once = (): Promise<PythonCheck & { silent?: boolean }> =>
    new Promise((resolve) => {
      execFile(
        command,
        ['-c', 'import sys; print(sys.version)'],
        { timeout: timeoutMs, env: options.env ?? process.env, windowsHide: true, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (error) {
            const e = error as NodeJS.ErrnoException & { killed?: boolean };
            let message: string;
            if (e.code === 'ENOENT') message = `Python not found: ${command}`;
            else if (e.code === 'EACCES') message = `Python is not executable: ${command}`;
            else if (e.killed) message = `Python did not answer within ${timeoutMs} ms: ${command}`;
            else
              message = `Python failed to run (${command}): ${(stderr || e.message).trim().split('\n').pop() ?? ''}`;
            resolve({ ok: false, message });
            return;
          }
          const version = stdout.trim().split('\n')[0] ?? '';
          if (version === '') {
            const said = stderr.trim().split('\n').pop();
            resolve({
              ok: false,
              silent: true,
              message: `${command} exited 0 but printed no version${said ? ` (it said: ${said})` : ''}: a wrapper or shim (pyenv, conda) that did not reach Python? Set daemon.command to the interpreter itself.`,
            });
            return;
          }
          if (!/^3\.\d+/.test(version)) {
            resolve({ ok: false, version, message: `${command} is not Python 3 (version ${version})` });
            return;
          }
          resolve({ ok: true, version, message: `Python ${version.split(' ')[0]} (${command})` });
        },
      );
    });
  // A shim that prints nothing once (seen with several starting at once on a loaded machine) gets one
  // more try before the start is refused; a real answer, good or bad, is final.
  return once().then(async (first) => {
    const r = first.silent ? await once() : first;
    const { silent: _silent, ...check } = r;
    return check;
  });
}

/** The ports a real daemon takes from its own `luna_daemon/config.py` (docs/daemon-protocol.md §2, §3.6). */
export interface DaemonConfigPorts {
  /** The config file that was read. */
  file: string;
  port: number | null;
  wsPort: number | null;
}

/**
 * Read `DAEMON_PORT` and `DAEMON_WS_PORT` from the Luna daemon's `config.py` under a ComfyUI folder:
 * the real daemon takes no arguments and binds these, whatever Luna Tray's settings say. Null when
 * no collection or config file is found.
 */
export function readDaemonConfigPorts(comfyRoot: string): DaemonConfigPorts | null {
  const found = detectFromComfyUI(comfyRoot, { pythonCandidates: [] });
  if (!found.collectionDir) return null;
  const file = path.join(found.collectionDir, 'luna_daemon', 'config.py');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const num = (name: string): number | null => {
    const m = new RegExp(`^${name}\\s*=\\s*(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  return { file, port: num('DAEMON_PORT'), wsPort: num('DAEMON_WS_PORT') };
}

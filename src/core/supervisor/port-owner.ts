import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';

/**
 * Who listens on a TCP port (docs/daemon-protocol.md §15, problems 2 and 5: verify ownership by the
 * listener's PID; the daemon never tells its PID). Best effort: `null` whenever the OS will not say.
 */

/** The process listening on a port. */
export interface PortOwner {
  pid: number;
  /** Short process name (`node`, `python3`, `python.exe`). */
  name: string;
  /** Full command line when the OS exposes it (Linux). */
  command?: string;
  /** The OS user running it, when the OS says (Linux: uid → name; macOS: lsof; Windows: tasklist /V). */
  user?: string;
  /** Its numeric user id (Linux, macOS). */
  uid?: number;
}

/** How long an external tool (lsof, netstat, tasklist) may take. */
const TOOL_TIMEOUT_MS = 3_000;

/**
 * Find the process listening on `port`. Linux reads /proc (no tools; typically a few ms), macOS
 * uses `lsof`, Windows `netstat` + `tasklist`. `null` when nobody listens or the owner cannot be
 * determined (another user's process without privileges, tool missing).
 *
 * `host` narrows the match to listeners that accept connections on it (the exact address or a
 * wildcard address); pass `''` to accept any listener on the port.
 */
export async function findPortOwner(port: number, host = '127.0.0.1'): Promise<PortOwner | null> {
  try {
    if (process.platform === 'linux') return findPortOwnerLinux(port, host);
    if (process.platform === 'darwin') return await findPortOwnerMac(port);
    if (process.platform === 'win32') return await findPortOwnerWindows(port, host);
  } catch {
    // Lookup is best effort: any surprise (format change, permissions) means "cannot tell".
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Linux: /proc/net/tcp{,6} → socket inode → /proc/<pid>/fd/* → socket:[inode]
// ---------------------------------------------------------------------------------------------

/** A LISTEN socket from /proc/net/tcp or tcp6. */
export interface ProcNetListener {
  /** Local address as text (`127.0.0.1`, `0.0.0.0`, `::`, `::1`, `::ffff:127.0.0.1`). */
  address: string;
  port: number;
  inode: number;
  /** The socket owner's user id (readable for every user's sockets). */
  uid: number;
}

/** Decode the kernel's hex address (IPv4: one little-endian word; IPv6: four). */
function decodeProcAddress(hex: string): string {
  if (hex.length === 8) {
    const n = parseInt(hex, 16);
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
  }
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const text = groups.join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  if (text.startsWith('0:0:0:0:0:ffff:')) return `::ffff:${bytes.slice(12).join('.')}`;
  return text;
}

/** Parse /proc/net/tcp or /proc/net/tcp6 text: every LISTEN (state 0A) socket on `port`. */
export function parseProcNetTcp(text: string, port: number): ProcNetListener[] {
  const out: ProcNetListener[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
    if (f.length < 10 || f[3] !== '0A') continue;
    const [addrHex, portHex] = f[1]!.split(':');
    if (!addrHex || !portHex || parseInt(portHex, 16) !== port) continue;
    const inode = Number(f[9]);
    if (!Number.isInteger(inode) || inode <= 0) continue;
    out.push({ address: decodeProcAddress(addrHex), port, inode, uid: Number(f[7]) });
  }
  return out;
}

/** Does a listener on `address` accept connections to `host`? */
function listenerServes(address: string, host: string): boolean {
  if (host === '') return true;
  const h = host === 'localhost' ? '127.0.0.1' : host;
  if (address === h || address === '0.0.0.0' || address === '::') return true;
  return address === `::ffff:${h}`;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function findPortOwnerLinux(port: number, host: string): PortOwner | null {
  const listeners = [
    ...parseProcNetTcp(readText('/proc/net/tcp') ?? '', port),
    ...parseProcNetTcp(readText('/proc/net/tcp6') ?? '', port),
  ].filter((l) => listenerServes(l.address, host));
  if (listeners.length === 0) return null;
  const wanted = new Set(listeners.map((l) => `socket:[${l.inode}]`));
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      // Another user's process (EACCES) or one that just exited (ENOENT): skip it.
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!wanted.has(link)) continue;
      const name = (readText(`/proc/${pid}/comm`) ?? '').trim();
      const cmdline = (readText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
      const owner: PortOwner = { pid, name: name || cmdline.split(' ')[0] || String(pid) };
      if (cmdline) owner.command = cmdline;
      const uid = listeners.find((l) => link === `socket:[${l.inode}]`)!.uid;
      owner.uid = uid;
      owner.user = linuxUserName(uid);
      return owner;
    }
  }
  return null;
}

/** The login name of a uid from /etc/passwd, else `uid N`. */
function linuxUserName(uid: number): string {
  for (const line of (readText('/etc/passwd') ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length > 2 && Number(f[2]) === uid && f[0]) return f[0];
  }
  return `uid ${uid}`;
}

/**
 * Linux only: the user of the listener on `port` even when its PID is hidden from us (another
 * user's process: its /proc/<pid>/fd is unreadable, but /proc/net/tcp lists every socket's uid).
 */
function linuxListenerUser(port: number, host: string): { uid: number; user: string } | null {
  const l = [
    ...parseProcNetTcp(readText('/proc/net/tcp') ?? '', port),
    ...parseProcNetTcp(readText('/proc/net/tcp6') ?? '', port),
  ].find((x) => listenerServes(x.address, host));
  return l ? { uid: l.uid, user: linuxUserName(l.uid) } : null;
}

// ---------------------------------------------------------------------------------------------
// macOS: lsof
// ---------------------------------------------------------------------------------------------

function run(command: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: TOOL_TIMEOUT_MS, windowsHide: true, encoding: 'utf8' },
      (error, stdout) => {
        // lsof exits 1 when nothing matches; its (empty) output still means "no listener".
        if (error && !stdout) resolve(null);
        else resolve(stdout);
      },
    );
  });
}

/** Parse `lsof -FpcuL` output: the first process (`p<pid>`, then `c<command>`, `u<uid>`, `L<login>`). */
export function parseLsofOutput(text: string): PortOwner | null {
  let owner: PortOwner | null = null;
  for (const line of text.split('\n')) {
    const field = line[0];
    const value = line.slice(1);
    if (field === 'p') {
      if (owner) break;
      const pid = Number(value);
      if (!Number.isInteger(pid)) return null;
      owner = { pid, name: value };
    } else if (owner && field === 'c') owner.name = value;
    else if (owner && field === 'u' && /^\d+$/.test(value)) owner.uid = Number(value);
    else if (owner && field === 'L' && value) owner.user = value;
  }
  return owner;
}

async function findPortOwnerMac(port: number): Promise<PortOwner | null> {
  const out = await run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-FpcuL']);
  return out ? parseLsofOutput(out) : null;
}

// ---------------------------------------------------------------------------------------------
// Windows: netstat -ano + tasklist
// ---------------------------------------------------------------------------------------------

/** Parse `netstat -ano` output: PID of a TCP LISTENING socket on `port` serving `host`. */
export function parseNetstatOutput(text: string, port: number, host = ''): number | null {
  for (const raw of text.split('\n')) {
    const f = raw.trim().split(/\s+/);
    // Proto  Local Address  Foreign Address  State  PID. The state word is localised on some
    // Windows versions, so accept "LISTENING" or a foreign address of 0.0.0.0:0 / [::]:0.
    if (f.length < 5 || f[0]!.toUpperCase() !== 'TCP') continue;
    const local = f[1]!;
    const colon = local.lastIndexOf(':');
    if (colon === -1 || Number(local.slice(colon + 1)) !== port) continue;
    const isListening = f[3]!.toUpperCase() === 'LISTENING' || /^(0\.0\.0\.0|\[::\]):0$/.test(f[2]!);
    if (!isListening) continue;
    const address = local
      .slice(0, colon)
      .replace(/^\[|\]$/g, '')
      .replace(/%\d+$/, '');
    if (!listenerServes(address, host)) continue;
    const pid = Number(f[4]);
    if (Number.isInteger(pid) && pid > 0) return pid;
  }
  return null;
}

/**
 * Parse `tasklist /V /FO CSV /NH` output: image name and user (`DOMAIN\user`; the 7th column) of
 * the first row. The user is absent when Windows answers `N/A` (another user's process, no rights).
 */
export function parseTasklistVerboseCsv(text: string): { name: string; user?: string } | null {
  const line = text.split('\n').find((l) => l.startsWith('"'));
  if (!line) return null;
  const cells = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  if (!cells[0]) return null;
  const user = cells[6];
  return user && user !== 'N/A' ? { name: cells[0], user } : { name: cells[0] };
}

async function findPortOwnerWindows(port: number, host: string): Promise<PortOwner | null> {
  const out = await run('netstat', ['-ano', '-p', 'tcp']);
  let pid = out ? parseNetstatOutput(out, port, host) : null;
  if (pid === null) {
    // `-p tcp` lists IPv4 only; the daemon may listen on ::1.
    const out6 = await run('netstat', ['-ano', '-p', 'tcpv6']);
    pid = out6 ? parseNetstatOutput(out6, port, host) : null;
  }
  if (pid === null) return null;
  const list = await run('tasklist', ['/V', '/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']);
  const row = list ? parseTasklistVerboseCsv(list) : null;
  return { pid, name: row?.name || String(pid), ...(row?.user ? { user: row.user } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Who runs it: descriptions for messages, and the other-user check before adopting a daemon
// ---------------------------------------------------------------------------------------------

/** The listener's user, also when its PID is hidden from us (Linux); null when the OS will not say. */
async function listenerUser(
  port: number,
  host: string,
): Promise<{ owner: PortOwner | null; uid?: number; user?: string }> {
  const owner = await findPortOwner(port, host);
  if (owner?.user !== undefined || owner?.uid !== undefined)
    return { owner, uid: owner.uid, user: owner.user };
  if (process.platform === 'linux') {
    try {
      const l = linuxListenerUser(port, host);
      if (l) return { owner, uid: l.uid, user: l.user };
    } catch {
      // Best effort, as everywhere here.
    }
  }
  return { owner };
}

/**
 * "PID 123 (user alice)", "PID 123", "a process of user alice" or "an unknown process": who holds
 * `port`, for messages such as "port 19299 is held by …, which is not Luna Tray".
 */
export async function describePortHolder(port: number, host = '127.0.0.1'): Promise<string> {
  return (await listenerRunsAsOtherUser(port, host)).who;
}

/** Is `user` (a login, or `DOMAIN\login` on Windows) the user we run as? */
function isOurUserName(user: string): boolean {
  const me = userInfo().username.toLowerCase();
  const bare = user.toLowerCase().split('\\').pop();
  return bare === me;
}

/**
 * Whether the listener on `port` runs as another OS user than Luna Tray (docs/security.md §2: such a
 * daemon is never adopted). `other: null` when the OS will not tell (Windows without rights, macOS
 * when lsof cannot see the process); `who` describes the holder either way.
 */
export async function listenerRunsAsOtherUser(
  port: number,
  host = '127.0.0.1',
): Promise<{ other: boolean | null; who: string }> {
  const { owner, uid, user } = await listenerUser(port, host);
  const name = user ?? (uid !== undefined ? `uid ${uid}` : undefined);
  const who = owner
    ? `PID ${owner.pid}${name ? ` (user ${name})` : ''}`
    : name
      ? `a process of user ${name}`
      : 'an unknown process';
  const myUid = process.getuid?.();
  if (uid !== undefined && myUid !== undefined) return { other: uid !== myUid, who };
  if (user !== undefined) return { other: !isOurUserName(user), who };
  return { other: null, who };
}

// ---------------------------------------------------------------------------------------------

/**
 * Can we bind `host:port` right now? Binds and releases at once. `false` for any failure
 * (EADDRINUSE, EACCES, an address this machine does not have).
 */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * Before adopting a daemon that answers on `port`: may we? A daemon run by another OS user is
 * refused (we would send it our jobs and could stop it for them; docs/security.md §2), naming the
 * user. When the OS will not say (Windows without rights, macOS when lsof cannot see it), adopt
 * with a plain warning.
 */
export async function checkDaemonUser(
  port: number,
  host = '127.0.0.1',
): Promise<{ refuse: string | null; warning: string | null }> {
  const { other, who } = await listenerRunsAsOtherUser(port, host);
  if (other === true) {
    return {
      refuse:
        `The Luna daemon on port ${port} is run by another OS user: ${who}. Luna Tray does not control ` +
        "another user's daemon. Stop it as that user, or change daemon.port.",
      warning: null,
    };
  }
  if (other === null) {
    return {
      refuse: null,
      warning: `Could not check which OS user runs the Luna daemon on port ${port} (${who}); adopting it. Make sure it is yours.`,
    };
  }
  return { refuse: null, warning: null };
}

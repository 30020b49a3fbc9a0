import type { GpuProcess, VramRole, VramSplit } from '../../shared/gpu.js';
import { findPortOwner, type PortOwner } from '../supervisor/port-owner.js';
import { parentPid } from '../supervisor/processes.js';

/**
 * "Who holds my VRAM" (docs/devices.md): a GPU process is the Luna daemon's when it is the daemon's
 * PID or a descendant of it, a watched ComfyUI instance's when it is the process listening on that
 * instance's port (or a descendant), and "other" otherwise. Only loopback instances can be mapped:
 * a remote instance's PID means nothing here.
 */

export interface Holder {
  role: VramRole;
  instance?: string;
}

export interface HolderResolverOptions {
  /** The supervised (or adopted) daemon's PID, when known; with several daemons, each one's. */
  daemonPid: () => number | readonly number[] | null;
  /** URLs of the watched ComfyUI instances. */
  comfyUrls: () => string[];
  findOwner?: (port: number, host: string) => Promise<PortOwner | null>;
  isDescendant?: (pid: number, ancestor: number) => Promise<boolean>;
  /** How long a port → PID answer is trusted (a port scan walks /proc). */
  ownerTtlMs?: number;
  now?: () => number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '0.0.0.0']);

export function createHolderResolver(opts: HolderResolverOptions) {
  const findOwner = opts.findOwner ?? findPortOwner;
  const isDescendant = opts.isDescendant ?? strictlyDescends;
  const ttl = opts.ownerTtlMs ?? 30_000;
  const now = opts.now ?? Date.now;
  const owners = new Map<string, { pid: number | null; at: number }>();

  async function ownerOf(url: string): Promise<number | null> {
    const cached = owners.get(url);
    if (cached && now() - cached.at < ttl) return cached.pid;
    let pid: number | null = null;
    try {
      const u = new URL(url);
      if (LOOPBACK.has(u.hostname)) {
        const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
        // '' accepts a listener on any address: ComfyUI often listens on 0.0.0.0.
        pid = (await findOwner(port, ''))?.pid ?? null;
      }
    } catch {
      pid = null;
    }
    owners.set(url, { pid, at: now() });
    return pid;
  }

  const is = async (pid: number, root: number | null): Promise<boolean> =>
    root !== null && (pid === root || (await isDescendant(pid, root).catch(() => false)));

  const isAny = async (pid: number, roots: readonly number[]): Promise<boolean> => {
    for (const root of roots) if (await is(pid, root)) return true;
    return false;
  };

  return {
    /** The holder of each PID; a PID seen on several GPUs is looked up once. */
    async resolve(pids: readonly number[]): Promise<Map<number, Holder>> {
      const out = new Map<number, Holder>();
      if (pids.length === 0) return out;
      const own = opts.daemonPid();
      const daemons = own === null ? [] : typeof own === 'number' ? [own] : own;
      const urls = opts.comfyUrls();
      for (const url of [...owners.keys()]) if (!urls.includes(url)) owners.delete(url);
      const comfy = await Promise.all(urls.map(async (url) => ({ url, pid: await ownerOf(url) })));
      for (const pid of new Set(pids)) {
        if (await isAny(pid, daemons)) {
          out.set(pid, { role: 'daemon' });
          continue;
        }
        let holder: Holder = { role: 'other' };
        for (const c of comfy) {
          if (await is(pid, c.pid)) {
            holder = { role: 'comfyui', instance: c.url };
            break;
          }
        }
        out.set(pid, holder);
      }
      return out;
    },
  };
}

/**
 * True only when the parent chain provably reaches `ancestor`. Unlike the supervisor's ownership
 * check, an unknown parent means "no": a PID we cannot see (another namespace, Windows) must not be
 * credited to the daemon.
 */
async function strictlyDescends(pid: number, ancestor: number): Promise<boolean> {
  let cur: number | null = pid;
  for (let depth = 0; depth < 32 && cur !== null && cur > 1; depth++) {
    cur = await parentPid(cur);
    if (cur === ancestor) return true;
  }
  return false;
}

export type HolderResolver = ReturnType<typeof createHolderResolver>;

/** Split a GPU's used memory between the daemon, ComfyUI and the rest (unknown per-process → 0). */
export function splitVram(usedMiB: number | null, processes: readonly GpuProcess[]): VramSplit {
  const sum = (role: VramRole) =>
    processes.filter((p) => p.role === role).reduce((a, p) => a + (p.usedMiB ?? 0), 0);
  const daemonMiB = sum('daemon');
  const comfyuiMiB = sum('comfyui');
  const otherMiB = usedMiB === null ? sum('other') : Math.max(0, usedMiB - daemonMiB - comfyuiMiB);
  return { daemonMiB, comfyuiMiB, otherMiB };
}

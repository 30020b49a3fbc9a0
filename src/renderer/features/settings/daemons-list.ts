// Pure edits of `settings.daemons` for the Settings tab's daemon list (docs/settings.md, "Several
// daemons"): add, remove, reorder. The server validates the result (unique ids, distinct ports,
// loopback hosts); these helpers only keep an added entry from clashing with the ones already there.
import type { DaemonEntry } from '../../../shared/settings-schema.js';

/** Move the entry at `index` by `delta` places (-1 up, +1 down); out of range = unchanged. */
export function moveDaemon(list: readonly DaemonEntry[], index: number, delta: number): DaemonEntry[] {
  const to = index + delta;
  if (index < 0 || index >= list.length || to < 0 || to >= list.length) return [...list];
  const next = [...list];
  const [item] = next.splice(index, 1);
  next.splice(to, 0, item!);
  return next;
}

/** Remove a daemon by id. The last one stays: Luna Tray always supervises at least one entry. */
export function removeDaemon(list: readonly DaemonEntry[], id: string): DaemonEntry[] {
  if (list.length <= 1) return [...list];
  return list.filter((d) => d.id !== id);
}

/**
 * A new entry copied from the first (same command and profile), with a fresh id ("daemon-2"), name
 * and the next free port above every port in use; its feed port follows when the first uses one.
 * Disabled until the user saves and enables it, so adding never starts anything by itself.
 */
export function addDaemon(list: readonly DaemonEntry[], template: DaemonEntry): DaemonEntry[] {
  const ids = new Set(list.map((d) => d.id));
  let n = list.length + 1;
  while (ids.has(`daemon-${n}`)) n++;
  const used = new Set(list.flatMap((d) => [d.port, d.wsPort]).filter((p) => p > 0));
  const free = (from: number): number => {
    let p = from;
    while (used.has(p)) p++;
    used.add(p);
    return p;
  };
  const port = free(Math.max(template.port, ...used) + 1);
  const wsPort = template.wsPort > 0 ? free(port + 1) : 0;
  return [
    ...list,
    { ...template, id: `daemon-${n}`, name: `Daemon ${n}`, port, wsPort, enabled: false, autoStart: false },
  ];
}

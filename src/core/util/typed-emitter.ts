/**
 * A tiny typed event emitter: `on` returns a disposer (docs/architecture.md §14). A throwing listener is
 * isolated so one bad subscriber cannot break the supervisor or the others.
 */
export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Whether anyone listens to `event`: a payload nobody receives need not be built. */
  listening(event: keyof Events): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (p: Events[K]) => void)(payload);
      } catch (e) {
        // A listener's bug must not propagate into the emitter's caller (the supervisor), nor
        // crash the process: report it and carry on.
        console.error(`luna-tray: a "${String(event)}" listener failed:`, e);
      }
    }
  }
}

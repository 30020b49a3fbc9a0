/** The panel's views (tabs), as `app:navigate` names them. */
export const VIEWS = ['status', 'logs', 'settings', 'comfy', 'devices'] as const;
export type View = (typeof VIEWS)[number];

/** Tab captions. */
export const VIEW_TITLES: Record<View, string> = {
  status: 'Status',
  logs: 'Logs',
  settings: 'Settings',
  comfy: 'ComfyUI',
  devices: 'Devices',
};

/** `#logs` → `'logs'` (also `#comfyui`); `null` for anything else. */
export function viewFromHash(hash: string): View | null {
  const name = hash.replace(/^#\/?/, '').toLowerCase();
  if (name === 'comfyui') return 'comfy';
  return (VIEWS as readonly string[]).includes(name) ? (name as View) : null;
}

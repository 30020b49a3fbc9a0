import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Build the bundles once before any test file runs: the CLI, headless and e2e tests spawn
 * `out/cli/index.js` and serve `out/renderer`, and must never test a stale build.
 */
export default function setup(): void {
  if (process.env.LUNA_TRAY_SKIP_BUILD === '1') return;
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
}

#!/usr/bin/env node
// `npm run screenshots`: regenerate docs/screenshots/*.png from the demo. The browser end-to-end
// test drives the real panel of `luna-tray serve --demo` in Chromium and, with UPDATE_SCREENSHOTS=1,
// saves each view into docs/screenshots (test/e2e/panel.test.ts), so the pictures always show the
// current panel. Needs Debian's chromium (/usr/bin/chromium) and python3.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, env = {}) =>
  spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } }).status ?? 1;

if (run('npm', ['run', '--silent', 'build']) !== 0) process.exit(1);
const status = run('npx', ['vitest', 'run', 'test/e2e/panel.test.ts'], {
  UPDATE_SCREENSHOTS: '1',
  LUNA_TRAY_SKIP_BUILD: '1',
});
if (status === 0) console.log('docs/screenshots updated from the demo panel.');
process.exit(status);

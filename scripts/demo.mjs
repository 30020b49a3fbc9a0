#!/usr/bin/env node
// `npm run demo`: build, then run `luna-tray serve --demo` supervising the bundled Luna daemon
// simulator, with its own data directory (.demo-data) and free ports of its own, so a real
// installation is never touched. Ctrl+C reaches `serve` from the terminal and again from us (and
// from npm): `serve` takes signals within a second of each other as one Ctrl+C.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// The test runner builds once up front (LUNA_TRAY_SKIP_BUILD); a person always gets a fresh build.
if (
  !process.env.LUNA_TRAY_SKIP_BUILD &&
  spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: root }).status !== 0
)
  process.exit(1);
const child = spawn(
  process.execPath,
  [`${root}out/cli/index.js`, 'serve', '--demo', ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: root, env: { LUNA_TRAY_DATA_DIR: `${root}.demo-data`, ...process.env } },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));

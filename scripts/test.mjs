#!/usr/bin/env node
// The README's test command (`npm test`, also run by .ci/run): builds the bundles, makes sure the
// prerequisites are present (python3, Debian's chromium), runs every vitest project, and ends with
// one plain summary line `tests: N passed, N failed, N skipped` plus the names of skipped tests
// (a skipped test is NOT a pass: it is listed under "NOT RUN").
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  return r.status ?? 1;
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// Prerequisites from Debian, installed when we can (root with apt-get), else a clear instruction.
const missing = [];
if (!have('python3')) missing.push('python3');
if (!existsSync(CHROMIUM)) missing.push('chromium');
// Optional: without it the tests that need it are skipped (listed as NOT RUN), never failed.
// xmllint validates the macOS LaunchAgent against Apple's plist DTD (test/cli/service.test.ts).
const isRootWithApt = typeof process.getuid === 'function' && process.getuid() === 0 && have('apt-get');
if (missing.length === 0 && !have('xmllint') && isRootWithApt) {
  console.log('Installing libxml2-utils (xmllint) from Debian…');
  if (run('apt-get', ['install', '-y', 'libxml2-utils']) !== 0) run('apt-get', ['update']);
  if (!have('xmllint')) run('apt-get', ['install', '-y', 'libxml2-utils']);
}
if (missing.length > 0) {
  if (!have('xmllint')) missing.push('libxml2-utils');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && have('apt-get')) {
    console.log(`Installing ${missing.join(', ')} from Debian…`);
    run('apt-get', ['update']);
    if (run('apt-get', ['install', '-y', ...missing]) !== 0) process.exit(1);
  } else {
    console.error(
      `Missing prerequisites: ${missing.join(', ')}. Install them: sudo apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
}

const args = process.argv.slice(2);
if (run('npm', ['run', '--silent', 'build']) !== 0) process.exit(1);
// The Electron end-to-end specs need Electron's binary: fetch it where the host is reachable; where
// not, the script says so once and those specs are skipped (listed as NOT RUN below).
if (run(process.execPath, [`${root}scripts/electron-binary.mjs`]) !== 0) process.exit(1);

// Static checks are part of the suite: a type error, a layering violation (src/core importing
// electron) or unformatted code fails `npm test` like a failing test does.
for (const [name, script] of [
  ['typecheck', 'typecheck'],
  ['lint', 'lint'],
  ['format', 'format:check'],
]) {
  console.log(`\n== ${name}`);
  if (run('npm', ['run', '--silent', script]) !== 0) {
    console.error(`\n${name} failed: fix it (npm run ${script}) — the tests were not run.`);
    process.exit(1);
  }
}

rmSync(`${root}test-results`, { recursive: true, force: true });
mkdirSync(`${root}test-results`, { recursive: true });
const status = run(
  'npx',
  [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    '--outputFile.json=test-results/vitest.json',
    '--reporter=./test/reporters/skip-reasons.ts',
    ...args,
  ],
  { env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', LUNA_TRAY_SKIP_BUILD: '1' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const notRun = [];
try {
  const report = JSON.parse(readFileSync(`${root}test-results/vitest.json`, 'utf8'));
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'passed') passed++;
      else if (t.status === 'failed') failed++;
      else {
        skipped++;
        notRun.push(`${t.fullName ?? t.title}`);
      }
    }
  }
} catch (e) {
  console.error(`Could not read the vitest JSON report: ${e}`);
  process.exit(status || 1);
}

if (notRun.length > 0) {
  // Why each one was skipped: the note of `ctx.skip(condition, note)`, from test/reporters/skip-reasons.ts.
  let reasons = new Map();
  try {
    const recorded = JSON.parse(readFileSync(`${root}test-results/skip-reasons.json`, 'utf8'));
    // The JSON report joins the titles with spaces, the reporter with " > ".
    reasons = new Map(recorded.map((s) => [s.name.replaceAll(' > ', ' '), s.reason]));
  } catch {
    // No record (the run ended early): every skip is listed without a reason.
  }
  console.log(`\nNOT RUN (skipped — never counted as passing): ${notRun.length}`);
  for (const n of notRun) console.log(`  - ${n}\n      why: ${reasons.get(n) ?? 'no reason given'}`);
}
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status !== 0 ? status : failed > 0 ? 1 : 0);

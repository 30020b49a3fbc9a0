// `luna-tray service`: the generated files pass their platform's own checks (systemd-analyze verify,
// Apple's plist DTD, Task Scheduler's required elements), --dry-run changes nothing, and
// install/uninstall drive the service manager (a fake on PATH that records its calls) with HOME in a
// temp dir.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  launchAgentPlist,
  systemdUnit,
  windowsTaskXml,
  type ServiceSpec,
} from '../../src/core/service/service-files.js';
import { CLI } from '../helpers/serve.js';
import { pythonExecutable } from '../helpers/python.js';

const DTD = fileURLToPath(new URL('../fixtures/service/PropertyList-1.0.dtd', import.meta.url));

let tmp: string;
let home: string;
let fakeBin: string;
let callLog: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'luna-service-'));
  home = join(tmp, 'home');
  fakeBin = join(tmp, 'bin');
  callLog = join(tmp, 'calls.log');
  mkdirSync(home);
  mkdirSync(fakeBin);
  // Service managers that record their calls, answer like the real ones, and keep state in files.
  const fake = (name: string, body: string) => {
    writeFileSync(
      join(fakeBin, name),
      `#!/bin/sh\necho "${name} $*" >> "${callLog}"\nSTATE="${tmp}/${name}.state"\n${body}\n`,
    );
    chmodSync(join(fakeBin, name), 0o755);
  };
  fake(
    'systemctl',
    `case "$*" in
  *"enable --now"*) echo enabled > "$STATE" ;;
  *"disable --now"*) rm -f "$STATE" ;;
  *is-enabled*) if [ -f "$STATE" ]; then echo enabled; else echo disabled; exit 1; fi ;;
  *is-active*) if [ -f "$STATE" ]; then echo active; else echo inactive; exit 3; fi ;;
esac
exit 0`,
  );
  fake(
    'launchctl',
    `case "$1" in
  bootstrap) echo loaded > "$STATE" ;;
  bootout) [ -f "$STATE" ] || { echo "Boot-out failed: 3: No such process" >&2; exit 3; }; rm -f "$STATE" ;;
  print) [ -f "$STATE" ] || { echo "Could not find service" >&2; exit 113; }; printf '%s = {\\n\\tstate = running\\n}\\n' "$2" ;;
esac
exit 0`,
  );
  fake(
    'schtasks',
    `case "$1" in
  /Create) echo Ready > "$STATE"; echo "SUCCESS: The scheduled task has successfully been created." ;;
  /Run) echo Running > "$STATE" ;;
  /Query) [ -f "$STATE" ] || { echo "ERROR: The system cannot find the file specified." >&2; exit 1; }; printf 'TaskName: \\\\Luna Tray\\nStatus:   %s\\n' "$(cat "$STATE")" ;;
  /Delete) rm -f "$STATE" ;;
esac
exit 0`,
  );
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function service(args: string[], dataDir = join(tmp, 'data dir')) {
  const r = spawnSync(process.execPath, [CLI, '--data-dir', dataDir, 'service', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { HOME: home, USER: 'luna', PATH: `${fakeBin}:/usr/bin:/bin`, NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function calls(): string[] {
  return existsSync(callLog) ? readFileSync(callLog, 'utf8').trim().split('\n') : [];
}

// Real paths: systemd-analyze checks that ExecStart's binary exists and is executable.
const spec: ServiceSpec = {
  node: process.execPath,
  script: CLI,
  dataDir: '/srv/luna tray/100% "data"',
  port: 29299,
  home: '/home/luna',
};

describe('generated files', () => {
  it('the systemd unit passes systemd-analyze verify with no warning, and runs serve with this install', (ctx) => {
    const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    ctx.skip(analyze.error !== undefined, 'systemd-analyze is not installed here');
    const dir = mkdtempSync(join(tmp, 'unit-'));
    const runtime = join(dir, 'runtime');
    mkdirSync(runtime, { mode: 0o700 });
    const verify = (text: string) => {
      writeFileSync(join(dir, 'luna-tray.service'), text);
      return spawnSync('systemd-analyze', ['--user', 'verify', join(dir, 'luna-tray.service')], {
        encoding: 'utf8',
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      });
    };
    const unit = systemdUnit(spec);
    const r = verify(unit);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
    // The quoting survives spaces, % and quotes: systemd reads back the exact argument list.
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    expect(exec).toBe(
      `"${process.execPath}" "${CLI}" "--data-dir" "/srv/luna tray/100%% \\"data\\"" "--port" "29299" "serve" "--no-open"`,
    );
    // The check can fail: an unknown key or a missing binary is reported.
    expect(`${verify(unit.replace('Restart=', 'Restrat=')).stderr}`).toContain("Unknown key 'Restrat'");
    expect(verify(unit.replace(process.execPath, '/nonexistent/node')).status).not.toBe(0);
  });

  it("the LaunchAgent is valid against Apple's plist DTD and reads back as the intended agent", (ctx) => {
    const xmllint = spawnSync('xmllint', ['--version'], { encoding: 'utf8' });
    ctx.skip(xmllint.error !== undefined, 'xmllint (Debian libxml2-utils) is not installed here');
    const dir = mkdtempSync(join(tmp, 'plist-'));
    const validate = (text: string) => {
      writeFileSync(join(dir, 'agent.plist'), text);
      return spawnSync('xmllint', ['--noout', '--nonet', '--dtdvalid', DTD, join(dir, 'agent.plist')], {
        encoding: 'utf8',
      });
    };
    const plist = launchAgentPlist(spec);
    const r = validate(plist);
    expect(r.status, r.stderr).toBe(0);
    expect(validate(plist.replace('<true/>', '<yes/>')).status).not.toBe(0);
    // Python's plistlib is a real plist reader: the values are what launchd will see.
    writeFileSync(join(dir, 'agent.plist'), plist);
    const again = spawnSync(
      pythonExecutable(),
      [
        '-c',
        'import plistlib,sys,json; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))',
        join(dir, 'agent.plist'),
      ],
      { encoding: 'utf8' },
    );
    expect(again.status, again.stderr).toBe(0);
    const agent = JSON.parse(again.stdout) as Record<string, unknown>;
    expect(agent).toMatchObject({
      Label: 'io.github.lunatray.luna-tray',
      ProgramArguments: [
        process.execPath,
        CLI,
        '--data-dir',
        spec.dataDir,
        '--port',
        '29299',
        'serve',
        '--no-open',
      ],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      StandardOutPath: `${spec.dataDir}/logs/service.out.log`,
      StandardErrorPath: `${spec.dataDir}/logs/service.err.log`,
    });
  });

  it('the Task Scheduler XML is well-formed, in the task namespace, with a logon trigger and the command', () => {
    const xml = windowsTaskXml({ ...spec, user: 'BOX\\luna' });
    const check = spawnSync(
      pythonExecutable(),
      [
        '-c',
        `import sys, json, xml.etree.ElementTree as ET
ns = {'t': 'http://schemas.microsoft.com/windows/2004/02/mit/task'}
root = ET.fromstring(sys.stdin.read().replace('encoding="UTF-16"', ''))
def text(p):
    e = root.find(p, ns)
    return None if e is None else (e.text or '')
print(json.dumps({
  'root': root.tag, 'version': root.get('version'),
  'logonUser': text('t:Triggers/t:LogonTrigger/t:UserId'),
  'logonEnabled': text('t:Triggers/t:LogonTrigger/t:Enabled'),
  'command': text('t:Actions/t:Exec/t:Command'),
  'arguments': text('t:Actions/t:Exec/t:Arguments'),
  'limit': text('t:Settings/t:ExecutionTimeLimit'),
  'restart': text('t:Settings/t:RestartOnFailure/t:Count'),
  'principal': text('t:Principals/t:Principal/t:LogonType'),
}))`,
      ],
      { input: xml, encoding: 'utf8' },
    );
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({
      root: '{http://schemas.microsoft.com/windows/2004/02/mit/task}Task',
      version: '1.2',
      logonUser: 'BOX\\luna',
      logonEnabled: 'true',
      command: process.execPath,
      arguments: `${CLI} --data-dir "/srv/luna tray/100% \\"data\\"" --port 29299 serve --no-open`,
      limit: 'PT0S',
      restart: '10',
      principal: 'InteractiveToken',
    });
  });
});

describe('luna-tray service (HOME in a temp dir, fake service managers)', () => {
  it('--dry-run prints the unit and changes nothing', () => {
    const r = service(['install', '--dry-run', '--platform', 'linux']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\[Unit\]/);
    expect(r.stdout).toContain(`"${CLI}"`);
    expect(r.stderr).toContain(join(home, '.config/systemd/user/luna-tray.service'));
    expect(readdirSync(home)).toEqual([]);
    expect(calls()).toEqual([]);
  });

  it('Linux: install writes the unit, reloads and enables it; status and uninstall follow', () => {
    const r = service(['install', '--platform', 'linux']);
    expect(r.status, r.stderr).toBe(0);
    const unit = join(home, '.config/systemd/user/luna-tray.service');
    expect(readFileSync(unit, 'utf8')).toContain('Restart=on-failure');
    expect(calls()).toEqual([
      'systemctl --user daemon-reload',
      'systemctl --user enable --now luna-tray.service',
    ]);
    expect(r.stdout).toContain('loginctl enable-linger luna');
    const s = service(['status', '--platform', 'linux']);
    expect(s.stdout).toContain('(installed)');
    expect(s.stdout).toMatch(/enabled: yes\nrunning: yes/);
    const u = service(['uninstall', '--platform', 'linux']);
    expect(u.status).toBe(0);
    expect(existsSync(unit)).toBe(false);
    // uninstall disables, then reloads once the file is gone.
    expect(calls().slice(-2)).toEqual([
      'systemctl --user disable --now luna-tray.service',
      'systemctl --user daemon-reload',
    ]);
    const after = spawnSync(
      process.execPath,
      [CLI, '--json', '--data-dir', join(tmp, 'data dir'), 'service', 'status', '--platform', 'linux'],
      {
        encoding: 'utf8',
        env: { HOME: home, PATH: `${fakeBin}:/usr/bin:/bin` },
      },
    );
    expect(JSON.parse(after.stdout)).toMatchObject({ installed: false, enabled: false, running: false });
  });

  it('macOS: install writes the LaunchAgent and bootstraps it; uninstall boots it out and removes it', () => {
    writeFileSync(callLog, '');
    const r = service(['install', '--platform', 'darwin']);
    expect(r.status, r.stderr).toBe(0);
    const plist = join(home, 'Library/LaunchAgents/io.github.lunatray.luna-tray.plist');
    expect(readFileSync(plist, 'utf8')).toContain('<key>RunAtLoad</key>');
    const uid = process.getuid!();
    expect(calls().filter(Boolean)).toEqual([
      `launchctl bootout gui/${uid}/io.github.lunatray.luna-tray`,
      `launchctl bootstrap gui/${uid} ${plist}`,
    ]);
    expect(service(['status', '--platform', 'darwin']).stdout).toMatch(/enabled: yes\nrunning: yes/);
    expect(service(['uninstall', '--platform', 'darwin']).status).toBe(0);
    expect(existsSync(plist)).toBe(false);
    expect(service(['status', '--platform', 'darwin']).stdout).toMatch(
      /not installed.*\nenabled: no\nrunning: no/,
    );
  });

  it('Windows: install registers the task from a UTF-16 XML file and runs it; uninstall deletes it', () => {
    writeFileSync(callLog, '');
    const dataDir = join(tmp, 'win-data');
    const r = service(['install', '--platform', 'win32'], dataDir);
    expect(r.status, r.stderr).toBe(0);
    const raw = readFileSync(join(dataDir, 'luna-tray-task.xml'));
    expect([...raw.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(raw.toString('utf16le')).toContain('<LogonTrigger>');
    expect(calls().filter(Boolean)[0]).toBe(
      `schtasks /Create /TN Luna Tray /XML ${join(dataDir, 'luna-tray-task.xml')} /F`,
    );
    expect(service(['status', '--platform', 'win32'], dataDir).stdout).toMatch(
      /running: yes\nTask Scheduler: Running/,
    );
    expect(service(['uninstall', '--platform', 'win32'], dataDir).status).toBe(0);
    expect(calls()).toContain('schtasks /Delete /TN Luna Tray /F');
    expect(existsSync(join(dataDir, 'luna-tray-task.xml'))).toBe(false);
  });

  it('without systemctl, install writes the unit and says how to enable it', () => {
    const bare = mkdtempSync(join(tmp, 'home-'));
    const r = spawnSync(
      process.execPath,
      [CLI, '--data-dir', join(tmp, 'd2'), 'service', 'install', '--platform', 'linux'],
      {
        encoding: 'utf8',
        env: { HOME: bare, PATH: '/nonexistent', NO_COLOR: '1' },
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('systemctl not found');
    expect(existsSync(join(bare, '.config/systemd/user/luna-tray.service'))).toBe(true);
  });
});

// The files that make `luna-tray serve` start with the user's session or at boot: a systemd user
// unit (Linux), a LaunchAgent (macOS) and a Task Scheduler task (Windows). Pure functions of the
// install's absolute paths, so all three are generated and checked on any OS (docs/service.md).
import { join, posix } from 'node:path';

export type ServicePlatform = 'linux' | 'darwin' | 'win32';

/** What the service runs: this install's Node and CLI script, and the serve options to keep. */
export interface ServiceSpec {
  /** Absolute path of the Node binary (process.execPath of the installing CLI). */
  node: string;
  /** Absolute path of the CLI entry (out/cli/index.js). */
  script: string;
  /** Absolute data directory, passed as --data-dir so the service and the CLI share it. */
  dataDir: string;
  /** A control port other than the default, passed as --port. */
  port?: number;
  /** The user's home directory (where the file goes). */
  home: string;
  /** Windows: DOMAIN\user for the logon trigger; elsewhere unused. */
  user?: string;
}

/** The name the service is known by on each platform. */
export const SERVICE_NAMES = {
  linux: 'luna-tray.service',
  darwin: 'io.github.lunatray.luna-tray',
  win32: 'Luna Tray',
} as const;

/** serve's argument list after the script: global options first, then the command. */
export function serveArgs(spec: ServiceSpec): string[] {
  return [
    '--data-dir',
    spec.dataDir,
    ...(spec.port !== undefined ? ['--port', String(spec.port)] : []),
    'serve',
    '--no-open',
  ];
}

/** Where the file lives for `platform`, under `home`. */
export function serviceFilePath(platform: ServicePlatform, home: string, dataDir: string): string {
  if (platform === 'linux') return posix.join(home, '.config', 'systemd', 'user', SERVICE_NAMES.linux);
  if (platform === 'darwin')
    return posix.join(home, 'Library', 'LaunchAgents', `${SERVICE_NAMES.darwin}.plist`);
  // Task Scheduler keeps its own copy; ours is what `schtasks /Create /XML` read, kept for reference.
  // The data dir is a path of the host running the CLI: joined the host's way.
  return join(dataDir, 'luna-tray-task.xml');
}

/** One ExecStart word: always double-quoted, with systemd's specifiers and variables escaped. */
function systemdWord(word: string): string {
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return `"${escaped}"`;
}

/**
 * A systemd user unit. `KillMode=mixed`: SIGTERM goes to serve alone, which stops the daemon
 * gracefully (protocol shutdown first); only what is left after `TimeoutStopSec` gets SIGKILL.
 */
export function systemdUnit(spec: ServiceSpec): string {
  const exec = [spec.node, spec.script, ...serveArgs(spec)].map(systemdWord).join(' ');
  return [
    '[Unit]',
    'Description=Luna Tray (headless supervisor of the Luna daemon)',
    'Documentation=https://github.com/lunatray/luna-tray#readme',
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    'Restart=on-failure',
    'RestartSec=5',
    'KillMode=mixed',
    'TimeoutStopSec=60',
    'Environment=NO_COLOR=1',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A LaunchAgent. `KeepAlive` with `SuccessfulExit=false` restarts serve after a crash but not after
 * `luna-tray quit` (exit 0), like systemd's `Restart=on-failure`.
 */
export function launchAgentPlist(spec: ServiceSpec): string {
  const args = [spec.node, spec.script, ...serveArgs(spec)]
    .map((a) => `    <string>${xmlText(a)}</string>`)
    .join('\n');
  const logs = posix.join(spec.dataDir, 'logs');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${SERVICE_NAMES.darwin}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>EnvironmentVariables</key>
  <dict>
    <key>NO_COLOR</key>
    <string>1</string>
  </dict>
  <key>StandardOutPath</key>
  <string>${xmlText(posix.join(logs, 'service.out.log'))}</string>
  <key>StandardErrorPath</key>
  <string>${xmlText(posix.join(logs, 'service.err.log'))}</string>
</dict>
</plist>
`;
}

/** One Windows command-line argument, quoted the way the C runtime parses it back. */
function windowsArg(a: string): string {
  if (a !== '' && !/[\s"]/.test(a)) return a;
  return `"${a.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/**
 * A Task Scheduler task (schema 1.2) started at the user's logon, restarted after a failure,
 * without the default 72-hour execution limit. `schtasks /Create /XML` reads it.
 */
export function windowsTaskXml(spec: ServiceSpec): string {
  const user = spec.user ? xmlText(spec.user) : '';
  const userId = user ? `\n      <UserId>${user}</UserId>` : '';
  const args = [spec.script, ...serveArgs(spec)].map(windowsArg).join(' ');
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>Luna Tray (headless supervisor of the Luna daemon)</Description>
    <URI>\\${SERVICE_NAMES.win32}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>${userId}
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">${userId}
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>10</Count>
    </RestartOnFailure>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${xmlText(spec.node)}</Command>
      <Arguments>${xmlText(args)}</Arguments>
    </Exec>
  </Actions>
</Task>
`;
}

/** The file for `platform`. */
export function serviceFile(platform: ServicePlatform, spec: ServiceSpec): string {
  if (platform === 'linux') return systemdUnit(spec);
  if (platform === 'darwin') return launchAgentPlist(spec);
  return windowsTaskXml(spec);
}

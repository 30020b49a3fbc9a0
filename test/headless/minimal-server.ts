/** A real control server over a stub core, for the security tests of this folder. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import { vi } from 'vitest';

import { INVOKE_CHANNELS } from '../../src/shared/contract/invoke.js';
import { ok } from '../../src/shared/contract/result.js';
import type { InvokeHandlers } from '../../src/shared/contract/renderer-api.js';
import { defaultSettings } from '../../src/shared/settings-schema.js';
import type { LunaCore } from '../../src/core/app/luna-core.types.js';
import { startControlServer, type ControlServer } from '../../src/core/control/control-server.js';

export interface MinimalServer {
  server: ControlServer;
  token: string;
  dataDir: string;
  onShow: ReturnType<typeof vi.fn>;
  /** Close the server and remove its data dir. */
  close: () => Promise<void>;
}

/** Start a control server on a free port (or `port`) whose every contract handler answers ok. */
export async function startMinimalServer(
  port?: number,
  extra: { tokenCheckIntervalMs?: number } = {},
): Promise<MinimalServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'luna-ctl-min-'));
  const handlers = Object.fromEntries(
    INVOKE_CHANNELS.map((c) => [c, vi.fn(async () => ok({ message: `${c} done` }))]),
  ) as unknown as InvokeHandlers;
  const core: LunaCore = {
    handlers,
    events: { on: () => () => undefined },
    snapshot: () => {
      throw new Error('not used');
    },
    settings: defaultSettings,
    navigate: vi.fn(),
    autoStart: vi.fn(),
    dispose: vi.fn(async () => undefined),
  };
  const onShow = vi.fn();
  let server: ControlServer;
  try {
    server = await startControlServer({
      core,
      port: port ?? (await getPort()),
      dataDir,
      staticDir: null,
      onShow,
      version: 'test',
      ...extra,
    });
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    server,
    token: readFileSync(join(dataDir, 'control-token'), 'utf8').trim(),
    dataDir,
    onShow,
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

import { describe, expect, it } from 'vitest';

import { forwardEvents } from '../../src/main/ipc/push.js';
import { EVENT_CHANNELS } from '../../src/shared/contract/events.js';
import { FakeWebContents } from '../mocks/electron.js';
import { fakeCore, settings, snapshot, STATUSES } from './helpers/fixtures.js';

describe('forwardEvents', () => {
  it('subscribes to every event channel and forwards payloads to live windows only', () => {
    const f = fakeCore();
    const a = new FakeWebContents();
    const b = new FakeWebContents();
    b.destroyed = true;
    const dispose = forwardEvents(f.core.events, () => [a, b]);
    for (const c of EVENT_CHANNELS) expect(f.listenerCount(c), c).toBe(1);

    const snap = snapshot(STATUSES.running);
    f.emit('daemon:status-changed', snap);
    f.emit('settings:changed', settings());
    f.emit('app:navigate', { view: 'logs' });
    expect(a.sent.map((s) => s.channel)).toEqual([
      'daemon:status-changed',
      'settings:changed',
      'app:navigate',
    ]);
    expect(a.sent[0]!.args).toEqual([snap]);
    expect(b.sent).toEqual([]);

    dispose();
    for (const c of EVENT_CHANNELS) expect(f.listenerCount(c), c).toBe(0);
    f.emit('app:navigate', { view: 'status' });
    expect(a.sent).toHaveLength(3);
  });

  it('reads the targets at each event (windows created later receive events)', () => {
    const f = fakeCore();
    const targets: FakeWebContents[] = [];
    forwardEvents(f.core.events, () => targets);
    f.emit('logs:appended', { entries: [] });
    const late = new FakeWebContents();
    targets.push(late);
    f.emit('logs:appended', { entries: [] });
    expect(late.sent).toHaveLength(1);
  });
});

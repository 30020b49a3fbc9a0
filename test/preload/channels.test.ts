import { describe, expect, it } from 'vitest';

import {
  EVENT_CHANNEL_NAMES,
  INVOKE_CHANNEL_NAMES,
  isEventChannel,
  isInvokeChannel,
} from '../../src/shared/contract/channels.js';
import { EVENT_CHANNELS } from '../../src/shared/contract/events.js';
import { INVOKE_CHANNELS } from '../../src/shared/contract/invoke.js';

describe('zod-free channel name lists', () => {
  it('list exactly the contract channels', () => {
    expect([...INVOKE_CHANNEL_NAMES].sort()).toEqual([...INVOKE_CHANNELS].sort());
    expect([...EVENT_CHANNEL_NAMES].sort()).toEqual([...EVENT_CHANNELS].sort());
  });

  it('guards recognise contract channels only', () => {
    expect(isInvokeChannel('daemon:start')).toBe(true);
    expect(isInvokeChannel('daemon:status-changed')).toBe(false);
    expect(isInvokeChannel('__proto__')).toBe(false);
    expect(isInvokeChannel(42)).toBe(false);
    expect(isEventChannel('logs:appended')).toBe(true);
    expect(isEventChannel('logs:get-since')).toBe(false);
  });
});

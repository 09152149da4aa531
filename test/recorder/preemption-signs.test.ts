import { describe, expect, it } from 'vitest';
import { showsPreemption } from '../../functions/recorder/preemption-signs.js';
import type { ProvisioningModel } from '../../functions/core/vm.js';

const SINCE = new Date('2026-11-20T01:00:00Z');

const vm = (
  id: string,
  provisioningModel: ProvisioningModel,
  stoppedAt?: string,
): { id: string; provisioningModel: ProvisioningModel; stoppedAt: string | undefined } => ({
  id,
  provisioningModel,
  stoppedAt,
});

describe('whether a project shows a sign of a preemption', () => {
  it.each([
    {
      case: 'every VM listed and running',
      listed: [vm('1', 'SPOT'), vm('2', 'STANDARD')],
      known: ['1', '2'],
      shows: false,
    },
    {
      case: 'a Spot VM stopped before the time',
      listed: [vm('1', 'SPOT', '2026-11-20T00:59:59Z')],
      known: ['1'],
      shows: false,
    },
    {
      case: 'a Spot VM stopped since the time',
      listed: [vm('1', 'SPOT', '2026-11-20T01:00:00Z')],
      known: [],
      shows: true,
    },
    {
      case: 'a preemptible VM stopped since the time',
      listed: [vm('1', 'PREEMPTIBLE', '2026-11-20T01:20:00Z')],
      known: [],
      shows: true,
    },
    {
      case: 'an on-demand VM stopped since the time',
      listed: [vm('1', 'STANDARD', '2026-11-20T01:20:00Z')],
      known: ['1'],
      shows: false,
    },
    {
      case: 'a known VM Compute no longer lists',
      listed: [vm('1', 'SPOT')],
      known: ['1', '2'],
      shows: true,
    },
    { case: 'no VM listed and none known', listed: [], known: [], shows: false },
  ])('$case: $shows', ({ listed, known, shows }) => {
    expect(showsPreemption(listed, known, SINCE)).toBe(shows);
  });
});

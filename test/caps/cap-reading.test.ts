/**
 * A cap's reading, as tables: which running VMs fall in its scope (projects, provisioning
 * models, label), and the figures, notes and trigger a run of the cap works from.
 */
import { capPeriod } from '../../functions/caps/cap-spend.js';
import { describe, expect, it } from 'vitest';
import { inCapScope, readCap, type RunFleet } from '../../functions/caps/cap-reading.js';
import { capSettings, type SpotCap } from '../../functions/caps/cap-policy.js';
import { readConfig } from '../../functions/core/config.js';
import { vmKey } from '../../functions/core/vm.js';
import { vmWith } from '../support/stand-ins.js';

function capOf(fields: Record<string, unknown>): SpotCap {
  const cap = { name: 'vision-daily', period: 'day', amount: 40, currency: 'USD', ...fields };
  const [parsed] = readConfig(capSettings, {
    COSTGUARD_SPOT_CAPS: JSON.stringify([{ tiers: [{ at: 1, stop: ['low'] }], ...cap }]),
  }).caps;
  return parsed as SpotCap;
}

describe('inCapScope', () => {
  const governed = new Set(['ml-training-prod', 'data-pipelines']);
  it.each([
    { case: 'a Spot VM of a governed project', cap: {}, vm: {}, inScope: true },
    {
      case: 'a VM outside the governed projects',
      cap: {},
      vm: { project: 'research' },
      inScope: false,
    },
    {
      case: 'a STANDARD VM of a Spot cap',
      cap: {},
      vm: { provisioningModel: 'STANDARD' },
      inScope: false,
    },
    {
      case: 'a VM with the label',
      cap: { scope: { label: 'team=vision' } },
      vm: { labels: { team: 'vision' } },
      inScope: true,
    },
    {
      case: 'a VM with another label value',
      cap: { scope: { label: 'team=vision' } },
      vm: { labels: { team: 'nlp' } },
      inScope: false,
    },
    {
      case: 'a VM without the label',
      cap: { scope: { label: 'team=vision' } },
      vm: {},
      inScope: false,
    },
  ] as const)('$case: in scope $inScope', ({ cap, vm, inScope }) => {
    expect(inCapScope(vmWith(vm), capOf(cap), governed)).toBe(inScope);
  });
});

describe('readCap', () => {
  const now = new Date('2026-11-18T10:30:00Z');
  const priced = vmWith({ name: 'priced', startedAt: '2026-11-18T08:00:00Z' });
  const foreign = vmWith({ name: 'foreign', startedAt: '2026-11-18T08:00:00Z' });
  const run: RunFleet = {
    runId: 'run-1',
    now,
    vms: [priced, foreign],
    stopped: [],
    rates: new Map([
      [vmKey(priced), { hourly: 2, spot: 2, onDemand: 8, currency: 'USD', source: 'catalog' }],
      [vmKey(foreign), { hourly: 2, spot: 2, onDemand: 8, currency: 'EUR', source: 'catalog' }],
    ]),
    failures: [],
    gaps: [],
    through: new Date('2026-11-18T10:00:00Z'),
  };

  it('adds the open half hour of the priced VM to the recorded hours, and says what it left out', () => {
    // Prepare
    const recorded = [{ hour: new Date('2026-11-18T09:00:00Z'), spend: 30 }];

    // Act
    const reading = readCap({
      cap: capOf({}),
      period: capPeriod('day', run.now),
      governed: ['ml-training-prod'],
      run,
      recorded,
      recentHours: 3,
    });

    // Assess
    expect({ recorded: reading.spend.recorded, estimated: reading.spend.estimated }).toEqual({
      recorded: 30,
      estimated: 1,
    });
    expect(reading.tierReached).toBeUndefined();
    expect(reading.notes).toEqual([
      '1 running VM(s) without a USD price are left out of the estimate',
    ]);
    expect(reading.trigger).toMatchObject({
      kind: 'cap',
      id: 'vision-daily',
      runId: 'run-1',
      spend: 31,
      amount: 40,
    });
    expect(reading.spendReading).toMatchObject({ messageId: 'run-1', costAmount: 31 });
  });

  it('adds a VM stopped since the last recorded hour up to its stop, and says so', () => {
    // Prepare: one VM at 2/h stopped at 10:15, one in another currency stopped at 10:20.
    const stopped = vmWith({
      name: 'stopped',
      status: 'TERMINATED',
      startedAt: '2026-11-18T08:00:00Z',
      stoppedAt: '2026-11-18T10:15:00-00:00',
    });
    const unpriced = vmWith({ ...stopped, name: 'unpriced', stoppedAt: '2026-11-18T10:20:00Z' });
    const rates = new Map(run.rates);
    rates.set(vmKey(stopped), {
      hourly: 2,
      spot: 2,
      onDemand: 8,
      currency: 'USD',
      source: 'catalog',
    });

    // Act
    const reading = readCap({
      cap: capOf({}),
      period: capPeriod('day', run.now),
      governed: ['ml-training-prod'],
      run: { ...run, vms: [priced], stopped: [stopped, unpriced], rates },
      recorded: [],
      recentHours: 3,
    });

    // Assess: 2 × 30/60 running + 2 × 15/60 stopped; the stopped VM burns no more.
    expect(reading.spend).toMatchObject({
      estimated: 1.5,
      runningVms: 1,
      stoppedVms: 1,
      fleetRate: 2,
    });
    expect(reading.scoped.map((vm) => vm.name)).toEqual(['priced']);
    expect(reading.notes).toEqual([
      '1 VM(s) stopped since the last recorded hour without a USD price are left out of the estimate',
      '1 VM(s) stopped since the last recorded hour are estimated up to their stop',
    ]);
  });
});

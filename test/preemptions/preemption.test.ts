import { describe, expect, it } from 'vitest';
import type { HourlyRate } from '../../functions/core/pricing.js';
import {
  classifyNotices,
  planPreemption,
  type KnownPreemption,
  type PreemptionNotice,
  type VmDetails,
} from '../../functions/preemptions/preemption.js';

const AT = new Date('2026-11-20T03:12:41Z');

function notice(overrides: Partial<PreemptionNotice> = {}): PreemptionNotice {
  return {
    project: 'ml-training-prod',
    zone: 'us-east4-c',
    vmName: 'batch-1',
    vmId: '111',
    preemptedAt: AT,
    operationId: 'systemevent-1',
    seenBy: 'event',
    ...overrides,
  };
}

function known(overrides: Partial<KnownPreemption> = {}): KnownPreemption {
  return {
    key: 'ml-training-prod/us-east4-c/111/systemevent-1',
    project: 'ml-training-prod',
    zone: 'us-east4-c',
    vmId: '111',
    operationId: 'systemevent-1',
    preemptedAt: AT,
    ...overrides,
  };
}

const later = (seconds: number): Date => new Date(AT.getTime() + seconds * 1000);

describe('classifyNotices: which sightings are preemptions the ledger does not hold', () => {
  it.each([
    { case: 'nothing known', notices: [notice()], ledger: [], isNew: [true] },
    { case: 'the same event again', notices: [notice()], ledger: [known()], isNew: [false] },
    {
      case: 'the zone operation of a recorded event, seconds apart',
      notices: [notice({ seenBy: 'zone-operation', preemptedAt: later(-5) })],
      ledger: [known()],
      isNew: [false],
    },
    {
      case: 'another operation id within two minutes (one preemption)',
      notices: [notice({ operationId: 'systemevent-x', preemptedAt: later(90) })],
      ledger: [known()],
      isNew: [false],
    },
    {
      case: 'the same VM preempted again hours later',
      notices: [notice({ operationId: 'systemevent-2', preemptedAt: later(3 * 3600) })],
      ledger: [known()],
      isNew: [true],
    },
    {
      case: 'another VM at the same moment',
      notices: [notice({ vmId: '222', vmName: 'batch-2' })],
      ledger: [known()],
      isNew: [true],
    },
    {
      case: 'event and operation in one batch',
      notices: [notice(), notice({ seenBy: 'zone-operation', preemptedAt: later(-4) })],
      ledger: [],
      isNew: [true, false],
    },
  ])('$case', ({ notices, ledger, isNew }) => {
    const verdicts = classifyNotices(notices, ledger);

    expect(verdicts.map((v) => v.isNew)).toEqual(isNew);
  });

  it('gives the event and its zone operation the same key', () => {
    const [event] = classifyNotices([notice()], []);
    const [operation] = classifyNotices(
      [notice({ seenBy: 'zone-operation', preemptedAt: later(-3) })],
      [],
    );

    expect(event?.key).toBe('ml-training-prod/us-east4-c/111/systemevent-1');
    expect(operation?.key).toBe(event?.key);
  });
});

const vm = (runningSince: Date | undefined): VmDetails => ({
  machineType: 'n2-standard-8',
  provisioningModel: 'SPOT',
  gpus: [],
  labels: { team: 'data' },
  runningSince,
  source: 'compute',
});

const RATE: HourlyRate = {
  hourly: 0.08,
  spot: 0.08,
  onDemand: 0.39,
  currency: 'USD',
  source: 'catalog',
};

describe('planPreemption: the run time lost and its cost', () => {
  it.each([
    {
      case: 'since the VM started (3 h 12 m)',
      runningSince: later(-(3 * 3600 + 12 * 60)),
      checkpointAt: undefined,
      rate: RATE,
      lostSeconds: 11_520,
      lostCost: 0.256,
    },
    {
      case: 'since the last checkpoint, later than the start',
      runningSince: later(-4 * 3600),
      checkpointAt: later(-1800),
      rate: RATE,
      lostSeconds: 1800,
      lostCost: 0.04,
    },
    {
      case: 'a checkpoint of an earlier attempt counts not (before the start)',
      runningSince: later(-600),
      checkpointAt: later(-7200),
      rate: RATE,
      lostSeconds: 600,
      lostCost: 0.013333,
    },
    {
      case: 'an unknown start: no lost time, no cost',
      runningSince: undefined,
      checkpointAt: undefined,
      rate: RATE,
      lostSeconds: undefined,
      lostCost: undefined,
    },
    {
      case: 'an unknown price: the time, no cost',
      runningSince: later(-3600),
      checkpointAt: undefined,
      rate: { ...RATE, hourly: 0, source: 'unknown' as const },
      lostSeconds: 3600,
      lostCost: undefined,
    },
  ])('$case', ({ runningSince, checkpointAt, rate, lostSeconds, lostCost }) => {
    const run = checkpointAt ? { runId: 'run-1', attempt: 1, checkpointAt } : undefined;

    const planned = planPreemption('k', notice(), vm(runningSince), run, rate);

    expect(planned.lostSeconds).toBe(lostSeconds);
    expect(planned.lostCost).toBe(lostCost);
    expect(planned.region).toBe('us-east4');
  });
});

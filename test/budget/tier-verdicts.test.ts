/**
 * The shedding path's pure verdicts, as tables: what became of a planned VM given its stop's
 * result, what became of an earlier attempt's decision given the VM now, where an unconfirmed
 * stop stands, and whether a tier is ACTED or INCOMPLETE and worth a retry now.
 */
import { describe, expect, it } from 'vitest';
import { OperationNotConfirmedError } from '../../functions/adapters/compute.js';
import type { ActionName, RecordedDecision } from '../../functions/budget/enforcement-ledger.js';
import type { PlannedAction, PlannedVm } from '../../functions/budget/plan-shedding.js';
import { recheckVerdict } from '../../functions/budget/recheck-unconfirmed.js';
import {
  plannedOutcome,
  recoveredOutcome,
  tierVerdict,
  type Settled,
  type TierShortfall,
} from '../../functions/budget/tier-verdicts.js';
import { PermanentError, TransientError } from '../../functions/core/errors.js';
import type { Vm } from '../../functions/core/vm.js';
import { vmWith } from '../support/stand-ins.js';

const done: Settled<unknown> = { status: 'fulfilled', value: undefined };
const failed = (reason: unknown): Settled<never> => ({ status: 'rejected', reason });
const seen = (vm: Vm | undefined): Settled<Vm | undefined> => ({ status: 'fulfilled', value: vm });
const notFound = Object.assign(new Error('The resource was not found'), { code: 404 });
const unconfirmed = new OperationNotConfirmedError('op-1', 'RUNNING', vmWith());

function planned(action: PlannedAction): PlannedVm {
  return {
    vm: vmWith(),
    priority: 'low',
    rate: { hourly: 0.2, spot: 0.2, onDemand: 0.8, currency: 'USD', source: 'catalog' },
    action,
    reason: 'priority low in tier 1',
  };
}

function recorded(action: ActionName): RecordedDecision {
  return {
    project: 'ml-training-prod',
    zone: 'us-central1-a',
    instance: 'vision-trainer-1',
    instanceId: '100000000000000001',
    machineType: 'n2-standard-8',
    provisioningModel: 'SPOT',
    priority: 'low',
    action,
    reason: action === 'STOPPING' ? 'priority low in tier 1; stop requested' : 'spared',
    hourlyCost: 0.2,
    priceCurrency: 'USD',
    priceSource: 'catalog',
    requestId: 'req-1',
  };
}

describe('plannedOutcome', () => {
  it.each([
    {
      plan: 'SKIP_EXEMPT',
      stop: undefined,
      dryRun: false,
      action: 'SKIPPED_EXEMPT',
      transient: false,
    },
    { plan: 'SKIP_MIG', stop: undefined, dryRun: false, action: 'SKIPPED_MIG', transient: false },
    { plan: 'SKIP_CAP', stop: undefined, dryRun: false, action: 'SKIPPED_CAP', transient: false },
    { plan: 'STOP', stop: undefined, dryRun: true, action: 'WOULD_STOP', transient: false },
    { plan: 'STOP', stop: done, dryRun: false, action: 'STOPPED', transient: false },
    { plan: 'STOP', stop: failed(notFound), dryRun: false, action: 'STOPPED', transient: false },
    {
      plan: 'STOP',
      stop: failed(unconfirmed),
      dryRun: false,
      action: 'UNCONFIRMED',
      transient: true,
    },
    {
      plan: 'STOP',
      stop: failed(new TransientError('quota')),
      dryRun: false,
      action: 'FAILED',
      transient: true,
    },
    {
      plan: 'STOP',
      stop: failed(new PermanentError('denied')),
      dryRun: false,
      action: 'FAILED',
      transient: false,
    },
  ] as const)(
    'a $plan with stop $stop.status (dry run $dryRun) is $action, transient $transient',
    ({ plan, stop, dryRun, action, transient }) => {
      const outcome = plannedOutcome(planned(plan), 'req-1', stop, dryRun);

      expect({ action: outcome.action, transient: outcome.transient }).toEqual({
        action,
        transient,
      });
    },
  );

  it('says why: a deleted VM is already gone, a dry run says so', () => {
    expect(plannedOutcome(planned('STOP'), 'req-1', failed(notFound), false).reason).toBe(
      'priority low in tier 1; already gone',
    );
    expect(plannedOutcome(planned('STOP'), undefined, undefined, true).reason).toBe(
      'priority low in tier 1; dry run',
    );
  });
});

describe('recoveredOutcome', () => {
  const running = vmWith({ status: 'RUNNING' });
  it.each([
    {
      earlier: 'SKIPPED_CAP',
      read: undefined,
      restop: undefined,
      action: 'SKIPPED_CAP',
      changed: false,
      reason: /^spared$/,
    },
    {
      earlier: 'STOPPED',
      read: undefined,
      restop: undefined,
      action: 'STOPPED',
      changed: false,
      reason: /^spared$/,
    },
    {
      earlier: 'STOPPING',
      read: failed(new TransientError('x')),
      restop: undefined,
      action: 'FAILED',
      changed: true,
      reason: /state unknown: x$/,
    },
    {
      earlier: 'STOPPING',
      read: seen(undefined),
      restop: undefined,
      action: 'STOPPED',
      changed: true,
      reason: /; already gone$/,
    },
    {
      earlier: 'STOPPING',
      read: seen(vmWith({ status: 'TERMINATED' })),
      restop: undefined,
      action: 'STOPPED',
      changed: true,
      reason: /earlier delivery, found TERMINATED$/,
    },
    {
      earlier: 'STOPPING',
      read: seen(running),
      restop: done,
      action: 'STOPPED',
      changed: true,
      reason: /stopped on redelivery$/,
    },
    {
      earlier: 'STOPPING',
      read: seen(running),
      restop: failed(notFound),
      action: 'STOPPED',
      changed: true,
      reason: /stopped on redelivery$/,
    },
    {
      earlier: 'STOPPING',
      read: seen(running),
      restop: failed(unconfirmed),
      action: 'UNCONFIRMED',
      changed: true,
      reason: /outcome is unconfirmed$/,
    },
    {
      earlier: 'STOPPING',
      read: seen(running),
      restop: failed(new PermanentError('denied')),
      action: 'FAILED',
      changed: true,
      reason: /denied/,
    },
  ] as const)(
    'an earlier $earlier, the VM read $read.status, restopped $restop.status: $action',
    ({ earlier, read, restop, action, changed, reason }) => {
      const recovered = recoveredOutcome(recorded(earlier), read, restop);

      expect({ action: recovered.outcome.action, changed: recovered.changed }).toEqual({
        action,
        changed,
      });
      expect(recovered.outcome.reason).toMatch(reason);
      expect(recovered.outcome.requestId).toBe('req-1');
    },
  );

  it('keeps the recorded price of a VM that is gone', () => {
    const { outcome } = recoveredOutcome(recorded('STOPPING'), seen(undefined), undefined);

    expect(outcome.planned.rate.hourly).toBe(0.2);
    expect(outcome.planned.vm.name).toBe('vision-trainer-1');
  });
});

describe('recheckVerdict', () => {
  it.each([
    { read: undefined, verdict: 'pending' },
    { read: failed(new TransientError('x')), verdict: 'pending' },
    { read: seen(undefined), verdict: 'confirmed' },
    { read: seen(vmWith({ status: 'TERMINATED' })), verdict: 'confirmed' },
    { read: seen(vmWith({ status: 'SUSPENDED' })), verdict: 'confirmed' },
    { read: seen(vmWith({ status: 'STOPPING' })), verdict: 'pending' },
    { read: seen(vmWith({ status: 'RUNNING' })), verdict: 'replan' },
  ] as const)('a VM read as $read.value.status ($read.status) is $verdict', ({ read, verdict }) => {
    expect(recheckVerdict(read)).toBe(verdict);
  });
});

describe('tierVerdict', () => {
  const clean: TierShortfall = {
    transientStops: 0,
    unconfirmedStops: 0,
    failedListings: 0,
    transientListings: 0,
    unreachableZones: 0,
  };
  it.each([
    { case: 'nothing left undone', shortfall: {}, outcome: 'ACTED', retry: false },
    {
      case: 'a stop failed transiently',
      shortfall: { transientStops: 1 },
      outcome: 'INCOMPLETE',
      retry: true,
    },
    {
      case: 'a stop not confirmed',
      shortfall: { unconfirmedStops: 2 },
      outcome: 'INCOMPLETE',
      retry: true,
    },
    {
      case: 'a listing failed transiently',
      shortfall: { failedListings: 1, transientListings: 1 },
      outcome: 'INCOMPLETE',
      retry: true,
    },
    {
      case: 'a listing failed for good',
      shortfall: { failedListings: 1 },
      outcome: 'INCOMPLETE',
      retry: false,
    },
    {
      case: 'a zone unreachable',
      shortfall: { unreachableZones: 1 },
      outcome: 'INCOMPLETE',
      retry: false,
    },
  ])('$case: $outcome, retry $retry', ({ shortfall, outcome, retry }) => {
    expect(tierVerdict({ ...clean, ...shortfall })).toEqual({ outcome, retry });
  });
});

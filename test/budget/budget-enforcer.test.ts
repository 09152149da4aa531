import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComputeFleet } from '../../functions/adapters/compute.js';
import { loggingNotifier, type Notifier } from '../../functions/adapters/slack.js';
import { PermanentError, TransientError } from '../../functions/core/errors.js';
import type { PriceLookup } from '../../functions/core/pricing.js';
import {
  type BudgetEnforcer,
  type BudgetEnforcerDeps,
} from '../../functions/budget/enforce-budget.js';
import { BigQueryEnforcementLedger } from '../../functions/budget/enforcement-ledger.js';
import type { BudgetNotification } from '../../functions/budget/notification.js';
import { parseBudgetNotification } from '../../functions/budget/notification.js';
import { budgetNotificationEvent } from '../../functions/sandbox/demos/budget-notifications.js';
import { readConfig } from '../../functions/core/config.js';
import { budgetSettings } from '../../functions/budget/policy.js';
import { ACCOUNT, BUDGET_ID, BudgetHarness, fakePrices, PERIOD } from './budget-harness.js';

const POLICY = readConfig(budgetSettings, {}).policy;

function notification(costAmount: number, messageId: string): BudgetNotification {
  const event = budgetNotificationEvent({
    billingAccountId: ACCOUNT,
    budgetId: BUDGET_ID,
    budgetAmount: 5000,
    costAmount,
    costIntervalStart: PERIOD,
    messageId,
    publishTime: '2026-11-20T00:00:00Z',
  });
  return parseBudgetNotification(event.data, event.id);
}

// The enforcer with the sandbox's real adapters, some wrapped to misbehave in one exact way.
describe('the budget enforcer under failures', () => {
  let harness: BudgetHarness;
  let fleet: ComputeFleet;

  beforeEach(async () => {
    harness = await BudgetHarness.start();
    fleet = new ComputeFleet(
      {
        instances: () => harness.runtime.clients.instances(),
        zoneOperations: () => harness.runtime.clients.zoneOperations(),
      },
      { logger: harness.runtime.logger, retry: { baseDelayMs: 1 } },
    );
  });
  afterEach(() => harness.close());

  function enforcer(overrides: Partial<BudgetEnforcerDeps> = {}, policy = POLICY) {
    return harness.enforcer(
      { fleet, notifier: loggingNotifier(harness.runtime.logger) },
      overrides,
      { policy, dashboardUrl: 'https://lookerstudio.google.com/reporting/costguard' },
    );
  }

  it('keeps to a tier cap when a delivery stopped VMs but its notification row was never written', async () => {
    const capped = readConfig(budgetSettings, {
      COSTGUARD_BUDGET_POLICY: '{"tiers":[{"at":1,"stop":["low"],"maxStops":2}]}',
    }).policy;
    const ledger = new BigQueryEnforcementLedger(harness.ledger);
    let failNotificationWrite = true;
    const flaky = Object.assign(Object.create(ledger) as BigQueryEnforcementLedger, {
      recordNotification: (
        ...args: Parameters<BigQueryEnforcementLedger['recordNotification']>
      ) => {
        if (failNotificationWrite) {
          failNotificationWrite = false;
          return Promise.reject(new TransientError('BigQuery unavailable'));
        }
        return ledger.recordNotification(...args);
      },
    });
    const enforce = enforcer({ ledger: flaky }, capped);

    await expect(enforce.handle(notification(5000, '7'))).rejects.toThrow('BigQuery unavailable');
    // The cap of two goes to the most expensive low VMs.
    expect(harness.stoppedNames()).toEqual(['low-a100', 'low-n2-8']);

    // Pub/Sub redelivers: the ledger has no notification row, only the stops' action rows,
    // which the redelivery reports as its own, as if the first delivery had finished.
    const report = await enforce.handle(notification(5000, '7'));
    expect(harness.stoppedNames()).toEqual(['low-a100', 'low-n2-8']);
    expect(report.outcomes.map((o) => [o.planned.vm.name, o.action]).sort()).toEqual([
      ['exempt-low', 'SKIPPED_EXEMPT'],
      ['low-a100', 'STOPPED'],
      ['low-n2-4', 'SKIPPED_CAP'],
      ['low-n2-8', 'STOPPED'],
      ['mig-low', 'SKIPPED_MIG'],
      ['unlabelled-e2', 'SKIPPED_CAP'],
    ]);
    expect(Object.values(harness.stopOperations())).toEqual([1, 1]);
  });

  it('counts a VM deleted between listing and stopping as done', async () => {
    const stopAll: ComputeFleet['stopAll'] = (targets, concurrency) => {
      const vm = harness.sandbox.fleet.get('ml-training-prod', 'us-central1-b', 'low-n2-4');
      if (vm) harness.sandbox.fleet.remove(vm);
      return fleet.stopAll(targets, concurrency);
    };
    const report = await enforcer({
      fleet: { listing: fleet.listing.bind(fleet), get: fleet.get.bind(fleet), stopAll },
    }).handle(notification(5000, '1'));
    const gone = report.outcomes.find((o) => o.planned.vm.name === 'low-n2-4');
    expect(gone).toMatchObject({ action: 'STOPPED' });
    expect(gone?.reason).toMatch(/already gone$/);
    expect(report.outcome).toBe('ACTED');
  });

  it('orders an unpriceable VM as costing nothing and still stops it', async () => {
    const prices: PriceLookup = {
      rate: (machine) =>
        machine.machineType === 'a2-highgpu-1g'
          ? Promise.reject(new TransientError('catalog unavailable'))
          : fakePrices.rate(machine),
    };
    const report = await enforcer({ prices }).handle(notification(5000, '2'));
    const names = report.outcomes
      .filter((o) => o.action === 'STOPPED')
      .map((o) => o.planned.vm.name);
    expect(names).toEqual(['low-n2-8', 'low-n2-4', 'unlabelled-e2', 'low-a100']);
    expect((await harness.actions()).find((a) => a.instance_name === 'low-a100')).toMatchObject({
      hourly_cost: null,
      action: 'STOPPED',
    });
  });

  /** A budget over the whole account, whose data-pipelines project cannot be listed. */
  function listingFails(error: () => Error): BudgetEnforcer {
    return enforcer({
      fleet: {
        listing: (project, filter) =>
          project === 'data-pipelines' ? Promise.reject(error()) : fleet.listing(project, filter),
        get: fleet.get.bind(fleet),
        stopAll: fleet.stopAll.bind(fleet),
      },
      budgets: {
        scope: () =>
          Promise.resolve({
            name: 'b',
            displayName: 'b',
            projects: [],
            resourceAncestors: [],
            subaccounts: [],
          }),
      },
      projects: { idOf: (n) => Promise.resolve(n) },
    });
  }

  it('acts in the projects it could list and asks for a retry for the one it could not', async () => {
    const enforce = listingFails(() => new TransientError('Compute unavailable'));
    await expect(enforce.handle(notification(5000, '3'))).rejects.toThrow(TransientError);
    expect(harness.stoppedNames()).toEqual(['low-a100', 'low-n2-4', 'low-n2-8', 'unlabelled-e2']);
    const [row] = await harness.notifications();
    expect(row).toMatchObject({ outcome: 'INCOMPLETE', stopped: 4 });
    expect(row?.reason).toContain('listing data-pipelines failed (Compute unavailable)');
  });

  it('leaves the tier incomplete without a retry when a project cannot be listed for good', async () => {
    const enforce = listingFails(() => new PermanentError('Compute Engine API is disabled'));
    const report = await enforce.handle(notification(5000, '8'));
    expect(report.outcome).toBe('INCOMPLETE');
    expect(harness.stoppedNames()).toEqual(['low-a100', 'low-n2-4', 'low-n2-8', 'unlabelled-e2']);
    const [row] = await harness.notifications();
    expect(row).toMatchObject({ outcome: 'INCOMPLETE', stopped: 4 });
    expect(row?.reason).toContain('listing data-pipelines failed (Compute Engine API is disabled)');
  });

  it('does not ask for a retry when only Slack failed: the stops are done and recorded', async () => {
    const notifier: Notifier = {
      enabled: true,
      post: () => Promise.reject(new TransientError('Slack request failed')),
      update: () => Promise.resolve(),
    };
    const report = await enforcer({ notifier }).handle(notification(5000, '4'));
    expect(report.outcome).toBe('ACTED');
    expect(harness.stoppedNames()).toEqual(['low-a100', 'low-n2-4', 'low-n2-8', 'unlabelled-e2']);
    expect(harness.runtime.logger.entries.some((e) => e.message === 'Slack message not sent')).toBe(
      true,
    );
  });

  it('writes one log line per decision, with the identity of the message and the VM', async () => {
    await enforcer().handle(notification(5000, '5'));
    const lines = harness.runtime.logger.entries.filter(
      (e) => e.message === 'Budget enforcement decision',
    );
    expect(lines.map((l) => [l.instance, l.action]).sort()).toEqual([
      ['exempt-low', 'SKIPPED_EXEMPT'],
      ['low-a100', 'STOPPED'],
      ['low-n2-4', 'STOPPED'],
      ['low-n2-8', 'STOPPED'],
      ['mig-low', 'SKIPPED_MIG'],
      ['unlabelled-e2', 'STOPPED'],
    ]);
    expect(lines[0]).toMatchObject({
      messageId: '5',
      budgetId: BUDGET_ID,
      period: PERIOD,
      tier: 1,
    });
  });

  it('lets a permanent budget lookup failure through for the edge to acknowledge', async () => {
    const budgets = {
      scope: () =>
        Promise.reject(new PermanentError('Budget billingAccounts/x/budgets/y does not exist')),
    };
    await expect(enforcer({ budgets }).handle(notification(5000, '6'))).rejects.toThrow(
      PermanentError,
    );
    expect(harness.stoppedNames()).toEqual([]);
  });
});

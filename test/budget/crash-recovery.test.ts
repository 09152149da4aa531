/**
 * enforceBudget killed at each step of a tier, then the same message redelivered as Pub/Sub
 * does: every VM is stopped at most once, the ledger counts what the fleet shows, and the tier
 * gets one Slack message with the right count.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComputeFleet } from '../../functions/adapters/compute.js';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import type { Notifier } from '../../functions/adapters/slack.js';
import { budgetNotificationEvent } from '../../functions/sandbox/demos/budget-notifications.js';
import { type BudgetEnforcerDeps } from '../../functions/budget/enforce-budget.js';
import { BigQueryEnforcementLedger } from '../../functions/budget/enforcement-ledger.js';
import { parseBudgetNotification } from '../../functions/budget/notification.js';
import { budgetSettings } from '../../functions/budget/policy.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { ACCOUNT, BUDGET_ID, BudgetHarness, PERIOD } from './budget-harness.js';

const POLICY = readConfig(budgetSettings, {}).policy;
const LOW_VMS = ['low-a100', 'low-n2-4', 'low-n2-8', 'unlabelled-e2'];

/** A step that never returns (the instance was killed there), and a signal that it was reached. */
function killSwitch(): { killed: () => Promise<never>; reached: Promise<void> } {
  let reach: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return {
    killed: () => {
      reach();
      return new Promise<never>(() => undefined);
    },
    reached,
  };
}

const notification = parseBudgetNotification(
  budgetNotificationEvent({
    billingAccountId: ACCOUNT,
    budgetId: BUDGET_ID,
    budgetAmount: 5000,
    costAmount: 5000,
    costIntervalStart: PERIOD,
    messageId: '9001',
    publishTime: '2026-11-20T00:00:00Z',
  }).data,
  'event-9001',
);

describe('enforceBudget after a crash in the middle of a tier', () => {
  let harness: BudgetHarness;
  let fleet: ComputeFleet;
  let ledger: BigQueryEnforcementLedger;
  let notifier: Notifier;

  beforeEach(async () => {
    harness = await BudgetHarness.start();
    const { runtime } = harness;
    fleet = new ComputeFleet(
      {
        instances: () => runtime.clients.instances(),
        zoneOperations: () => runtime.clients.zoneOperations(),
      },
      { logger: runtime.logger, retry: { baseDelayMs: 1 } },
    );
    ledger = new BigQueryEnforcementLedger(harness.ledger);
    notifier = commonAdapters(runtime, readConfig(commonSettings, runtime.env)).notifier;
  });
  afterEach(() => harness.close());

  function enforcer(overrides: Partial<BudgetEnforcerDeps> = {}, policy = POLICY) {
    return harness.enforcer({ fleet, notifier }, overrides, { policy });
  }

  /** The ledger with its n-th write of action rows followed by a kill. */
  function ledgerKilledAfterActions(
    n: number,
    killed: () => Promise<never>,
  ): BigQueryEnforcementLedger {
    let writes = 0;
    return Object.assign(Object.create(ledger) as BigQueryEnforcementLedger, {
      recordDecisions: async (
        ...args: Parameters<BigQueryEnforcementLedger['recordDecisions']>
      ) => {
        await ledger.recordDecisions(...args);
        if (++writes === n) return killed();
      },
    });
  }

  const crashes: Array<{
    when: string;
    crash: (killed: () => Promise<never>) => Partial<BudgetEnforcerDeps>;
  }> = [
    {
      when: 'after the intent rows',
      crash: (killed) => ({ ledger: ledgerKilledAfterActions(1, killed) }),
    },
    {
      when: 'during the stops',
      crash: (killed) => ({
        fleet: {
          listing: fleet.listing.bind(fleet),
          get: fleet.get.bind(fleet),
          stopAll: async (targets, concurrency) => {
            await fleet.stopAll(targets.slice(0, 2), concurrency);
            return killed();
          },
        },
      }),
    },
    {
      when: 'after the stops',
      crash: (killed) => ({
        fleet: {
          listing: fleet.listing.bind(fleet),
          get: fleet.get.bind(fleet),
          stopAll: async (targets, concurrency) => {
            await fleet.stopAll(targets, concurrency);
            return killed();
          },
        },
      }),
    },
    {
      when: 'after the outcome rows',
      crash: (killed) => ({ ledger: ledgerKilledAfterActions(2, killed) }),
    },
    { when: 'before Slack', crash: (killed) => ({ notifier: { ...notifier, post: killed } }) },
  ];

  it.each(crashes)('finishes the tier on redelivery when killed $when', async ({ crash }) => {
    // Prepare: the first delivery dies at the step; its promise never settles.
    const kill = killSwitch();
    void enforcer(crash(kill.killed)).handle(notification);
    await kill.reached;

    // Act: Pub/Sub redelivers the message to a fresh instance.
    harness.sandbox.clock.advance(10_000);
    const report = await enforcer().handle(notification);

    // Assess
    expect(harness.stoppedNames()).toEqual(LOW_VMS);
    expect(Object.values(harness.stopOperations()).every((count) => count === 1)).toBe(true);
    expect(report.outcome).toBe('ACTED');
    const actions = await harness.actions();
    expect(
      actions
        .filter((a) => a.action === 'STOPPED')
        .map((a) => a.instance_name)
        .sort(),
    ).toEqual(LOW_VMS);
    expect(actions.filter((a) => a.action === 'STOPPING')).toEqual([]);
    const tierRows = (await harness.notifications()).filter((r) => r.tier === 1);
    expect(tierRows.map((r) => [r.outcome, r.stopped])).toEqual([['ACTED', 4]]);
    const messages = harness.slack();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.text).toMatch(/Stopped 4 VM\(s\)/);
  });

  it('keeps to the tier cap when killed after the intent rows, stopping the intended VMs', async () => {
    const capped = readConfig(budgetSettings, {
      COSTGUARD_BUDGET_POLICY: '{"tiers":[{"at":1,"stop":["low"],"maxStops":2}]}',
    }).policy;
    const kill = killSwitch();
    void enforcer({ ledger: ledgerKilledAfterActions(1, kill.killed) }, capped).handle(
      notification,
    );
    await kill.reached;

    harness.sandbox.clock.advance(10_000);
    await enforcer({}, capped).handle(notification);

    expect(harness.stoppedNames()).toEqual(['low-a100', 'low-n2-8']);
    expect(harness.stopOperations()).toEqual({ 'low-a100': 1, 'low-n2-8': 1 });
    const tierRows = (await harness.notifications()).filter((r) => r.tier === 1);
    expect(tierRows.map((r) => [r.outcome, r.stopped])).toEqual([['ACTED', 2]]);
    expect(harness.slack().map((m) => /Stopped (\d+) VM/.exec(m.text)?.[1])).toEqual(['2']);
  });
});

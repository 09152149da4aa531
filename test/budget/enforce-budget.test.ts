import { afterEach, describe, expect, it } from 'vitest';
import { BudgetDirectory } from '../../functions/adapters/budgets.js';
import { buildEnforceBudget } from '../../functions/budget/entry.js';
import {
  budgetNotificationEvent,
  demoBudget,
  type MessagePublishedData,
} from '../../functions/sandbox/demos/budget-notifications.js';
import { stopRequestId } from '../../functions/budget/stop-request-id.js';
import { ConfigError } from '../../functions/core/errors.js';
import { bindVmTags, ORGANIZATION } from '../../functions/sandbox/routes/resource-manager.js';
import { FIXTURES, loadFixture } from '../support/fixtures.js';
import {
  ACCOUNT,
  BUDGET_ID,
  BudgetHarness,
  fakePrices,
  NEXT_PERIOD,
  PERIOD,
  SPOT_PRICES,
} from './budget-harness.js';

/** The low-priority Spot VMs of the budget's allow-listed project (unlabelled counts as low). */
const LOW = ['low-a100', 'low-n2-4', 'low-n2-8', 'unlabelled-e2'];
const MEDIUM = ['medium-l4', 'medium-n2-16'];
/** VMs no tier of the default policy may ever stop. */
const NEVER = [
  'critical-n2',
  'exempt-low',
  'high-c2',
  'mig-low',
  'pipeline-low',
  'preemptible-low',
  'research-low',
  'standard-low',
];
const BUDGET = 5000;

interface Published {
  type: string;
  data: MessagePublishedData;
}

const price = (name: string): number =>
  ({
    'low-a100': SPOT_PRICES['a2-highgpu-1g'],
    'low-n2-8': SPOT_PRICES['n2-standard-8'],
    'low-n2-4': SPOT_PRICES['n2-standard-4'],
    'unlabelled-e2': SPOT_PRICES['e2-standard-4'],
    'medium-l4': SPOT_PRICES['g2-standard-8'],
    'medium-n2-16': SPOT_PRICES['n2-standard-16'],
  })[name] ?? Number.NaN;

const sum = (names: readonly string[]): number => names.reduce((s, n) => s + price(n), 0);

describe('enforceBudget end to end (functions-framework, real clients, sandbox)', () => {
  let harness: BudgetHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  const start = async (...args: Parameters<typeof BudgetHarness.start>): Promise<BudgetHarness> => {
    harness = await BudgetHarness.start(...args);
    return harness;
  };

  it('stops the low-priority Spot VMs of the budget projects when spend reaches 100%', async () => {
    // Prepare
    const h = await start();
    // Act
    const delivery = await h.notify({ costAmount: BUDGET, messageId: '1001' });
    // Assess
    expect(delivery.status).toBe(204);
    expect(h.stoppedNames()).toEqual(LOW);
    expect([...MEDIUM, ...NEVER].filter((name) => h.status(name) === 'TERMINATED')).toEqual([]);

    const actions = await h.actions();
    expect(actions.map((a) => [a.instance_name, a.action, a.tier])).toEqual([
      ['exempt-low', 'SKIPPED_EXEMPT', 1],
      ['low-a100', 'STOPPED', 1],
      ['low-n2-4', 'STOPPED', 1],
      ['low-n2-8', 'STOPPED', 1],
      ['mig-low', 'SKIPPED_MIG', 1],
      ['unlabelled-e2', 'STOPPED', 1],
    ]);
    const a100 = actions.find((a) => a.instance_name === 'low-a100');
    expect(a100).toMatchObject({
      priority: 'low',
      hourly_cost: price('low-a100'),
      dry_run: false,
      request_id: stopRequestId(BUDGET_ID, PERIOD, '1', {
        project: 'ml-training-prod',
        zone: 'us-central1-a',
        name: 'low-a100',
      }),
      period: '2026-11-01 07:00:00',
    });

    const [notification] = await h.notifications();
    expect(notification).toMatchObject({
      message_id: '1001',
      outcome: 'ACTED',
      tier: 1,
      stopped: 4,
      failed: 0,
      spared: 2,
    });
    expect(notification?.saving_per_hour).toBeCloseTo(sum(LOW), 6);

    const slack = h.slack();
    expect(slack).toHaveLength(1);
    expect(slack[0]?.text).toBe(
      `Budget Spot ML training at 100%: tier 100%. Stopped 4 VM(s), about $${sum(LOW).toFixed(4)}/h.`,
    );
    const blocks = JSON.stringify(slack[0]?.blocks);
    expect(blocks).toContain('$5,000.00 of $5,000.00 (100%)');
    expect(blocks).toContain('*Stopped 4 VMs*');
    expect(blocks).toContain('`ml-training-prod/us-central1-a/low-a100` low, $1.4696/h');
    expect(blocks).toContain('*Spared 1 exempt*');
    expect(blocks).toContain('*Spared 1 in a managed instance group (reported only)*');
    expect(blocks).toContain('research-sandbox');
  });

  it('with priorities from tags, stops a VM labelled critical by its owner and spares a tag-critical one', async () => {
    // Prepare: only a holder of tag-user rights binds tags; anyone who owns a VM sets its labels.
    const h = await start({
      env: {
        COSTGUARD_BUDGET_POLICY: JSON.stringify({
          tiers: [{ at: 1, stop: ['low'] }],
          prioritySource: 'tags',
          priorityTag: `${ORGANIZATION}/costguard-priority`,
          exemptTag: `${ORGANIZATION}/costguard-exempt`,
        }),
      },
    });
    const vm = (zone: string, name: string) => ({ project: 'ml-training-prod', zone, name });
    bindVmTags(h.sandbox, vm('us-central1-a', 'low-n2-8'), { 'costguard-priority': 'critical' });
    bindVmTags(h.sandbox, vm('us-central1-a', 'low-a100'), { 'costguard-exempt': 'true' });
    bindVmTags(h.sandbox, vm('us-central1-b', 'high-c2'), { 'costguard-priority': 'high' });
    await h.serve();
    h.sandbox.calls.length = 0;

    // Act
    const delivery = await h.notify({ costAmount: BUDGET, messageId: '1001' });

    // Assess: the owner's own critical and exempt labels count for nothing; the tags do.
    expect(delivery.status).toBe(204);
    expect(h.stoppedNames()).toEqual([
      'critical-n2',
      'exempt-low',
      'low-n2-4',
      'medium-l4',
      'medium-n2-16',
      'unlabelled-e2',
    ]);
    const actions = await h.actions();
    expect(actions.map((a) => [a.instance_name, a.action, a.reason])).toContainEqual([
      'low-a100',
      'SKIPPED_EXEMPT',
      `exempt by tag ${ORGANIZATION}/costguard-exempt`,
    ]);
    // One effectiveTags.list per VM a tier could concern: the 10 running Spot VMs in scope.
    const tagReads = h.sandbox.calls.filter(
      (c) => c.route === 'resourcemanager.effectiveTags.list',
    );
    expect(tagReads).toHaveLength(10);
  });

  it('walks the tiers as spend grows: below, notify, stop low, stop medium, then nothing more', async () => {
    const h = await start();
    const steps: Array<[number, string[], number]> = [
      [2000, [], 0],
      [4100, [], 1],
      [5100, LOW, 2],
      [5600, [...LOW, ...MEDIUM].sort(), 3],
      [6400, [...LOW, ...MEDIUM].sort(), 3],
    ];
    for (const [cost, stopped, messages] of steps) {
      expect((await h.notify({ costAmount: cost })).status).toBe(204);
      expect({ cost, stopped: h.stoppedNames(), messages: h.slack().length }).toEqual({
        cost,
        stopped,
        messages,
      });
    }
    expect(NEVER.filter((name) => h.status(name) === 'TERMINATED')).toEqual([]);
    expect(Object.values(h.stopOperations()).every((n) => n === 1)).toBe(true);
    expect((await h.notifications()).map((n) => [n.outcome, n.tier])).toEqual([
      ['BELOW_TIERS', null],
      ['NOTIFIED', 0.8],
      ['ACTED', 1],
      ['ACTED', 1.1],
      ['ALREADY_ACTED', 1.1],
    ]);
    expect(h.slack()[0]?.text).toContain(
      'No VM is stopped at this tier. Next: 100%: stop low priority.',
    );
  });

  it('in dry run (the default) records and reports the same plan as WOULD_STOP and stops nothing', async () => {
    const h = await start({ env: { COSTGUARD_BUDGET_ENFORCE: '' } });
    expect((await h.notify({ costAmount: BUDGET })).status).toBe(204);
    expect(h.stoppedNames()).toEqual([]);
    expect(h.sandbox.calls.some((c) => c.route === 'compute.instances.stop')).toBe(false);
    const actions = await h.actions();
    expect(actions.filter((a) => a.action === 'WOULD_STOP').map((a) => a.instance_name)).toEqual(
      LOW,
    );
    expect(
      actions.every((a) => a.dry_run && (a.request_id === null) === (a.action !== 'WOULD_STOP')),
    ).toBe(true);
    expect(h.slack()[0]?.text).toMatch(
      /^\[dry run\] Budget Spot ML training at 100%: tier 100%\. Would stop 4 VM/,
    );
    expect(JSON.stringify(h.slack()[0]?.blocks)).toContain(
      'Set COSTGUARD_BUDGET_ENFORCE=true to enforce',
    );

    // A second dry-run message for the tier changes nothing; switching enforcement on acts.
    await h.notify({ costAmount: BUDGET + 10 });
    expect(h.slack()).toHaveLength(1);
    await h.serve({}, { COSTGUARD_BUDGET_ENFORCE: 'true' });
    await h.notify({ costAmount: BUDGET + 20 });
    expect(h.stoppedNames()).toEqual(LOW);
    expect(h.slack()).toHaveLength(2);
    expect(
      (await h.actions()).filter((a) => a.action === 'STOPPED').map((a) => a.instance_name),
    ).toEqual(LOW);
  });

  it('acts once for a message delivered twice', async () => {
    const h = await start();
    const event = budgetNotificationEvent(h.figures({ costAmount: BUDGET, messageId: '2002' }));
    expect((await h.deliver(event)).status).toBe(204);
    expect((await h.deliver(event)).status).toBe(204);
    expect(h.stopOperations()).toEqual(Object.fromEntries(LOW.map((n) => [n, 1])));
    expect(h.slack()).toHaveLength(1);
    expect((await h.notifications()).map((n) => n.outcome)).toEqual(['ACTED']);
  });

  it('acts once for two copies of a message arriving at the same time', async () => {
    const h = await start();
    const event = budgetNotificationEvent(h.figures({ costAmount: BUDGET, messageId: '3003' }));
    const deliveries = await Promise.all([h.deliver(event), h.deliver(event)]);
    expect(deliveries.map((d) => d.status)).toEqual([204, 204]);
    expect(h.stopOperations()).toEqual(Object.fromEntries(LOW.map((n) => [n, 1])));
    expect(h.slack()).toHaveLength(1);
    expect((await h.notifications()).map((n) => n.outcome)).toEqual(['ACTED']);
  });

  it('never stops a VM twice even when two instances handle the same message at once', async () => {
    // Without max-instances=1 the per-instance lock cannot help; the requestIds still do.
    const h = await start();
    const first = await h.serve();
    const second = await h.serve();
    const event = budgetNotificationEvent(h.figures({ costAmount: BUDGET, messageId: '4004' }));
    await Promise.all([h.deliver(event, first), h.deliver(event, second)]);
    expect(h.stopOperations()).toEqual(Object.fromEntries(LOW.map((n) => [n, 1])));
    expect(
      (await h.actions()).filter((a) => a.action === 'STOPPED').map((a) => a.instance_name),
    ).toEqual(LOW);
  });

  it('changes nothing for a message older than one already handled (out of order)', async () => {
    const h = await start();
    await h.notify({ costAmount: 5050, messageId: '5005' });
    for (const vm of h.sandbox.fleet.all()) if (LOW.includes(vm.name)) h.sandbox.fleet.start(vm);
    const late = await h.notify({ costAmount: 5010, messageId: '5004' });
    expect(late.status).toBe(204);
    expect(h.stopOperations()).toEqual(Object.fromEntries(LOW.map((n) => [n, 1])));
    expect(LOW.map((n) => h.status(n))).toEqual(LOW.map(() => 'RUNNING'));
    expect(h.slack()).toHaveLength(1);
    expect((await h.notifications()).map((n) => [n.message_id, n.outcome])).toEqual([
      ['5005', 'ACTED'],
      ['5004', 'OUT_OF_ORDER'],
    ]);
  });

  it('takes a cost below every tier into account when telling a later one out of order', async () => {
    const h = await start();
    await h.notify({ costAmount: 2000, messageId: '5101' });
    await h.notify({ costAmount: 1500, messageId: '5102' });
    expect((await h.notifications()).map((n) => [n.message_id, n.outcome])).toEqual([
      ['5101', 'BELOW_TIERS'],
      ['5102', 'OUT_OF_ORDER'],
    ]);
  });

  it('starts fresh in a new budget period', async () => {
    const h = await start();
    await h.notify({ costAmount: BUDGET });
    for (const vm of h.sandbox.fleet.all()) if (LOW.includes(vm.name)) h.sandbox.fleet.start(vm);
    h.sandbox.clock.advance(12 * 86_400_000);
    // A December message with less spend than November's is not out of order: it is a new period.
    await h.notify({ costAmount: 2000 });
    expect(LOW.map((n) => h.status(n))).toEqual(LOW.map(() => 'RUNNING'));
    await h.notify({ costAmount: BUDGET, costIntervalStart: NEXT_PERIOD });
    expect(h.stopOperations()).toEqual(Object.fromEntries(LOW.map((n) => [n, 2])));
    expect(h.slack()).toHaveLength(2);
    const periods = (await h.actions())
      .filter((a) => a.instance_name === 'low-a100')
      .map((a) => a.period);
    expect(periods).toEqual(['2026-11-01 07:00:00', '2026-12-01 08:00:00']);
  });

  it('reports a partial failure, asks for a retry, and the retry finishes without stopping twice', async () => {
    const h = await start({ env: { COSTGUARD_BUDGET_STOP_CONCURRENCY: '1' } });
    // Four failures exhaust the retries of the first stop only: the most expensive low VM.
    h.sandbox.faults.set('compute.instances.stop', { fail: { count: 4, status: 503 } });
    const event = budgetNotificationEvent(h.figures({ costAmount: BUDGET, messageId: '6006' }));

    const first = await h.deliver(event);
    expect(first.status).toBe(500);
    expect(h.stoppedNames()).toEqual(['low-n2-4', 'low-n2-8', 'unlabelled-e2']);
    expect((await h.actions()).find((a) => a.instance_name === 'low-a100')?.action).toBe('FAILED');
    expect(h.slack()).toHaveLength(1);
    expect(JSON.stringify(h.slack()[0]?.blocks)).toContain('*Failed to stop 1*');

    const retry = await h.deliver(event);
    expect(retry.status).toBe(204);
    expect(h.stoppedNames()).toEqual(LOW);
    expect(h.stopOperations()).toEqual(Object.fromEntries(LOW.map((n) => [n, 1])));
    expect((await h.actions()).find((a) => a.instance_name === 'low-a100')?.action).toBe('STOPPED');
    const [root, followUp] = h.slack();
    expect(followUp?.threadTs).toBe(root?.ts);
    expect(followUp?.text).toBe('Retry of tier 100%: stopped 1 more, 0 still failing.');
    expect((await h.notifications()).map((n) => [n.outcome, n.stopped, n.failed])).toEqual([
      ['INCOMPLETE', 3, 1],
      ['ACTED', 1, 0],
    ]);

    expect((await h.deliver(event)).status).toBe(204);
    expect(h.slack()).toHaveLength(2);
  });

  it('acknowledges a permanent stop failure: reported, not retried', async () => {
    const h = await start({ env: { COSTGUARD_BUDGET_STOP_CONCURRENCY: '1' } });
    h.sandbox.faults.set('compute.instances.stop', {
      fail: { count: 1, status: 400, message: 'Instance is protected' },
    });
    const event = budgetNotificationEvent(h.figures({ costAmount: BUDGET, messageId: '7007' }));
    expect((await h.deliver(event)).status).toBe(204);
    expect(h.status('low-a100')).toBe('RUNNING');
    const failed = (await h.actions()).find((a) => a.instance_name === 'low-a100');
    expect(failed).toMatchObject({ action: 'FAILED' });
    expect(failed?.reason).toContain('Instance is protected');
    expect((await h.notifications()).map((n) => [n.outcome, n.failed])).toEqual([['ACTED', 1]]);
    expect((await h.deliver(event)).status).toBe(204);
    expect(h.status('low-a100')).toBe('RUNNING');
  });

  // Each case spoils one part of a good delivery: its type, or its {message, subscription} data.
  it.each<{ case: string; spoil: (event: Published) => Partial<Published> | { data: unknown } }>([
    {
      case: 'malformed base64',
      spoil: (e) => ({ data: { ...e.data, message: { ...e.data.message, data: '%%%' } } }),
    },
    {
      case: 'data that is not JSON',
      spoil: (e) => ({
        data: {
          ...e.data,
          message: { ...e.data.message, data: Buffer.from('over!').toString('base64') },
        },
      }),
    },
    {
      case: 'a zero budget',
      spoil: (e) => {
        const data = JSON.parse(Buffer.from(e.data.message.data, 'base64').toString()) as object;
        const bad = Buffer.from(JSON.stringify({ ...data, budgetAmount: 0 })).toString('base64');
        return { data: { ...e.data, message: { ...e.data.message, data: bad } } };
      },
    },
    {
      case: 'an unknown schemaVersion',
      spoil: (e) => ({
        data: {
          ...e.data,
          message: {
            ...e.data.message,
            attributes: { ...e.data.message.attributes, schemaVersion: '9' },
          },
        },
      }),
    },
    {
      case: 'a cost the ledger cannot hold',
      spoil: (e) => {
        const data = JSON.parse(Buffer.from(e.data.message.data, 'base64').toString()) as object;
        const bad = Buffer.from(JSON.stringify({ ...data, costAmount: 1e30 })).toString('base64');
        return { data: { ...e.data, message: { ...e.data.message, data: bad } } };
      },
    },
    {
      case: 'another event type',
      spoil: () => ({ type: 'google.cloud.storage.object.v1.finalized' }),
    },
    { case: 'no message', spoil: () => ({ data: { subscription: 's' } }) },
  ])('acknowledges $case with one error line and changes nothing', async ({ spoil }) => {
    const h = await start();
    const event = budgetNotificationEvent(h.figures({ costAmount: 9000, messageId: '8008' }));
    const good: Published = { type: event.type, data: event.data as MessagePublishedData };
    const delivery = await h.deliver({ ...event, ...spoil(good) });
    expect(delivery.status).toBe(204);
    expect(h.stoppedNames()).toEqual([]);
    expect(await h.notifications()).toEqual([]);
    expect(await h.actions()).toEqual([]);
    expect(h.slack()).toEqual([]);
    const errors = h.runtime.logger.entries.filter((e) => e.severity === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      message: 'Budget notification rejected; acknowledged without action',
      messageId: '8008',
    });
  });

  it('takes the raw push body the Pub/Sub emulator sends', async () => {
    const h = await start();
    const delivery = await h.push(h.pushBody({ costAmount: BUDGET, messageId: '9009' }));
    expect(delivery.status).toBe(204);
    expect(h.stoppedNames()).toEqual(LOW);
    expect((await h.notifications())[0]?.message_id).toBe('9009');
  });

  it('acts on the allow-listed projects for a budget over the whole billing account', async () => {
    const h = await start({
      budget: loadFixture('budget/get-budget-whole-account.json'),
      env: { COSTGUARD_BUDGET_IDS: '0c4b3c5e-5d1a-4a8e-bb2f-97f1e3d5a6c7' },
    });
    await h.notify({ costAmount: BUDGET, budgetId: '0c4b3c5e-5d1a-4a8e-bb2f-97f1e3d5a6c7' });
    expect(h.stoppedNames()).toEqual([...LOW, 'pipeline-low'].sort());
    expect(h.status('research-low')).toBe('RUNNING');
  });

  it('acts nowhere for a budget limited to a folder, and says so', async () => {
    const h = await start({
      budget: loadFixture('budget/get-budget-folder.json'),
      env: { COSTGUARD_BUDGET_IDS: '93a1be2c-4f7d-4c1e-8a55-3e2f1d0c9b8a' },
    });
    await h.notify({ costAmount: BUDGET, budgetId: '93a1be2c-4f7d-4c1e-8a55-3e2f1d0c9b8a' });
    expect(h.stoppedNames()).toEqual([]);
    const blocks = JSON.stringify(h.slack()[0]?.blocks);
    expect(blocks).toContain('*Nothing to stop*');
    expect(blocks).toContain('folders/246813579024 without naming projects');
  });

  it.each([
    {
      what: 'a budget costguard did not deploy',
      forged: { budgetId: 'f00dfeed-0000-4000-8000-000000000000' },
    },
    { what: 'another billing account', forged: { billingAccountId: '0A1B2C-3D4E5F-6A7B8C' } },
  ])(
    'believes nothing from $what: stops nothing, records nothing, and the genuine alert still acts',
    async ({ forged }) => {
      // Prepare
      const h = await start();
      // Act: a forged message far over budget, then the genuine one at 100%.
      const forgedDelivery = await h.notify({
        costAmount: BUDGET * 10,
        messageId: '666',
        ...forged,
      });
      // Assess
      expect(forgedDelivery.status).toBe(204);
      expect(h.stoppedNames()).toEqual([]);
      expect(await h.actions()).toEqual([]);
      expect(await h.notifications()).toEqual([]);
      expect(h.slack()).toEqual([]);
      const refusal = h.runtime.logger.entries.find(
        (e) =>
          e.message === 'Budget notification from an unknown source; acknowledged without action',
      );
      expect(refusal).toMatchObject({ severity: 'ERROR', messageId: '666' });

      await h.notify({ costAmount: BUDGET, messageId: '1001' });
      expect(h.stoppedNames()).toEqual(LOW);
      expect((await h.notifications()).map((n) => [n.message_id, n.outcome])).toEqual([
        ['1001', 'ACTED'],
      ]);
    },
  );

  it('refuses to start without the deployed billing account and budget ids', async () => {
    await expect(start({ env: { COSTGUARD_BUDGET_IDS: '' } })).rejects.toThrow(
      'Invalid configuration: COSTGUARD_BUDGET_IDS',
    );
    await expect(start({ env: { COSTGUARD_BILLING_ACCOUNT: 'my-account' } })).rejects.toThrow(
      'Invalid configuration: COSTGUARD_BILLING_ACCOUNT',
    );
  });

  it('acknowledges a notification for a budget that does not exist', async () => {
    const h = await start({
      env: { COSTGUARD_BUDGET_IDS: `${BUDGET_ID},f00dfeed-0000-4000-8000-000000000000` },
    });
    expect(
      (await h.notify({ costAmount: BUDGET, budgetId: 'f00dfeed-0000-4000-8000-000000000000' }))
        .status,
    ).toBe(204);
    expect(h.stoppedNames()).toEqual([]);
    const error = h.runtime.logger.entries.find(
      (e) => e.message === 'Event failed permanently; acknowledged',
    );
    expect(JSON.stringify(error)).toContain('does not exist');
  });

  it('asks for a retry and stops nothing while the ledger cannot be read', async () => {
    const h = await start();
    h.sandbox.faults.set('bigquery.jobs.*', { fail: { count: 100, status: 503 } });
    expect((await h.notify({ costAmount: BUDGET })).status).toBe(500);
    expect(h.stoppedNames()).toEqual([]);
    h.sandbox.faults.clear();
    expect((await h.notify({ costAmount: BUDGET })).status).toBe(204);
    expect(h.stoppedNames()).toEqual(LOW);
  });

  it('caps a tier, spends the cap once across a retry, and spares the rest', async () => {
    const h = await start({
      env: {
        COSTGUARD_BUDGET_POLICY_FILE: `${FIXTURES}policies/budget-capped.json`,
        COSTGUARD_BUDGET_STOP_CONCURRENCY: '1',
      },
    });
    h.sandbox.faults.set('compute.instances.stop', { fail: { count: 4, status: 503 } });
    const event = budgetNotificationEvent(h.figures({ costAmount: BUDGET, messageId: '1111' }));
    expect((await h.deliver(event)).status).toBe(500);
    expect(h.stoppedNames()).toEqual(['low-n2-8']);
    expect((await h.deliver(event)).status).toBe(204);
    expect(h.stoppedNames()).toEqual(['low-a100', 'low-n2-8']);
    const actions = await h.actions();
    expect(actions.map((a) => [a.instance_name, a.action])).toEqual([
      ['exempt-low', 'SKIPPED_EXEMPT'],
      ['low-a100', 'STOPPED'],
      ['low-n2-4', 'SKIPPED_CAP'],
      ['low-n2-8', 'STOPPED'],
      ['mig-low', 'SKIPPED_MIG'],
      ['preemptible-low', 'SKIPPED_CAP'],
    ]);
  });

  it('refuses a policy that reaches outside the governed projects', async () => {
    const h = await start();
    await expect(
      buildEnforceBudget(
        {
          ...h.runtime,
          env: {
            ...h.runtime.env,
            COSTGUARD_BUDGET_POLICY:
              '{"tiers":[{"at":1,"stop":["low"]}],"projects":["research-sandbox"]}',
          },
        },
        { prices: fakePrices },
      ),
    ).rejects.toThrow(
      new ConfigError(
        'Invalid configuration: COSTGUARD_BUDGET_POLICY: expected projects within COSTGUARD_PROJECTS; got research-sandbox',
      ),
    );
  });

  it('serves the budget it was given through the Budgets API', async () => {
    const h = await start({
      budget: demoBudget({
        billingAccountId: ACCOUNT,
        budgetId: BUDGET_ID,
        displayName: 'Given budget',
        amount: 700,
        projectNumbers: ['271828182845'],
      }),
    });
    const budgets = new BudgetDirectory(() => h.runtime.clients.budgets(), {
      logger: h.runtime.logger,
    });
    expect(await budgets.scope(ACCOUNT, BUDGET_ID)).toMatchObject({
      displayName: 'Given budget',
      projects: ['271828182845'],
    });
  });
});

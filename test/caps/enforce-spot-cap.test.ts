import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../functions/adapters/bigquery.js';
import { buildEnforceSpotCap } from '../../functions/caps/entry.js';
import { putBudget } from '../../functions/sandbox/routes/billing-budgets.js';
import { bindVmTags, ORGANIZATION } from '../../functions/sandbox/routes/resource-manager.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { loadFixture } from '../support/fixtures.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { spotPrices } from '../support/stand-ins.js';
import {
  sandboxLedger,
  sandboxRuntime,
  startTestSandbox,
  type Sandbox,
} from '../support/sandbox.js';

// One sandbox for the file: the caps fleet (seven Spot VMs running since 2026-11-18 00:00 UTC,
// six of team vision over two projects), the ledger migrated, and the recorder's hours written
// straight into spot_costs. The vision cap is 10 USD a day; its VMs cost 0.8844 USD an hour.
const PRICES = {
  'n2-standard-8': 0.1552,
  'n2-standard-4': 0.0776,
  'g2-standard-8': 0.3412,
  'a2-highgpu-1g': 1.4696,
};
const VISION_CAP = {
  name: 'vision-daily',
  scope: { label: 'team=vision' },
  period: 'day',
  amount: 10,
  currency: 'USD',
  tiers: [{ at: 0.5 }, { at: 1, stop: ['low'] }, { at: 1.5, stop: ['low', 'medium'] }],
};
const NLP_CAP = {
  name: 'nlp-daily',
  scope: { projects: ['ml-training-prod'], label: 'team=nlp' },
  period: 'day',
  amount: 1,
  currency: 'USD',
  tiers: [{ at: 1, stop: ['low'] }],
};
const ENV = {
  COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines',
  COSTGUARD_DATASET: 'costguard',
  COSTGUARD_SLACK_CHANNEL: 'C0FINOPS',
  SLACK_BOT_TOKEN: 'xoxb-sandbox-not-a-secret',
  COSTGUARD_DASHBOARD_URL: 'https://lookerstudio.google.com/reporting/costguard',
};

interface CapReply {
  status: number;
  body: {
    caps: Array<Record<string, unknown> & { cap: string; stopped: string[] }>;
    dryRun: boolean;
    error?: string;
    issues?: string[];
  };
}

describe('enforceSpotCap on the sandbox', () => {
  let sandbox: Sandbox;
  let ledger: Ledger;
  let enforcing: ServedTarget;
  let dryRun: ServedTarget;
  let serve: (name: string, env: Record<string, string>) => Promise<ServedTarget>;

  const at = (iso: string) => sandbox.clock.set(new Date(iso));

  async function call(target: ServedTarget, init: RequestInit = { method: 'POST' }) {
    const response = await fetch(target.url, init);
    return { status: response.status, body: (await response.json()) as CapReply['body'] };
  }

  /** The recorder's rows for one hour: the vision fleet at `vision` USD, nlp at 1.4696. */
  async function recordHour(hour: string, vision: number): Promise<void> {
    const row = (instance: string, team: string, cost: number) => ({
      key: `${instance}/${hour}`,
      row: {
        row_key: `ml-training-prod/us-central1-a/${instance}/${hour}`,
        usage_hour: hour,
        project_id: 'ml-training-prod',
        zone: 'us-central1-a',
        instance_id: instance,
        provisioning_model: 'SPOT',
        uptime_seconds: 3600,
        cost: String(cost),
        currency: 'USD',
        team,
        labels: JSON.stringify({ team }),
        price_source: 'catalog',
        attributes_source: 'compute',
        recorded_at: sandbox.clock.now().toISOString(),
      },
    });
    await ledger.insert('spot_costs', [row('vision', 'vision', vision), row('nlp', 'nlp', 1.4696)]);
  }

  function stopOperations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const op of sandbox.fleet.operations) {
      if (op.operationType === 'stop') out[op.targetName] = (out[op.targetName] ?? 0) + 1;
    }
    return out;
  }

  const slackTexts = () => slackState(sandbox).messages.map((m) => m.text);

  beforeAll(async () => {
    sandbox = await startTestSandbox('caps/fleet.json');
    serve = async (name: string, env: Record<string, string>) => {
      const runtime = sandboxRuntime(sandbox, { ...ENV, ...env });
      return serveTarget(name, {
        kind: 'http',
        handler: await buildEnforceSpotCap(runtime, { prices: spotPrices(PRICES) }),
      });
    };
    const runtime = sandboxRuntime(sandbox, ENV);
    ledger = sandboxLedger(runtime);
    await ledger.migrate();
    enforcing = await serve('enforceSpotCap', {
      COSTGUARD_SPOT_CAPS: JSON.stringify([VISION_CAP]),
      COSTGUARD_SPOT_CAPS_ENFORCE: 'true',
    });
    dryRun = await serve('enforceSpotCap-dry-run', {
      COSTGUARD_SPOT_CAPS: JSON.stringify([NLP_CAP]),
    });
    at('2026-11-18T10:00:00Z');
    for (let h = 0; h < 10; h++) {
      await recordHour(`2026-11-18T${String(h).padStart(2, '0')}:00:00.000Z`, 0.8);
    }
  }, 60_000);

  afterAll(async () => {
    await enforcing?.close();
    await dryRun?.close();
    await sandbox?.close();
  });

  it('shows spend so far as recorded + estimated, the forecast and its method, and notifies a tier', async () => {
    // Act: 10:30, hours 00-09 recorded at 0.8 each; 30 minutes of the fleet not yet recorded.
    at('2026-11-18T10:30:00Z');
    const reply = await call(enforcing);

    // Assess
    expect(reply.status).toBe(200);
    expect(reply.body.caps).toEqual([
      {
        cap: 'vision-daily',
        periodStart: '2026-11-18T00:00:00.000Z',
        periodEnd: '2026-11-19T00:00:00.000Z',
        amount: 10,
        currency: 'USD',
        recorded: 8,
        estimated: 0.4422,
        spend: 8.4422,
        recordedThrough: '2026-11-18T10:00:00.000Z',
        runningVms: 6,
        stoppedVms: 0,
        // 8.4422 + max(0.8, 0.8844) × 13.5 h
        forecast: 20.3816,
        forecastMethod:
          'spend so far + max(last 3 recorded h 0.8/h, running fleet 0.8844/h) × 13.5 h to period end',
        headroom: 1.5578,
        tierReached: 0.5,
        outcome: 'NOTIFIED',
        tier: 0.5,
        stopped: [],
      },
    ]);
    expect(slackTexts().at(-1)).toBe(
      'Spot cap vision-daily at 84.4%: tier 50%. No VM is stopped at this tier. Next: 100%: stop low priority.',
    );
    expect(stopOperations()).toEqual({});
  });

  it('warns once that the forecast crosses a tier, and stops nothing for a forecast', async () => {
    at('2026-11-18T10:40:00Z');
    const first = await call(enforcing);
    at('2026-11-18T10:50:00Z');
    const second = await call(enforcing);

    expect(first.body.caps[0]).toMatchObject({ outcome: 'FORECAST_WARNING' });
    expect(second.body.caps[0]).toMatchObject({ outcome: 'ALREADY_ACTED' });
    const warnings = slackTexts().filter((t) => t.includes('is forecast to reach'));
    expect(warnings).toEqual([
      'Spot cap vision-daily is forecast to reach 150%; spend so far $8.59 of $10.00 (85.9%). Forecasts only warn; nothing is stopped.',
    ]);
    expect(stopOperations()).toEqual({});
  });

  it('stops the low-priority VMs of its scope within one run of the crossing, exempt and other teams spared', async () => {
    // Prepare: the recorder closes 10:00-11:00 with a burst: 2.5 USD.
    at('2026-11-18T11:10:00Z');
    await recordHour('2026-11-18T10:00:00.000Z', 2.5);

    // Act
    const reply = await call(enforcing);

    // Assess: 10.5 recorded + 0.8844 × 10 min = 10.6474, 106%: tier 100% stops low.
    expect(reply.status).toBe(200);
    expect(reply.body.caps[0]).toMatchObject({
      recorded: 10.5,
      estimated: 0.1474,
      spend: 10.6474,
      outcome: 'ACTED',
      tier: 1,
    });
    expect(reply.body.caps[0]?.stopped.sort()).toEqual([
      'data-pipelines/us-east1-b/vision-pipeline-low',
      'ml-training-prod/us-central1-a/vision-low-a',
      'ml-training-prod/us-central1-a/vision-low-b',
    ]);
    expect(stopOperations()).toEqual({
      'vision-low-a': 1,
      'vision-low-b': 1,
      'vision-pipeline-low': 1,
    });
    const running = sandbox.fleet
      .live()
      .filter((vm) => vm.status === 'RUNNING')
      .map((vm) => vm.name)
      .sort();
    expect(running).toEqual(['nlp-low', 'vision-critical', 'vision-exempt', 'vision-medium']);

    const tierMessage = slackState(sandbox).messages.at(-1);
    expect(tierMessage?.text).toBe(
      'Spot cap vision-daily at 106.5%: tier 100%. Stopped 3 VM(s), about $0.3104/h.',
    );
    const blocks = JSON.stringify(tierMessage?.blocks);
    expect(blocks).toContain(
      '*Spend so far* $10.65: $10.50 recorded + $0.15 estimated for hours not yet recorded',
    );
    expect(blocks).toContain('`▓▓▓▓▓▓▓▓▓░░░░░░░░░░░` 46.5% of the period gone');
    expect(blocks).toContain('`▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓` 106.5% of the cap spent');
    expect(blocks).toContain('*Spared 1 exempt*');
    expect(blocks).toContain(
      '<https://lookerstudio.google.com/reporting/costguard|Cost dashboard>',
    );
  });

  it('records each stop with the cap as its trigger, and acts once per tier across runs', async () => {
    // Act: two more runs, as Cloud Scheduler would make (one of them a retry).
    at('2026-11-18T11:20:00Z');
    const again = await call(enforcing);
    const retried = await call(enforcing);

    // Assess
    expect(again.body.caps[0]).toMatchObject({ outcome: 'ALREADY_ACTED', stopped: [] });
    expect(retried.body.caps[0]).toMatchObject({ outcome: 'ALREADY_ACTED', stopped: [] });
    expect(Object.values(stopOperations())).toEqual([1, 1, 1]);
    const actions = await ledger.query<Record<string, unknown>>(
      `SELECT trigger_kind, budget_id, instance_name, action, CAST(tier AS FLOAT64) AS tier,
         CAST(budget_amount AS FLOAT64) AS cap_amount
       FROM \`\${dataset}.enforcement_log\` ORDER BY instance_name`,
    );
    expect(actions).toEqual(
      [
        ['vision-exempt', 'SKIPPED_EXEMPT'],
        ['vision-low-a', 'STOPPED'],
        ['vision-low-b', 'STOPPED'],
        ['vision-pipeline-low', 'STOPPED'],
      ].map(([instance, action]) => ({
        trigger_kind: 'cap',
        budget_id: 'vision-daily',
        instance_name: instance,
        action,
        tier: 1,
        cap_amount: 10,
      })),
    );
    const runs = await ledger.query<{ outcome: string; n: number }>(
      `SELECT outcome, COUNT(*) AS n FROM \`\${dataset}.cap_runs\` GROUP BY outcome ORDER BY outcome`,
    );
    const [status] = await ledger.query<Record<string, unknown>>(
      `SELECT CAST(run_date AS STRING) AS run_date,
         FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', last_run_at) AS last_run_at,
         CAST(recorded_spend AS FLOAT64) AS recorded_spend,
         CAST(estimated_spend AS FLOAT64) AS estimated_spend, CAST(spend AS FLOAT64) AS spend,
         CAST(forecast AS FLOAT64) AS forecast, CAST(cap_amount AS FLOAT64) AS cap_amount,
         CAST(headroom AS FLOAT64) AS headroom, tier_reached, tier_carried_out, vms_stopped
       FROM \`\${dataset}.cap_status\` WHERE cap_name = 'vision-daily'`,
    );
    const last = again.body.caps[0];
    expect(status).toEqual({
      run_date: '2026-11-18',
      last_run_at: '2026-11-18T11:20:00Z',
      recorded_spend: last?.recorded,
      estimated_spend: last?.estimated,
      spend: last?.spend,
      forecast: last?.forecast,
      cap_amount: 10,
      headroom: last?.headroom,
      tier_reached: 1,
      tier_carried_out: 1,
      vms_stopped: 3,
    });
    // The retry at the same instant is the same run: its row is the first one's, not a second.
    expect(runs).toEqual([
      { outcome: 'ACTED', n: 1 },
      { outcome: 'ALREADY_ACTED', n: 2 },
      { outcome: 'FORECAST_WARNING', n: 1 },
      { outcome: 'NOTIFIED', n: 1 },
    ]);
  });

  it('in dry run says what it would stop and stops nothing', async () => {
    // nlp-low alone: 11 recorded hours at 1.4696 + 20 minutes, far over its 1 USD cap.
    const reply = await call(dryRun);

    expect(reply.status).toBe(200);
    expect(reply.body.dryRun).toBe(true);
    expect(reply.body.caps[0]).toMatchObject({
      cap: 'nlp-daily',
      recorded: 16.1656,
      estimated: 0.489867,
      outcome: 'ACTED',
      stopped: ['ml-training-prod/us-central1-a/nlp-low'],
    });
    expect(sandbox.fleet.live().find((vm) => vm.name === 'nlp-low')?.status).toBe('RUNNING');
    expect(slackTexts().at(-1)).toBe(
      '[dry run] Spot cap nlp-daily at 1665.5%: tier 100%. Would stop 1 VM(s), about $1.4696/h.',
    );
  });

  it('with priorities from tags, would stop a VM labelled critical by its owner and spares a tag-critical one', async () => {
    // Prepare: running at 11:20 are vision-critical, vision-exempt (by their owners' labels)
    // and vision-medium, which a tag user tagged critical. A 1 USD cap is far exceeded.
    bindVmTags(
      sandbox,
      { project: 'ml-training-prod', zone: 'us-central1-a', name: 'vision-medium' },
      { 'costguard-priority': 'critical' },
    );
    const tagged = await serve('enforceSpotCap-tags', {
      COSTGUARD_SPOT_CAPS: JSON.stringify([
        {
          ...VISION_CAP,
          name: 'vision-tags',
          amount: 1,
          tiers: [{ at: 1, stop: ['low'] }],
          prioritySource: 'tags',
          priorityTag: `${ORGANIZATION}/costguard-priority`,
          exemptTag: `${ORGANIZATION}/costguard-exempt`,
        },
      ]),
    });

    // Act
    const reply = await call(tagged);
    await tagged.close();

    // Assess: the labels count for nothing, the tag spares its VM; a dry run stops nothing.
    expect(reply.status).toBe(200);
    expect(reply.body.caps[0]).toMatchObject({ cap: 'vision-tags', outcome: 'ACTED' });
    expect([...(reply.body.caps[0]?.stopped ?? [])].sort()).toEqual([
      'ml-training-prod/us-central1-a/vision-critical',
      'ml-training-prod/us-central1-a/vision-exempt',
    ]);
    expect(Object.values(stopOperations())).toEqual([1, 1, 1]);
  });

  it('follows the period of the budget a cap names, and checks no cap whose budget it cannot read', async () => {
    // Prepare: a cap over the vision fleet for the custom period of a budget (2026-11-10 to
    // 2027-02-28, Pacific time), and one naming a budget that does not exist.
    putBudget(sandbox, loadFixture('caps/get-budget-custom-period.json'));
    const account = 'billingAccounts/01D4EE-079462-DFD6EC/budgets';
    const followed = await serve('enforceSpotCap-budget-period', {
      COSTGUARD_SPOT_CAPS: JSON.stringify([
        {
          ...VISION_CAP,
          name: 'vision-winter',
          period: 'budget',
          budget: `${account}/9b2c6e1a-5d3f-4a7b-8c9d-0e1f2a3b4c5d`,
          amount: 20000,
        },
        { ...VISION_CAP, name: 'vision-gone', period: 'budget', budget: `${account}/gone` },
      ]),
    });
    at('2026-11-18T11:30:00Z');

    // Act
    const reply = await call(followed);
    await followed.close();

    // Assess: the period is the budget's, from midnight Pacific time; all hours of the 18th count.
    expect(reply.status).toBe(200);
    const [winter, gone] = reply.body.caps;
    expect(winter).toMatchObject({
      cap: 'vision-winter',
      periodStart: '2026-11-10T08:00:00.000Z',
      periodEnd: '2027-03-01T08:00:00.000Z',
      outcome: 'BELOW_TIERS',
    });
    expect(Number(winter?.recorded)).toBeGreaterThan(0);
    expect(gone).toMatchObject({ cap: 'vision-gone', outcome: 'NO_PERIOD', stopped: [] });
    expect(sandbox.calls.filter((c) => c.route === 'billingbudgets.budgets.get')).toHaveLength(2);
  });

  it('adds the time a VM ran past the last recorded hour up to its stop, and nothing for one stopped before', async () => {
    // Prepare: a cap over the critical VMs alone (vision-critical, n2-standard-8 at 0.1552/h,
    // none of whose hours the recorder's rows carry); recorded through 11:00, it stops at 11:40.
    const critical = await serve('enforceSpotCap-critical', {
      COSTGUARD_SPOT_CAPS: JSON.stringify([
        { ...VISION_CAP, name: 'critical-daily', scope: { label: 'priority=critical' } },
      ]),
    });
    const vm = sandbox.fleet.live().find((v) => v.name === 'vision-critical');
    at('2026-11-18T11:40:00Z');
    if (vm) sandbox.fleet.stop(vm);

    // Act: a run at 11:55, then one after the recorder has closed 11:00-12:00.
    at('2026-11-18T11:55:00Z');
    const afterStop = await call(critical);
    await recordHour('2026-11-18T11:00:00.000Z', 0.8);
    at('2026-11-18T12:10:00Z');
    const afterRecorded = await call(critical);
    await critical.close();

    // Assess: 0.1552 × 40/60 = 0.103467, though the VM no longer runs; once the recorder has
    // covered the stop, the stopped VM adds nothing.
    expect(vm?.status).toBe('TERMINATED');
    expect(afterStop.body.caps[0]).toMatchObject({
      cap: 'critical-daily',
      recorded: 0,
      estimated: 0.103467,
      spend: 0.103467,
      recordedThrough: '2026-11-18T11:00:00.000Z',
      runningVms: 0,
      stoppedVms: 1,
    });
    expect(afterRecorded.body.caps[0]).toMatchObject({
      recorded: 0,
      estimated: 0,
      spend: 0,
      recordedThrough: '2026-11-18T12:00:00.000Z',
      runningVms: 0,
      stoppedVms: 0,
    });
  });

  it.each([
    {
      case: 'a body',
      init: {
        method: 'POST',
        body: '{"cap":"x"}',
        headers: { 'content-type': 'application/json' },
      },
      status: 400,
      error: 'The request body must be empty: a run checks every cap',
    },
    {
      case: 'another method',
      init: { method: 'PUT' },
      status: 405,
      error: 'Method PUT is not allowed; use POST',
    },
  ])('refuses $case and changes nothing', async ({ init, status, error }) => {
    const before = sandbox.fleet.operations.length;
    const reply = await call(enforcing, init);
    expect(reply).toMatchObject({ status, body: { error } });
    expect(sandbox.fleet.operations.length).toBe(before);
  });

  it('asks for approval at a tier that says so, asks once, and stops on the timeout by default', async () => {
    // Prepare: the nlp VMs under a cap whose tier asks first and stops after 20 minutes.
    const approving = await serve('enforceSpotCap-approve', {
      COSTGUARD_SPOT_CAPS: JSON.stringify([
        {
          ...NLP_CAP,
          name: 'nlp-approve',
          tiers: [{ at: 1, stop: ['low'], approve: { timeoutMinutes: 20, default: 'stop' } }],
        },
      ]),
      COSTGUARD_SPOT_CAPS_ENFORCE: 'true',
    });
    const nlpLow = () => sandbox.fleet.all().find((vm) => vm.name === 'nlp-low')?.status;
    const messages = slackState(sandbox).messages.length;

    try {
      // Act: the crossing, a run ten minutes later, and one past the deadline.
      at('2026-11-18T12:10:00Z');
      const asked = await call(approving);
      const ask = slackState(sandbox).messages.at(-1);
      const statusAsked = nlpLow();
      at('2026-11-18T12:20:00Z');
      const waiting = await call(approving);
      const posted = slackState(sandbox).messages.length - messages;
      at('2026-11-18T12:31:00Z');
      const resolved = await call(approving);

      // Assess
      expect(asked.body.caps[0]).toMatchObject({ outcome: 'AWAITING_APPROVAL', tier: 1 });
      expect(statusAsked).toBe('RUNNING');
      expect(JSON.stringify(ask?.blocks)).toContain('costguard_approve');
      expect(ask?.text).toContain('Spot cap nlp-approve');
      expect(waiting.body.caps[0]).toMatchObject({ outcome: 'AWAITING_APPROVAL', stopped: [] });
      expect(posted).toBe(1);
      expect(resolved.body.caps[0]).toMatchObject({
        outcome: 'ACTED',
        stopped: ['ml-training-prod/us-central1-a/nlp-low'],
      });
      expect(nlpLow()).toBe('TERMINATED');
      expect(JSON.stringify(ask?.updates.at(-1))).toContain(
        'Nobody decided by 2026-11-18 12:30 UTC, so the default applied: stopped 1 VM (`nlp-low`)',
      );
    } finally {
      await approving.close();
    }
  });
});

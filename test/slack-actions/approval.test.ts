import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_SLACK, slackState } from '../../functions/sandbox/routes/slack.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { playClick } from '../../functions/sandbox/slack-click.js';
import { buildSlackActions } from '../../functions/slack-actions/entry.js';
import { SlackNotifier } from '../../functions/adapters/slack.js';
import { actionsBlock, tierButtons } from '../../functions/core/slack-buttons.js';
import { BASE_ENV, BUDGET_ID, BudgetHarness } from '../budget/budget-harness.js';
import { sandboxRuntime } from '../support/sandbox.js';

// Approval mode end to end: the budget enforcer (enforcing) asks before a tier stops, and
// slackActions, served as the Slack app's interactivity URL on the same sandbox, answers
// Approve and Skip. Tier 100% stops low priority after approval, or nothing after 30 minutes
// without one; tier 110% stops low and medium after approval, or on its own after 30 minutes.
// Each scenario runs in a budget period of its own, so each tier asks afresh.
const POLICY = {
  tiers: [
    { at: 1.0, stop: ['low'], approve: { timeoutMinutes: 30, default: 'skip' } },
    { at: 1.1, stop: ['low', 'medium'], approve: { timeoutMinutes: 30, default: 'stop' } },
  ],
};
const ENV = {
  COSTGUARD_BUDGET_POLICY: JSON.stringify(POLICY),
  SLACK_SIGNING_SECRET: SANDBOX_SLACK.signingSecret,
  COSTGUARD_SLACK_ACTOR_GROUPS: SANDBOX_SLACK.actorGroup,
};
const MINUTE = 60_000;

describe('approval mode: a tier asks before it stops', () => {
  let harness: BudgetHarness;
  let slack: ServedTarget;

  const running = () => harness.runningNames();
  const notify = (period: string, costAmount: number) =>
    harness.notify({ costAmount, costIntervalStart: period });
  const rows = (period: string) =>
    harness.ledger.query<{
      instance_name: string;
      action: string;
      reason: string;
      slack_user_id: string | null;
    }>(
      `SELECT instance_name, action, reason, slack_user_id FROM \`\${dataset}.enforcement_actions\`
       WHERE cost_interval_start = TIMESTAMP(@period)
       QUALIFY ROW_NUMBER() OVER (PARTITION BY row_key ORDER BY recorded_at DESC,
         CASE action WHEN 'STOPPING' THEN 1 WHEN 'PROPOSED' THEN 2 ELSE 0 END) = 1
       ORDER BY instance_name`,
      { period },
    );
  const listed = async (period: string) =>
    (await rows(period)).filter((r) => r.action === 'PROPOSED').map((r) => r.instance_name);
  const outcomes = async (period: string) =>
    (
      await harness.ledger.query<{ outcome: string }>(
        `SELECT outcome FROM \`\${dataset}.budget_notifications\`
         WHERE cost_interval_start = TIMESTAMP(@period) ORDER BY recorded_at`,
        { period },
      )
    ).map((r) => r.outcome);
  const lastUpdate = (ts: string) =>
    JSON.stringify(
      harness
        .slack()
        .find((m) => m.ts === ts)
        ?.updates.at(-1) ?? null,
    );

  beforeAll(async () => {
    harness = await BudgetHarness.start({ env: ENV });
    harness.sandbox.clock.set(new Date('2026-11-20T10:00:00Z'));
    slack = await serveTarget('slackActionsApproval', {
      kind: 'http',
      handler: await buildSlackActions(sandboxRuntime(harness.sandbox, { ...BASE_ENV, ...ENV })),
    });
    slackState(harness.sandbox).app.interactivityUrl = slack.url;
  }, 60_000);

  afterAll(async () => {
    await slack?.close();
    await harness?.close();
  });

  it('skips on timeout when the default is skip: lists, asks once, then stops nothing', async () => {
    const period = '2026-07-01T07:00:00.000Z';
    const before = running();
    const messages = harness.slack().length;

    await notify(period, 5000);
    const ask = harness.slack().at(-1);
    const proposed = await listed(period);
    // Twenty minutes later: still waiting, not asked again.
    harness.sandbox.clock.advance(20 * MINUTE);
    await notify(period, 5010);
    const asked = harness.slack().length - messages;
    // Past the deadline: the next notification applies the default.
    harness.sandbox.clock.advance(11 * MINUTE);
    await notify(period, 5020);

    expect(proposed.length).toBeGreaterThan(2);
    expect(JSON.stringify(ask?.blocks)).toContain('costguard_approve');
    for (const name of proposed) expect(JSON.stringify(ask?.blocks)).toContain(name);
    expect(asked).toBe(1);
    expect(running()).toEqual(before);
    const after = await rows(period);
    expect(after.filter((r) => proposed.includes(r.instance_name)).map((r) => r.action)).toEqual(
      proposed.map(() => 'SKIPPED'),
    );
    expect(after.find((r) => r.action === 'SKIPPED')?.reason).toMatch(
      /approval timed out at .*; default skip/,
    );
    expect(await outcomes(period)).toEqual(['AWAITING_APPROVAL', 'AWAITING_APPROVAL', 'ACTED']);
    expect(lastUpdate(ask?.ts ?? '')).toContain('the default applied: stopped nothing');
    expect(lastUpdate(ask?.ts ?? '')).not.toContain('costguard_approve');
  });

  it('a click after the timeout resolved the tier changes nothing', async () => {
    const before = running();
    const ts = harness.slack().find((m) => JSON.stringify(m.blocks).includes('costguard_approve'))
      ?.ts as string;

    // The clicking user's Slack still shows the buttons.
    const played = await playClick(harness.sandbox, {
      actionId: 'costguard_approve',
      ts,
      stale: true,
    });

    expect(played.status).toBe(200);
    expect(running()).toEqual(before);
    expect(lastUpdate(ts)).toContain('already decided');
  });

  it('Skip from Slack stops nothing, names who skipped, and the tier is done', async () => {
    const period = '2026-08-01T07:00:00.000Z';
    const before = running();
    await notify(period, 5000);
    const ts = harness.slack().at(-1)?.ts as string;
    const proposed = await listed(period);
    harness.sandbox.clock.advance(2 * MINUTE);

    const played = await playClick(harness.sandbox, { actionId: 'costguard_skip', ts });
    harness.sandbox.clock.advance(40 * MINUTE);
    await notify(period, 5010);

    expect(played.status).toBe(200);
    expect(running()).toEqual(before);
    const after = (await rows(period)).filter((r) => proposed.includes(r.instance_name));
    expect(after.map((r) => [r.action, r.slack_user_id])).toEqual(
      proposed.map(() => ['SKIPPED', 'U0ONCALL']),
    );
    expect(lastUpdate(ts)).toContain('<@U0ONCALL> skipped budget');
    expect(await outcomes(period)).toEqual(['AWAITING_APPROVAL', 'ACTED']);
  });

  it('Approve from Slack: refuses an outsider, then stops exactly the listed VMs still running and eligible, once', async () => {
    const period = '2026-09-01T07:00:00.000Z';
    await notify(period, 5000);
    const ts = harness.slack().at(-1)?.ts as string;
    const proposed = await listed(period);
    const [exempted, stoppedMeanwhile, ...rest] = proposed as [string, string, ...string[]];
    // Meanwhile one listed VM is made exempt and another is stopped by its owner.
    const vm = (name: string) => harness.sandbox.fleet.all().find((v) => v.name === name);
    const exemptVm = vm(exempted);
    if (exemptVm) exemptVm.labels = { ...exemptVm.labels, 'costguard-exempt': 'true' };
    harness.sandbox.fleet.stop(vm(stoppedMeanwhile) as NonNullable<ReturnType<typeof vm>>);
    harness.sandbox.clock.advance(2 * MINUTE);
    const before = running();

    const refused = await playClick(harness.sandbox, {
      actionId: 'costguard_approve',
      ts,
      user: 'U0VIEWER',
    });
    const stillRunning = running();
    const approved = await playClick(harness.sandbox, { actionId: 'costguard_approve', ts });
    const afterApproval = running();
    // Slack delivers the same click again.
    await playClick(harness.sandbox, {
      actionId: 'costguard_approve',
      ts,
      actionTs: approved.actionTs,
      stale: true,
    });
    const stops = harness.stopOperations();
    const requested = new Map((await rows(period)).map((r) => [r.instance_name, r.action]));
    // The next notification confirms the stops the click requested, and the tier is done.
    await notify(period, 5010);

    expect(refused.status).toBe(200);
    expect(stillRunning).toEqual(before);
    expect(approved.status).toBe(200);
    expect(afterApproval).toEqual(before.filter((name) => !rest.includes(name)));
    expect(rest.every((name) => stops[name] === 1)).toBe(true);
    expect(rest.map((name) => requested.get(name))).toEqual(rest.map(() => 'UNCONFIRMED'));
    expect(await outcomes(period)).toEqual(['AWAITING_APPROVAL', 'ACTED']);
    expect(running()).toEqual(afterApproval);
    const after = new Map((await rows(period)).map((r) => [r.instance_name, r]));
    expect(after.get(exempted)?.action).toBe('SKIPPED_EXEMPT');
    expect(after.get(stoppedMeanwhile)?.action).toBe('SKIPPED');
    for (const name of rest) {
      expect(after.get(name)).toMatchObject({ action: 'STOPPED', slack_user_id: 'U0ONCALL' });
      expect(after.get(name)?.reason).toMatch(/approved from Slack by .*U0ONCALL/);
    }
    const clicks = await harness.ledger.query<{ outcome: string; vms_acted: number }>(
      "SELECT outcome, vms_acted FROM `${dataset}.slack_actions` WHERE action = 'approve' AND slack_ts = @ts ORDER BY recorded_at",
      { ts },
    );
    expect(clicks.map((c) => [c.outcome, Number(c.vms_acted)])).toEqual([
      ['REFUSED', 0],
      ['DONE', rest.length],
    ]);
    expect(lastUpdate(ts)).toContain(
      `<@U0ONCALL> approved budget ${BUDGET_ID}, tier 100%: asked Compute to stop ${rest.length} VMs`,
    );
    expect(lastUpdate(ts)).toContain('confirmed by the next run; 2 not stopped');
    expect(lastUpdate(ts)).not.toContain('costguard_skip');
  });

  it('stops on timeout when the default is stop, through the same stop path', async () => {
    const period = '2026-10-01T07:00:00.000Z';
    await notify(period, 5500);
    const ts = harness.slack().at(-1)?.ts as string;
    const proposed = await listed(period);
    const before = running();

    harness.sandbox.clock.advance(31 * MINUTE);
    await notify(period, 5510);
    // Another notification after it: the tier is done.
    await notify(period, 5520);

    expect(proposed.length).toBeGreaterThan(0);
    expect(running()).toEqual(before.filter((name) => !proposed.includes(name)));
    const after = (await rows(period)).filter((r) => proposed.includes(r.instance_name));
    expect(after.every((r) => r.action === 'STOPPED' && r.slack_user_id === null)).toBe(true);
    expect(after[0]?.reason).toMatch(/approval timed out at .*; default stop/);
    expect(await outcomes(period)).toEqual(['AWAITING_APPROVAL', 'ACTED', 'ALREADY_ACTED']);
    expect(lastUpdate(ts)).toContain(`the default applied: stopped ${proposed.length} VM`);
  });

  it('a snooze holds the timeout off: the listing stays, and the default applies after the snooze', async () => {
    const period = '2026-06-01T07:00:00.000Z';
    // The VMs earlier scenarios stopped run again.
    for (const vm of harness.sandbox.fleet.all()) {
      if (vm.status === 'TERMINATED' && vm.name !== 'stopped-low') harness.sandbox.fleet.start(vm);
    }
    const before = running();
    await notify(period, 5000);
    const proposed = await listed(period);
    // Someone snoozes the budget for an hour from a tier message of the same period.
    const target = { kind: 'budget' as const, id: BUDGET_ID, period, tier: 1 };
    const { ts } = await new SlackNotifier(
      () => harness.runtime.clients.slack('xoxb-sandbox-not-a-secret'),
      'C0FINOPS',
      harness.runtime.logger,
    ).post({
      text: 'Tier message',
      blocks: [actionsBlock('costguard-tier', tierButtons(target, false))],
    });
    await playClick(harness.sandbox, { actionId: 'costguard_snooze_1h', ts });

    harness.sandbox.clock.advance(40 * MINUTE);
    await notify(period, 5010);
    const whileHeld = await listed(period);
    harness.sandbox.clock.advance(30 * MINUTE);
    await notify(period, 5020);

    expect(whileHeld).toEqual(proposed);
    expect(running()).toEqual(before);
    const after = (await rows(period)).filter((r) => proposed.includes(r.instance_name));
    expect(after.map((r) => r.action)).toEqual(proposed.map(() => 'SKIPPED'));
    expect(await outcomes(period)).toEqual(['AWAITING_APPROVAL', 'SNOOZED', 'ACTED']);
  });
});

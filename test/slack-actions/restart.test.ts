import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SANDBOX_SLACK, slackState } from '../../functions/sandbox/routes/slack.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { playClick } from '../../functions/sandbox/slack-click.js';
import { buildSlackActions } from '../../functions/slack-actions/entry.js';
import { BudgetHarness } from '../budget/budget-harness.js';
import { sandboxRuntime } from '../support/sandbox.js';

// Restart what was stopped and Snooze, on the budget enforcer's own tier messages: the
// enforcer (enforcing) stops the low-priority Spot VMs at 100%, its message carries the
// buttons, and slackActions, served on the same sandbox as the Slack app's interactivity URL,
// answers the clicks. Only U0ONCALL (user group S0COSTGUARD) may act.
const SLACK_ENV = {
  SLACK_SIGNING_SECRET: SANDBOX_SLACK.signingSecret,
  COSTGUARD_SLACK_ACTOR_GROUPS: SANDBOX_SLACK.actorGroup,
};

describe('Restart what was stopped, from the tier message', () => {
  let harness: BudgetHarness;
  let slack: ServedTarget;
  let stopped: string[];
  let ts: string;

  const running = () => harness.runningNames();

  beforeAll(async () => {
    harness = await BudgetHarness.start();
    harness.sandbox.clock.set(new Date('2026-11-20T10:00:00Z'));
    const runtime = sandboxRuntime(harness.sandbox, { ...harness.runtime.env, ...SLACK_ENV });
    slack = await serveTarget('slackActionsRestart', {
      kind: 'http',
      handler: await buildSlackActions(runtime),
    });
    slackState(harness.sandbox).app.interactivityUrl = slack.url;
    await harness.notify({ costAmount: 5000 });
    stopped = harness.stoppedNames();
    ts = harness.slack().at(-1)?.ts ?? '';
    // Someone reads the message and clicks a minute later.
    harness.sandbox.clock.advance(60_000);
  }, 60_000);

  afterAll(async () => {
    await slack?.close();
    await harness?.close();
  });

  it('puts Restart and Snooze buttons on the tier message', () => {
    const buttons = JSON.stringify(harness.slack().at(-1)?.blocks);

    expect(stopped.length).toBeGreaterThan(0);
    for (const action of ['restart', 'snooze_1h', 'snooze_4h', 'snooze_tomorrow']) {
      expect(buttons).toContain(`costguard_${action}`);
    }
  });

  it('changes nothing on a forged click', async () => {
    const before = running();

    const played = await playClick(harness.sandbox, {
      actionId: 'costguard_restart',
      ts,
      forge: true,
    });

    expect(played.status).toBe(401);
    expect(running()).toEqual(before);
    expect(harness.slack().at(-1)?.updates).toEqual([]);
  });

  it('restarts exactly the VMs the tier stopped, updates the message and writes the rows', async () => {
    const before = running();

    const played = await playClick(harness.sandbox, { actionId: 'costguard_restart', ts });

    expect(played.status).toBe(200);
    expect(running()).toEqual([...before, ...stopped].sort());
    const actions = await harness.actions();
    expect(
      actions
        .filter((a) => a.action === 'RESTARTED')
        .map((a) => a.instance_name)
        .sort(),
    ).toEqual(stopped);
    const users = await harness.ledger.query<{ instance_name: string; slack_user_id: string }>(
      "SELECT instance_name, slack_user_id FROM `${dataset}.enforcement_actions` WHERE action = 'RESTARTED' ORDER BY instance_name",
    );
    expect(users.map((u) => u.slack_user_id)).toEqual(stopped.map(() => 'U0ONCALL'));
    const [click] = await harness.ledger.query<Record<string, unknown>>(
      'SELECT action, outcome, slack_user_id, vms_acted, CAST(hold_until AS STRING) AS hold_until FROM `${dataset}.slack_actions`',
    );
    expect(click).toMatchObject({
      action: 'restart',
      outcome: 'DONE',
      slack_user_id: 'U0ONCALL',
      vms_acted: stopped.length,
    });
    const update = JSON.stringify(
      harness
        .slack()
        .find((m) => m.ts === ts)
        ?.updates.at(-1),
    );
    expect(update).toContain(`<@U0ONCALL> restarted ${stopped.length} VMs stopped by budget`);
    // The starts were only requested in the reply; their confirmation updates the message again.
    await vi.waitFor(
      () => {
        const confirmed = JSON.stringify(
          harness
            .slack()
            .find((m) => m.ts === ts)
            ?.updates.at(-1),
        );
        expect(confirmed).toContain('<@U0ONCALL> start confirmed: ');
        for (const name of stopped) expect(confirmed).toContain(`\`${name}\``);
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it('restarts nothing on a second click: nothing the tier stopped is still stopped', async () => {
    const before = running();

    await playClick(harness.sandbox, { actionId: 'costguard_restart', ts });

    expect(running()).toEqual(before);
    const update = JSON.stringify(
      harness
        .slack()
        .find((m) => m.ts === ts)
        ?.updates.at(-1),
    );
    expect(update).toContain('nothing is still stopped');
  });

  it('after a snooze, the next tier records SNOOZED decisions and stops nothing', async () => {
    await playClick(harness.sandbox, { actionId: 'costguard_snooze_4h', ts });
    const before = running();

    // Act: spend reaches the next tier (110%: low and medium) within the snooze.
    await harness.notify({ costAmount: 5600 });

    expect(running()).toEqual(before);
    const snoozed = (await harness.actions()).filter((a) => a.action === 'SNOOZED');
    expect(snoozed.length).toBeGreaterThan(0);
    expect(
      snoozed.every((a) => a.tier === 1.1 && /held from Slack by U0ONCALL/.test(a.reason)),
    ).toBe(true);
    const outcomes = (await harness.notifications()).map((n) => n.outcome);
    expect(outcomes.at(-1)).toBe('SNOOZED');

    // Once the snooze has passed, the next notification carries the tier out.
    harness.sandbox.clock.advance(5 * 3_600_000);
    await harness.notify({ costAmount: 5700 });
    expect(running().length).toBeLessThan(before.length);
  });
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Ledger } from '../../functions/adapters/bigquery.js';
import { SlackNotifier } from '../../functions/adapters/slack.js';
import {
  actionsBlock,
  tierButtons,
  vmBlockId,
  vmExemptSection,
  type TierTarget,
} from '../../functions/core/slack-buttons.js';
import { clickRequest, playClick } from '../../functions/sandbox/slack-click.js';
import { SANDBOX_SLACK, slackState } from '../../functions/sandbox/routes/slack.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { buildSlackActions } from '../../functions/slack-actions/entry.js';
import {
  sandboxLedger,
  sandboxRuntime,
  startTestSandbox,
  type Sandbox,
} from '../support/sandbox.js';

// One sandbox for the file: slackActions served as Slack's interactivity URL, a tier message
// with its buttons posted to the sandbox's Slack, the ledger migrated. Only the sandbox
// workspace's user group S0COSTGUARD (U0ONCALL) may act; U0VIEWER may not.
const ENV = {
  COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines',
  COSTGUARD_DATASET: 'costguard',
  COSTGUARD_SLACK_CHANNEL: SANDBOX_SLACK.channel,
  SLACK_BOT_TOKEN: 'xoxb-sandbox-not-a-secret',
  SLACK_SIGNING_SECRET: SANDBOX_SLACK.signingSecret,
  COSTGUARD_SLACK_ACTOR_GROUPS: SANDBOX_SLACK.actorGroup,
};
const TIER: TierTarget = {
  kind: 'budget',
  id: 'b-team',
  period: '2026-12-01T00:00:00Z',
  tier: 1,
};

const LOW_A = { project: 'ml-training-prod', zone: 'us-central1-a', name: 'vision-low-a' };
const EXEMPT = { project: 'ml-training-prod', zone: 'us-central1-a', name: 'vision-exempt' };

describe('slackActions: the edge', () => {
  let sandbox: Sandbox;
  let ledger: Ledger;
  let served: ServedTarget;
  let ts: string;

  const clickRows = () =>
    ledger.query<{ action: string; outcome: string; slack_user_id: string; hold_until: unknown }>(
      'SELECT action, outcome, slack_user_id, hold_until FROM `${dataset}.slack_actions` ORDER BY recorded_at, action_ts',
    );
  const message = () => slackState(sandbox).messages.find((m) => m.ts === ts);

  beforeAll(async () => {
    sandbox = await startTestSandbox('caps/fleet.json');
    sandbox.clock.set(new Date('2026-12-05T13:00:00Z'));
    const runtime = sandboxRuntime(sandbox, ENV);
    ledger = sandboxLedger(runtime);
    await ledger.migrate();
    served = await serveTarget('slackActions', {
      kind: 'http',
      handler: await buildSlackActions(runtime),
    });
    slackState(sandbox).app.interactivityUrl = served.url;
    const notifier = new SlackNotifier(
      () => runtime.clients.slack(ENV.SLACK_BOT_TOKEN),
      SANDBOX_SLACK.channel,
      runtime.logger,
    );
    const posted = await notifier.post({
      text: 'Budget b-team reached tier 100%',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*Budget b-team* reached 100%' } },
        actionsBlock('costguard-tier', tierButtons(TIER, false)),
        ...[LOW_A, EXEMPT].map((vm, i) => vmExemptSection(vm, `\`${vm.name}\``, i)),
      ],
    });
    ts = posted.ts;
  }, 60_000);

  afterAll(async () => {
    await served?.close();
    await sandbox?.close();
  });

  it('refuses a forged signature with 401 and changes nothing', async () => {
    // Act
    const played = await playClick(sandbox, { actionId: 'costguard_snooze_1h', forge: true });

    // Assess
    expect(played.status).toBe(401);
    expect(JSON.parse(played.body)).toEqual({
      error: 'Invalid Slack request: the signature does not match',
    });
    expect(message()?.updates).toEqual([]);
    expect(await clickRows()).toEqual([]);
  });

  it('refuses a correctly signed request older than five minutes', async () => {
    const old = Math.floor(sandbox.clock.now().getTime() / 1000) - 301;

    const played = await playClick(sandbox, { actionId: 'costguard_snooze_1h', timestamp: old });

    expect(played.status).toBe(401);
    expect(JSON.parse(played.body)).toEqual({
      error: 'Invalid Slack request: the request is more than five minutes old',
    });
    expect(await clickRows()).toEqual([]);
  });

  it('refuses a body changed after signing (the signature covers the raw body)', async () => {
    const request = clickRequest(sandbox, { actionId: 'costguard_snooze_1h' });
    const tampered = request.body.replace('snooze_1h', 'snooze_4h');

    const response = await fetch(served.url, {
      method: 'POST',
      headers: request.headers,
      body: tampered,
    });

    expect(response.status).toBe(401);
    expect(await clickRows()).toEqual([]);
  });

  it('tells someone outside the allowed groups, records the refusal and changes nothing else', async () => {
    const played = await playClick(sandbox, {
      actionId: 'costguard_snooze_4h',
      user: SANDBOX_SLACK.outsider,
    });

    expect(played.status).toBe(200);
    expect(message()?.updates).toEqual([]);
    const answer = slackState(sandbox).responses.at(-1);
    expect(answer?.responseType).toBe('ephemeral');
    expect(answer?.text).toMatch(/Only members .* Nothing was changed/);
    expect(await clickRows()).toEqual([
      { action: 'snooze_4h', outcome: 'REFUSED', slack_user_id: 'U0VIEWER', hold_until: null },
    ]);
  });

  it('snoozes for an allowed user, updates the message in place, and acts once on a replay', async () => {
    // Act: the click, then the same signed request again (a replay within five minutes).
    const request = clickRequest(sandbox, { actionId: 'costguard_snooze_1h' });
    const first = await fetch(served.url, { method: 'POST', ...request });
    const replay = await fetch(served.url, { method: 'POST', ...request });

    // Assess: both answered 200, one update, one row, a hold until 14:00.
    expect([first.status, replay.status]).toEqual([200, 200]);
    const updates = message()?.updates ?? [];
    expect(updates).toHaveLength(1);
    const history = (updates[0]?.blocks ?? []).at(-1) as { elements: Array<{ text: string }> };
    expect(history.elements.map((e) => e.text)).toEqual([
      '<@U0ONCALL> snoozed budget b-team for 1 h (until 2026-12-05 14:00 UTC): no VM is stopped for it until then (2026-12-05 13:00 UTC)',
    ]);
    const rows = await clickRows();
    expect(rows.filter((r) => r.outcome !== 'REFUSED')).toEqual([
      {
        action: 'snooze_1h',
        outcome: 'DONE',
        slack_user_id: 'U0ONCALL',
        hold_until: expect.objectContaining({ value: '2026-12-05T14:00:00.000Z' }),
      },
    ]);
  });

  it('answers 400 to a signed body that is not a costguard click', async () => {
    const body = new URLSearchParams({ payload: JSON.stringify({ type: 'view_submission' }) });
    const request = clickRequest(sandbox, { actionId: 'costguard_snooze_1h' });
    const { slackSignature } = await import('../../functions/slack-actions/request-signature.js');
    const timestamp = request.headers['x-slack-request-timestamp'] as string;

    const response = await fetch(served.url, {
      method: 'POST',
      headers: {
        ...request.headers,
        'x-slack-signature': slackSignature(
          SANDBOX_SLACK.signingSecret,
          timestamp,
          body.toString(),
        ),
      },
      body: body.toString(),
    });

    expect(response.status).toBe(400);
  });

  it('exempts a VM until the chosen day with a dated costguard-exempt label, keeping its labels', async () => {
    const played = await playClick(sandbox, {
      actionId: 'costguard_exempt',
      blockId: vmBlockId(LOW_A),
      date: '2026-12-24',
    });

    expect(played.status).toBe(200);
    expect(sandbox.fleet.get(LOW_A.project, LOW_A.zone, LOW_A.name)?.labels).toEqual({
      team: 'vision',
      priority: 'low',
      'costguard-exempt': 'until-2026-12-24',
    });
    const history = (message()?.updates.at(-1)?.blocks ?? []).at(-1) as {
      elements: Array<{ text: string }>;
    };
    expect(history.elements.at(-1)?.text).toBe(
      '<@U0ONCALL> exempted `ml-training-prod/us-central1-a/vision-low-a` until 2026-12-24: no costguard enforcer stops it through that day (2026-12-05 13:00 UTC)',
    );
  });

  it('answers before a slow Compute operation finishes, then updates the message with its outcome', async () => {
    // Prepare: the label write's operation runs a while, and each wait on it takes 3 s.
    const vm = { project: 'ml-training-prod', zone: 'us-central1-a', name: 'vision-low-b' };
    await new SlackNotifier(
      () => sandboxRuntime(sandbox, ENV).clients.slack(ENV.SLACK_BOT_TOKEN),
      SANDBOX_SLACK.channel,
      sandboxRuntime(sandbox, ENV).logger,
    ).post({ text: 'Label violations', blocks: [vmExemptSection(vm, `\`${vm.name}\``, 0)] });
    const posted = slackState(sandbox).messages.at(-1);
    sandbox.faults.set('compute.instances.setLabels', { operation: { count: 1, seconds: 60 } });
    sandbox.faults.set('compute.zoneOperations.wait', { delayMs: 3_000 });
    const lines = () =>
      ((posted?.updates.at(-1)?.blocks ?? []).at(-1) as { elements?: Array<{ text: string }> })
        ?.elements ?? [];

    try {
      // Act
      const started = performance.now();
      const played = await playClick(sandbox, {
        actionId: 'costguard_exempt',
        blockId: vmBlockId(vm),
        date: '2026-12-24',
      });
      const answeredMs = performance.now() - started;
      const first = lines().map((l) => l.text);
      await vi.waitFor(() => expect(lines()).toHaveLength(2), { timeout: 10_000, interval: 100 });

      // Assess: the answer came well inside Slack's 3 s, before the operation was confirmed.
      expect(played.status).toBe(200);
      expect(answeredMs).toBeLessThan(2_500);
      expect(first).toEqual([
        expect.stringContaining(
          'exempted `ml-training-prod/us-central1-a/vision-low-b` until 2026-12-24',
        ),
      ]);
      expect(lines()[1]?.text).toContain(
        'label `costguard-exempt=until-2026-12-24` confirmed on `ml-training-prod/us-central1-a/vision-low-b`',
      );
      expect(sandbox.fleet.get(vm.project, vm.zone, vm.name)?.labels['costguard-exempt']).toBe(
        'until-2026-12-24',
      );
    } finally {
      sandbox.faults.clear('compute.instances.setLabels');
      sandbox.faults.clear('compute.zoneOperations.wait');
    }
  });

  it.each([
    { case: 'a day that has passed', vm: LOW_A, date: '2026-12-04', why: '2026-12-04 has passed' },
    {
      case: 'more than 90 days ahead',
      vm: LOW_A,
      date: '2027-03-06',
      why: 'at most 90 days ahead (2027-03-05)',
    },
    {
      case: 'a VM exempt without an end',
      vm: EXEMPT,
      date: '2026-12-24',
      why: 'it is exempt without an end (costguard-exempt=true)',
    },
  ])('does not exempt for $case, and says why', async ({ vm, date, why }) => {
    const before = sandbox.fleet.get(vm.project, vm.zone, vm.name)?.labels;

    const played = await playClick(sandbox, {
      actionId: 'costguard_exempt',
      blockId: vmBlockId(vm),
      date,
    });

    expect(played.status).toBe(200);
    expect(sandbox.fleet.get(vm.project, vm.zone, vm.name)?.labels).toEqual(before);
    expect(slackState(sandbox).responses.at(-1)?.text).toBe(`Nothing was changed: ${why}.`);
  });

  it('does not exempt where a policy that governs the VM ignores labels (its own list, tags), and says where the exemption belongs', async () => {
    // Prepare: a slackActions whose budget policy exempts by its own list and one cap by a tag.
    const policy = {
      tiers: [{ at: 1, stop: ['low'] }],
      prioritySource: 'policy',
      exemptVms: ['ml-training-prod/us-central1-a/vision-exempt'],
    };
    const caps = [
      {
        name: 'vision-daily',
        period: 'day',
        amount: 100,
        currency: 'USD',
        tiers: [{ at: 1, stop: ['low'] }],
        prioritySource: 'tags',
        priorityTag: '123456789012/costguard-priority',
        exemptTag: '123456789012/costguard-exempt',
      },
    ];
    const strict = await serveTarget('slackActionsPolicyMode', {
      kind: 'http',
      handler: await buildSlackActions(
        sandboxRuntime(sandbox, {
          ...ENV,
          COSTGUARD_BUDGET_POLICY: JSON.stringify(policy),
          COSTGUARD_SPOT_CAPS: JSON.stringify(caps),
        }),
      ),
    });
    const before = sandbox.fleet.get(LOW_A.project, LOW_A.zone, LOW_A.name)?.labels;

    try {
      // Act
      const played = await playClick(sandbox, {
        actionId: 'costguard_exempt',
        blockId: vmBlockId(LOW_A),
        date: '2026-12-20',
        url: strict.url,
      });

      // Assess
      expect(played.status).toBe(200);
      expect(sandbox.fleet.get(LOW_A.project, LOW_A.zone, LOW_A.name)?.labels).toEqual(before);
      expect(slackState(sandbox).responses.at(-1)?.text).toBe(
        'Nothing was changed: the budget policy (it exempts by its `exemptVms` list) and Spot cap vision-daily (it exempts by the tag `123456789012/costguard-exempt`) ignore labels, so a label would not protect it; ask whoever deploys costguard to exempt ml-training-prod/us-central1-a/vision-low-a there.',
      );
      const history = JSON.stringify(message()?.updates.at(-1)?.blocks);
      expect(history).toContain('not done: the budget policy (it exempts by its `exemptVms` list)');
      expect(history).not.toContain('until 2026-12-20: no costguard enforcer stops it');
    } finally {
      await strict.close();
    }
  });

  it('reads the allowed group once a minute, so a member removed from it is refused after that minute', async () => {
    // Prepare: a fresh slackActions (its own member cache); U0ONCALL is in the group.
    const fresh = await serveTarget('slackActionsCache', {
      kind: 'http',
      handler: await buildSlackActions(sandboxRuntime(sandbox, ENV)),
    });
    const group = slackState(sandbox).usergroups;
    const reads = () =>
      sandbox.calls.filter((c) => c.route === 'slack.usergroups.users.list').length;
    const click = () => playClick(sandbox, { actionId: 'costguard_snooze_4h', ts, url: fresh.url });
    const outcomes = async () =>
      (
        await ledger.query<{ outcome: string }>(
          "SELECT outcome FROM `${dataset}.slack_actions` WHERE action = 'snooze_4h' ORDER BY recorded_at, action_ts",
        )
      ).map((r) => r.outcome);
    const before = reads();

    try {
      // Act: two clicks in one minute; the member leaves the group; one click within the
      // minute, one after it.
      await click();
      sandbox.clock.advance(20_000);
      await click();
      group.set(SANDBOX_SLACK.actorGroup, []);
      sandbox.clock.advance(20_000);
      await click();
      const cachedReads = reads() - before;
      sandbox.clock.advance(21_000);
      await click();

      // Assess
      expect(cachedReads).toBe(1);
      expect(reads() - before).toBe(2);
      expect((await outcomes()).slice(-4)).toEqual(['DONE', 'DONE', 'DONE', 'REFUSED']);
    } finally {
      group.set(SANDBOX_SLACK.actorGroup, [SANDBOX_SLACK.actor]);
      await fresh.close();
    }
  });
});

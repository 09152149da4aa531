import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_SLACK, slackState } from '../../functions/sandbox/routes/slack.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { playClick } from '../../functions/sandbox/slack-click.js';
import { buildSlackActions } from '../../functions/slack-actions/entry.js';
import {
  fakePrices,
  runsEnv,
  serveTriggerRun,
  startRunsSandbox,
  type RunsApi,
} from '../support/runs.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';

// Cancel run from a run's Slack message: triggerRun starts a run on the batch VM and announces
// it with a Cancel run button; slackActions, built with the same pipelines, cancels it through
// the run service as the Slack user who clicked.
const SLACK_ENV = {
  SLACK_SIGNING_SECRET: SANDBOX_SLACK.signingSecret,
  COSTGUARD_SLACK_ACTOR_GROUPS: SANDBOX_SLACK.actorGroup,
};

describe('Cancel run from Slack', () => {
  let sandbox: Sandbox;
  let api: RunsApi;
  let slack: ServedTarget;

  beforeAll(async () => {
    sandbox = await startRunsSandbox();
    api = await serveTriggerRun(sandbox);
    const runtime = sandboxRuntime(sandbox, runsEnv(SLACK_ENV));
    slack = await serveTarget('slackActionsRuns', {
      kind: 'http',
      handler: await buildSlackActions(runtime, { prices: fakePrices({ 'e2-standard-4': 0.134 }) }),
    });
    slackState(sandbox).app.interactivityUrl = slack.url;
  }, 60_000);

  afterAll(async () => {
    await slack?.close();
    await api?.close();
    await sandbox?.close();
  });

  it('cancels the run of the message, removes the button and says who did it', async () => {
    // Prepare: a run started; its message carries the button.
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'd_anchor_category' },
    });
    const runId = started.body.runId as string;
    const message = slackState(sandbox).messages.find((m) => m.text.startsWith(`Run ${runId}`));
    expect(JSON.stringify(message?.blocks)).toContain('costguard_cancel_run');

    // Act
    const played = await playClick(sandbox, { actionId: 'costguard_cancel_run', ts: message?.ts });

    // Assess
    expect(played.status).toBe(200);
    const status = await api.call('GET', `/runs/${runId}`);
    expect(status.body.status).toBe('CANCELLED');
    const update = message?.updates.at(-1);
    expect(update?.blocks.some((b) => (b as { type?: string }).type === 'actions')).toBe(false);
    expect(JSON.stringify(update?.blocks)).toContain(
      `<@U0ONCALL> cancelled run \`${runId}\` of nightly-categories (target d_anchor_category)`,
    );

    // The button is gone from the message: there is nothing left to click.
    const again = await playClick(sandbox, {
      actionId: 'costguard_cancel_run',
      ts: message?.ts,
    }).catch((error: unknown) => error);
    expect(again).toBeInstanceOf(Error);
  });
});

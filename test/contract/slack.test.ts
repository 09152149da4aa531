import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlackNotifier } from '../../functions/adapters/slack.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The real @slack/web-api WebClient against the sandbox's Slack routes.
describe('Slack contract', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
    runtime = sandboxRuntime(sandbox);
  });
  afterEach(() => sandbox.close());

  it('posts Block Kit messages, replies in the thread and updates the parent', async () => {
    const notifier = new SlackNotifier(
      () => runtime.clients.slack('xoxb-test-token'),
      'C0COSTS',
      runtime.logger,
    );
    const parent = await notifier.post({
      text: 'Budget ml-monthly at 104%: stopped 2 VMs',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Budget ml-monthly* at 104%' } }],
    });
    await notifier.post({ text: 'Follow-up: 1 more VM stopped', threadTs: parent.ts });
    await notifier.update(parent, { text: 'Budget ml-monthly at 104%: stopped 3 VMs' });

    const messages = slackState(sandbox).messages;
    expect(messages.map((m) => [m.channel, m.text, m.threadTs])).toEqual([
      ['C0COSTS', 'Budget ml-monthly at 104%: stopped 2 VMs', undefined],
      ['C0COSTS', 'Follow-up: 1 more VM stopped', parent.ts],
    ]);
    expect(messages[0]?.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '*Budget ml-monthly* at 104%' } },
    ]);
    expect(messages[0]?.updates.map((u) => u.text)).toEqual([
      'Budget ml-monthly at 104%: stopped 3 VMs',
    ]);
    expect(JSON.stringify(runtime.logger.entries)).not.toContain('xoxb-test-token');
  });

  it('classifies Slack refusals as permanent and network failures as transient', async () => {
    const notifier = new SlackNotifier(
      () => runtime.clients.slack('xoxb-test-token'),
      '',
      runtime.logger,
    );
    await expect(notifier.post({ text: 'x' })).rejects.toMatchObject({
      name: 'PermanentError',
      message: 'Slack refused the message: channel_not_found',
    });

    const closed = await startTestSandbox();
    const offline = sandboxRuntime(closed);
    await closed.close();
    const unreachable = new SlackNotifier(
      () => offline.clients.slack('xoxb-test-token'),
      'C0COSTS',
      offline.logger,
    );
    await expect(unreachable.post({ text: 'x' })).rejects.toMatchObject({ name: 'TransientError' });
  }, 60_000);
});

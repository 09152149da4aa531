import type { KnownBlock } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import {
  actionsBlock,
  blockKitProblems,
  button,
  tierButtons,
  vmExemptSection,
} from '../../functions/core/slack-buttons.js';
import { actorVerdict } from '../../functions/slack-actions/actors.js';
import { snoozeUntil } from '../../functions/slack-actions/holds.js';
import { parseClick } from '../../functions/slack-actions/interaction.js';
import { updatedMessage } from '../../functions/slack-actions/message-update.js';
import type { VmOutcome } from '../../functions/budget/enforcement-ledger.js';
import type { ShedTrigger } from '../../functions/budget/shed-trigger.js';
import { approvalMessage } from '../../functions/budget/slack-report.js';
import { vmWith } from '../support/stand-ins.js';
import {
  checkSlackSignature,
  slackSignature,
} from '../../functions/slack-actions/request-signature.js';

const SECRET = 'test-signing-secret';
const NOW = new Date('2026-12-05T13:00:00Z');
const NOW_S = String(NOW.getTime() / 1000);
const BODY = Buffer.from('payload=%7B%7D');

describe('checkSlackSignature', () => {
  it.each([
    {
      case: 'a correct signature now',
      timestamp: NOW_S,
      signature: slackSignature(SECRET, NOW_S, BODY),
      accepted: true,
      reason: undefined,
    },
    {
      case: 'a correct signature 299 s old',
      timestamp: String(Number(NOW_S) - 299),
      signature: slackSignature(SECRET, String(Number(NOW_S) - 299), BODY),
      accepted: true,
      reason: undefined,
    },
    {
      case: 'a correct signature 301 s old',
      timestamp: String(Number(NOW_S) - 301),
      signature: slackSignature(SECRET, String(Number(NOW_S) - 301), BODY),
      accepted: false,
      reason: 'the request is more than five minutes old',
    },
    {
      case: 'a timestamp 301 s ahead',
      timestamp: String(Number(NOW_S) + 301),
      signature: slackSignature(SECRET, String(Number(NOW_S) + 301), BODY),
      accepted: false,
      reason: 'the request is more than five minutes old',
    },
    {
      case: 'another secret',
      timestamp: NOW_S,
      signature: slackSignature('another-secret', NOW_S, BODY),
      accepted: false,
      reason: 'the signature does not match',
    },
    {
      case: 'the signature of another timestamp',
      timestamp: NOW_S,
      signature: slackSignature(SECRET, String(Number(NOW_S) - 1), BODY),
      accepted: false,
      reason: 'the signature does not match',
    },
    {
      case: 'a truncated signature',
      timestamp: NOW_S,
      signature: slackSignature(SECRET, NOW_S, BODY).slice(0, 40),
      accepted: false,
      reason: 'X-Slack-Signature is missing or malformed',
    },
    {
      case: 'no signature',
      timestamp: NOW_S,
      signature: undefined,
      accepted: false,
      reason: 'X-Slack-Signature is missing or malformed',
    },
    {
      case: 'no timestamp',
      timestamp: undefined,
      signature: slackSignature(SECRET, NOW_S, BODY),
      accepted: false,
      reason: 'X-Slack-Request-Timestamp is missing or not a number',
    },
    {
      case: 'a timestamp that is not a number',
      timestamp: '1e9',
      signature: slackSignature(SECRET, '1e9', BODY),
      accepted: false,
      reason: 'X-Slack-Request-Timestamp is missing or not a number',
    },
  ])('$case: accepted $accepted', ({ timestamp, signature, accepted, reason }) => {
    const verdict = checkSlackSignature({ timestamp, signature, rawBody: BODY }, SECRET, NOW);

    expect(verdict).toEqual(accepted ? { accepted } : { accepted, reason });
  });

  it('matches the example of Slack’s documentation', () => {
    // api.slack.com/authentication/verifying-requests-from-slack, "Validating a request".
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', '1531420618', body)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });
});

function payloadBody(payload: unknown): Buffer {
  return Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
}

const CLICK = {
  type: 'block_actions',
  user: { id: 'U0ONCALL', username: 'oncall', team_id: 'T0SANDBOX' },
  team: { id: 'T0SANDBOX', domain: 'sandbox' },
  container: { type: 'message', message_ts: '1764939600.000001', channel_id: 'C0COSTGUARD' },
  message: { ts: '1764939600.000001', text: 'Budget', blocks: [] },
  response_url: 'https://hooks.slack.com/actions/T0/1/abc',
  actions: [
    {
      type: 'button',
      action_id: 'costguard_restart',
      block_id: 'costguard-tier',
      value: JSON.stringify({ kind: 'budget', id: 'b-1', period: '2026-12-01T00:00:00Z', tier: 1 }),
      action_ts: '1764939601.123456',
    },
  ],
};

describe('parseClick', () => {
  it('keeps who clicked what on which message', () => {
    const click = parseClick(payloadBody(CLICK));

    expect(click).toMatchObject({
      action: 'restart',
      actionTs: '1764939601.123456',
      user: { id: 'U0ONCALL', name: 'oncall' },
      channel: 'C0COSTGUARD',
      messageTs: '1764939600.000001',
      target: {
        kind: 'tier',
        tier: { kind: 'budget', id: 'b-1', period: '2026-12-01T00:00:00Z', tier: 1 },
      },
    });
  });

  it('reads the VM of a date picker from its block and the date chosen', () => {
    const click = parseClick(
      payloadBody({
        ...CLICK,
        actions: [
          {
            type: 'datepicker',
            action_id: 'costguard_exempt:2',
            block_id: 'costguard-vm:ml-training-prod/us-central1-a/trainer-7',
            selected_date: '2026-12-24',
            action_ts: '1764939601.123456',
          },
        ],
      }),
    );

    expect(click.target).toEqual({
      kind: 'vm',
      vm: { project: 'ml-training-prod', zone: 'us-central1-a', name: 'trainer-7' },
      until: '2026-12-24',
    });
  });

  it.each([
    { case: 'no payload field', body: Buffer.from('text=hi'), issue: 'body: no payload field' },
    { case: 'payload not JSON', body: Buffer.from('payload=%7B'), issue: 'payload: not JSON' },
    {
      case: 'another payload type',
      body: payloadBody({ ...CLICK, type: 'view_submission' }),
      issue: 'payload.type: only block_actions payloads are handled',
    },
    {
      case: 'an action costguard did not send',
      body: payloadBody({ ...CLICK, actions: [{ ...CLICK.actions[0], action_id: 'delete_all' }] }),
      issue: 'payload.actions[0].action_id: delete_all is not a costguard action',
    },
    {
      case: 'a value naming no tier',
      body: payloadBody({ ...CLICK, actions: [{ ...CLICK.actions[0], value: '{"kind":"x"}' }] }),
      issue: 'payload.actions[0].value.kind',
    },
    {
      case: 'a prototype key',
      body: Buffer.from(
        `payload=${encodeURIComponent(JSON.stringify(CLICK).replace('"team"', '"__proto__"'))}`,
      ),
      issue: 'body.__proto__: this name is not allowed',
    },
  ])('refuses $case', ({ body, issue }) => {
    let error: unknown;
    try {
      parseClick(body);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.join('\n')).toContain(issue);
  });
});

describe('actorVerdict', () => {
  const lists = [
    { source: 'user group S0OPS', members: new Set(['U1', 'U2']) },
    { source: 'channel C0FINOPS', members: new Set(['U3']) },
  ];
  it.each([
    { user: 'U1', verdict: { allowed: true, via: 'user group S0OPS' } },
    { user: 'U3', verdict: { allowed: true, via: 'channel C0FINOPS' } },
    { user: 'U9', verdict: { allowed: false } },
  ])('$user: $verdict', ({ user, verdict }) => {
    expect(actorVerdict(user, lists)).toEqual(verdict);
  });
});

describe('snoozeUntil', () => {
  it.each([
    { action: 'snooze_1h' as const, until: '2026-12-05T14:00:00.000Z' },
    { action: 'snooze_4h' as const, until: '2026-12-05T17:00:00.000Z' },
    { action: 'snooze_tomorrow' as const, until: '2026-12-06T00:00:00.000Z' },
  ])('$action holds until $until', ({ action, until }) => {
    expect(snoozeUntil(action, NOW)?.toISOString()).toBe(until);
  });
});

describe('Block Kit limits', () => {
  const tier = {
    kind: 'cap' as const,
    id: 'vision-daily',
    period: '2026-12-05T00:00:00Z',
    tier: 1,
  };
  const vm = (i: number) => ({
    project: 'ml-training-prod',
    zone: 'us-central1-a',
    name: `vm-${i}`,
  });

  it.each([
    {
      case: 'a tier message’s buttons',
      blocks: [actionsBlock('costguard-tier', tierButtons(tier, true))],
      problems: [],
    },
    {
      case: 'ten VM lines with date pickers',
      blocks: Array.from({ length: 10 }, (_, i) => vmExemptSection(vm(i), `vm-${i}`, i)),
      problems: [],
    },
    {
      case: '51 blocks',
      blocks: Array.from({ length: 51 }, (): KnownBlock => ({ type: 'divider' })),
      problems: ['51 blocks (at most 50)'],
    },
    {
      case: 'a text of 3,001 characters',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } },
      ] as KnownBlock[],
      problems: ['blocks[0].text.text: 3001 characters'],
    },
    {
      case: '26 buttons in one actions block',
      blocks: [
        {
          type: 'actions',
          elements: Array.from({ length: 26 }, (_, i) =>
            button({ action: 'snooze_1h', text: 'Snooze', target: tier, index: i }),
          ),
        },
      ] as KnownBlock[],
      problems: ['blocks[0]: 26 elements in an actions block'],
    },
    {
      case: 'the same action_id twice',
      blocks: [
        actionsBlock('a', [{ action: 'snooze_1h', text: 'Snooze', target: tier }]),
        actionsBlock('b', [{ action: 'snooze_1h', text: 'Snooze', target: tier }]),
      ],
      problems: ['blocks[1].elements[0]: action_id costguard_snooze_1h is not unique'],
    },
  ])('$case', ({ blocks, problems }) => {
    expect(blockKitProblems(blocks)).toEqual(problems);
  });

  it('keeps an actions block to 25 elements however many buttons it is given', () => {
    const buttons = Array.from({ length: 30 }, (_, i) => ({
      action: 'snooze_1h' as const,
      text: 'Snooze',
      target: tier,
      index: i,
    }));

    expect(blockKitProblems([actionsBlock('many', buttons)])).toEqual([]);
  });
});

describe('an approval message within Block Kit limits', () => {
  const trigger: ShedTrigger = {
    kind: 'cap',
    id: 'vision-daily',
    displayName: 'vision-daily',
    runId: 'run-1',
    billingAccountId: '',
    periodStart: '2026-12-05T00:00:00Z',
    spend: 1000,
    amount: 1000,
    currency: 'USD',
    spendRatio: 1,
  };
  const tier = {
    at: 1,
    stop: ['low' as const],
    approve: { timeoutMinutes: 30, default: 'stop' as const },
  };
  // Names as long as Compute allows, so the list reaches the 3,000-character text limit fast.
  const listedVm = (i: number): VmOutcome => ({
    planned: {
      vm: vmWith({ name: `vm-${String(i).padStart(4, '0')}-${'x'.repeat(53)}` }),
      priority: 'low',
      rate: { hourly: 0.1, spot: 0.1, onDemand: 0.3, currency: 'USD', source: 'catalog' },
      action: 'STOP',
      reason: 'priority low',
    },
    action: 'PROPOSED',
    reason: 'priority low; awaiting approval',
    requestId: undefined,
    transient: false,
  });
  const message = (count: number) =>
    approvalMessage({
      trigger,
      tier,
      listed: Array.from({ length: count }, (_, i) => listedVm(i)),
      spared: Array.from({ length: 40 }, (_, i) => ({
        ...listedVm(5000 + i),
        action: 'SKIPPED_EXEMPT' as const,
      })),
      currency: 'USD',
      deadline: new Date('2026-12-05T13:30:00Z'),
      dashboardUrl: undefined,
    });

  it.each([
    { count: 3, listedByName: 3 },
    { count: 40, listedByName: 40 },
    { count: 2000, listedByName: 'some' as const },
  ])(
    '$count VMs: every VM named or counted, Approve and Skip kept, no limit broken',
    ({ count, listedByName }) => {
      const { blocks } = message(count);

      const text = JSON.stringify(blocks);
      const named = Array.from({ length: count }, (_, i) => i).filter((i) =>
        text.includes(`vm-${String(i).padStart(4, '0')}-`),
      ).length;
      const sections = (blocks as KnownBlock[]).flatMap((b) =>
        b.type === 'section' && b.text && !b.text.text.startsWith('*Spared') ? [b.text.text] : [],
      );
      const more = /…and (\d+) more/.exec(sections.join('\n'));
      expect(blockKitProblems(blocks as KnownBlock[])).toEqual([]);
      expect(named + Number(more?.[1] ?? 0)).toBe(count);
      expect(listedByName === 'some' ? named > 40 && named < count : named === listedByName).toBe(
        true,
      );
      expect(text).toContain('costguard_approve');
      expect(text).toContain('costguard_skip');
    },
  );

  it('stays within the limits once a click adds its history line', () => {
    const { blocks, text } = message(2000);
    const click = parseClick(
      Buffer.from(
        new URLSearchParams({
          payload: JSON.stringify({
            type: 'block_actions',
            user: { id: 'U0ONCALL', username: 'ana' },
            container: { type: 'message', message_ts: '1764939600.000100', channel_id: 'C0FINOPS' },
            message: { ts: '1764939600.000100', text, blocks },
            actions: [
              {
                type: 'button',
                action_id: 'costguard_approve',
                block_id: 'costguard-approval',
                action_ts: '1764939700.000200',
                value: JSON.stringify({
                  kind: 'cap',
                  id: 'vision-daily',
                  period: trigger.periodStart,
                  tier: 1,
                }),
              },
            ],
          }),
        }).toString(),
      ),
    );

    const updated = updatedMessage(click, 'approved: stopped 2000 VMs', NOW);

    expect(blockKitProblems(updated.blocks as KnownBlock[])).toEqual([]);
    expect(JSON.stringify(updated.blocks)).not.toContain('costguard_approve');
  });
});

/**
 * A click on a costguard message, parsed from Slack's interactivity request: the body is
 * `application/x-www-form-urlencoded` with one field, `payload`, holding the JSON of a
 * `block_actions` payload (api.slack.com/reference/interaction-payloads/block-actions). Only what
 * costguard acts on is kept, each field checked; the action's target is validated again with
 * the schema of the button that names it.
 */
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { refuseForbiddenKeys } from '../core/json-body.js';
import {
  actionNameOf,
  runTargetSchema,
  tierTargetSchema,
  vmOfBlockId,
  vmTargetSchema,
  type RunTarget,
  type SlackActionName,
  type TierTarget,
  type VmTarget,
} from '../core/slack-buttons.js';

export type ClickTarget =
  | { readonly kind: 'tier'; readonly tier: TierTarget }
  | { readonly kind: 'vm'; readonly vm: VmTarget; readonly until: string }
  | { readonly kind: 'run'; readonly run: RunTarget };

export interface Click {
  readonly action: SlackActionName;
  readonly actionId: string;
  readonly blockId: string;
  /** Slack's time of the click (`action_ts`), unique per click: the click's identity. */
  readonly actionTs: string;
  readonly target: ClickTarget;
  readonly user: { readonly id: string; readonly name: string };
  readonly teamId: string;
  readonly channel: string;
  /** The message the button is on. */
  readonly messageTs: string;
  /** The message's blocks as Slack holds them now, to update in place. */
  readonly messageBlocks: readonly unknown[];
  readonly messageText: string;
  /** Where an ephemeral reply to the clicking user goes (valid for 30 minutes, 5 uses). */
  readonly responseUrl: string | undefined;
}

const SLACK_ID = /^[A-Z0-9]{2,32}$/;
const SLACK_TS = /^\d{1,12}\.\d{1,9}$/;

const actionSchema = z.object({
  type: z.string(),
  action_id: z.string().max(255),
  block_id: z.string().max(255),
  action_ts: z.string().regex(SLACK_TS, 'expected a Slack timestamp'),
  value: z.string().max(2000).optional(),
  selected_date: z.iso.date().optional(),
});

const payloadSchema = z.object({
  type: z.literal('block_actions', 'only block_actions payloads are handled'),
  user: z.object({
    id: z.string().regex(SLACK_ID, 'expected a Slack user id'),
    username: z.string().max(200).optional(),
    name: z.string().max(200).optional(),
  }),
  team: z.object({ id: z.string().regex(SLACK_ID) }).nullish(),
  container: z.object({
    type: z.literal('message', 'only clicks on messages are handled'),
    message_ts: z.string().regex(SLACK_TS),
    channel_id: z.string().regex(SLACK_ID),
  }),
  message: z
    .object({
      ts: z.string().regex(SLACK_TS),
      text: z.string().max(40_000).default(''),
      blocks: z.array(z.unknown()).max(50).default([]),
    })
    .optional(),
  response_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional(),
  actions: z.array(actionSchema).min(1, 'the payload names no action'),
});

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path].join('.')}: ${i.message}`);
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, prefix: string): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new ValidationError('Invalid Slack payload', issuesOf(result.error, prefix));
  return result.data;
}

function targetOf(action: SlackActionName, a: z.infer<typeof actionSchema>): ClickTarget {
  if (action === 'exempt') {
    const vm = parsed(vmTargetSchema, vmOfBlockId(a.block_id), 'payload.actions[0].block_id');
    if (a.selected_date === undefined) {
      throw new ValidationError('Invalid Slack payload', [
        'payload.actions[0].selected_date: required',
      ]);
    }
    return { kind: 'vm', vm, until: a.selected_date };
  }
  let value: unknown;
  try {
    value = JSON.parse(a.value ?? '');
  } catch {
    throw new ValidationError('Invalid Slack payload', ['payload.actions[0].value: not JSON']);
  }
  if (action === 'cancel_run') {
    return { kind: 'run', run: parsed(runTargetSchema, value, 'payload.actions[0].value') };
  }
  return { kind: 'tier', tier: parsed(tierTargetSchema, value, 'payload.actions[0].value') };
}

/** The click in a raw interactivity body; a ValidationError names what is wrong. */
export function parseClick(rawBody: Buffer): Click {
  const text = rawBody.toString('utf8');
  const form = new URLSearchParams(text);
  const payloadText = form.get('payload');
  if (payloadText === null) {
    throw new ValidationError('Invalid Slack request', ['body: no payload field']);
  }
  let json: unknown;
  try {
    json = JSON.parse(payloadText);
  } catch {
    throw new ValidationError('Invalid Slack request', ['payload: not JSON']);
  }
  refuseForbiddenKeys(json, 'Invalid Slack payload');
  const payload = parsed(payloadSchema, json, 'payload');
  const first = payload.actions[0] as z.infer<typeof actionSchema>;
  const action = actionNameOf(first.action_id);
  if (action === undefined) {
    throw new ValidationError('Invalid Slack payload', [
      `payload.actions[0].action_id: ${first.action_id} is not a costguard action`,
    ]);
  }
  return {
    action,
    actionId: first.action_id,
    blockId: first.block_id,
    actionTs: first.action_ts,
    target: targetOf(action, first),
    user: {
      id: payload.user.id,
      name: payload.user.username ?? payload.user.name ?? payload.user.id,
    },
    teamId: payload.team?.id ?? '',
    channel: payload.container.channel_id,
    messageTs: payload.container.message_ts,
    messageBlocks: payload.message?.blocks ?? [],
    messageText: payload.message?.text ?? '',
    responseUrl: payload.response_url,
  };
}

/**
 * The identity of a click: the same message, action and click time is the same click however
 * often it is delivered (a replayed request acts once).
 */
export function clickKey(
  click: Pick<Click, 'channel' | 'messageTs' | 'actionId' | 'actionTs'>,
): string {
  return `${click.channel}/${click.messageTs}/${click.actionId}/${click.actionTs}`;
}

/**
 * Plays a click on a button of a message the sandbox's Slack received, as Slack sends it: a
 * `block_actions` payload (the user, the message with its current blocks, the action with its
 * `action_ts`, a `response_url` into the sandbox), form-encoded in `payload`, signed with the
 * app's signing secret, POSTed to the app's interactivity URL. Tests and `npm start`'s printed
 * command use it; `forge` and `timestamp` make the requests an attacker or a stale replay would.
 */
import { slackSignature } from '../slack-actions/request-signature.js';
import type { Sandbox } from './sandbox.js';
import { slackState, type CapturedSlackMessage } from './routes/slack.js';

export interface ClickOptions {
  /** The message's ts; default the latest message with the action. */
  readonly ts?: string;
  /** `costguard_restart`, or a prefix of one (`costguard_exempt` picks the first date picker). */
  readonly actionId: string;
  /** For a VM's date picker: the block naming the VM (`costguard-vm:p/z/name`). */
  readonly blockId?: string;
  readonly user?: string;
  /** A date picker's choice, YYYY-MM-DD. */
  readonly date?: string;
  /** Slack's click time; the same value replays the same click. Default: now + a sequence. */
  readonly actionTs?: string;
  /** Sign with a wrong secret. */
  readonly forge?: boolean;
  /** Unix seconds of X-Slack-Request-Timestamp (default: the simulated now). */
  readonly timestamp?: number;
  /** Default: the app's interactivity URL. */
  readonly url?: string;
  /**
   * Click on the message as first posted, before any update (Slack redelivering an old click,
   * or a client that has not refreshed the message yet).
   */
  readonly stale?: boolean;
}

export interface PlayedClick {
  readonly status: number;
  readonly body: string;
  readonly actionTs: string;
  readonly ts: string;
}

interface Element {
  type?: string;
  action_id?: string;
  value?: string;
  text?: unknown;
}
interface Block {
  type?: string;
  block_id?: string;
  elements?: Element[];
  accessory?: Element;
}

export function currentBlocks(message: CapturedSlackMessage, stale = false): Block[] {
  const last = stale ? undefined : message.updates.at(-1);
  return (last ? last.blocks : message.blocks) as Block[];
}

function findAction(
  message: CapturedSlackMessage,
  options: ClickOptions,
): { block: Block; element: Element } | undefined {
  for (const block of currentBlocks(message, options.stale)) {
    if (options.blockId !== undefined && block.block_id !== options.blockId) continue;
    const elements = [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])];
    const element = elements.find(
      (e) => e.action_id === options.actionId || e.action_id?.startsWith(`${options.actionId}:`),
    );
    if (element) return { block, element };
  }
  return undefined;
}

let clicks = 0;

/** The form body and headers of a click, signed (or forged) as Slack would send it. */
export function clickRequest(
  sandbox: Sandbox,
  options: ClickOptions,
): { body: string; headers: Record<string, string>; actionTs: string; ts: string } {
  const state = slackState(sandbox);
  const candidates = state.messages.filter((m) => options.ts === undefined || m.ts === options.ts);
  const message = candidates.reverse().find((m) => findAction(m, options));
  if (!message) throw new Error(`No Slack message has an action ${options.actionId}`);
  const { block, element } = findAction(message, options) as { block: Block; element: Element };
  const user = options.user ?? 'U0ONCALL';
  const now = sandbox.clock.now().getTime();
  const actionTs =
    options.actionTs ?? `${Math.floor(now / 1000)}.${String(++clicks).padStart(6, '0')}`;
  const payload = {
    type: 'block_actions',
    user: { id: user, username: state.users.get(user) ?? user, team_id: 'T0SANDBOX' },
    api_app_id: 'A0COSTGUARD',
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: message.ts,
      channel_id: message.channel,
      is_ephemeral: false,
    },
    trigger_id: `${Math.floor(now / 1000)}.${clicks}.sandbox`,
    team: { id: 'T0SANDBOX', domain: 'sandbox' },
    channel: { id: message.channel, name: 'costguard' },
    message: {
      type: 'message',
      ts: message.ts,
      text: (options.stale ? undefined : message.updates.at(-1)?.text) ?? message.text,
      blocks: currentBlocks(message, options.stale),
    },
    response_url: `${sandbox.url}/_sandbox/slack/responses/${encodeURIComponent(actionTs)}`,
    actions: [
      {
        type: element.type,
        action_id: element.action_id,
        block_id: block.block_id ?? '',
        ...(element.text ? { text: element.text } : {}),
        ...(element.value !== undefined ? { value: element.value } : {}),
        ...(options.date !== undefined ? { selected_date: options.date } : {}),
        action_ts: actionTs,
      },
    ],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(options.timestamp ?? Math.floor(now / 1000));
  const secret = options.forge ? 'not-the-signing-secret' : state.app.signingSecret;
  return {
    body,
    actionTs,
    ts: message.ts,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(secret, timestamp, body),
    },
  };
}

/** Sends a click to the app's interactivity URL and returns what the function answered. */
export async function playClick(sandbox: Sandbox, options: ClickOptions): Promise<PlayedClick> {
  const url = options.url ?? slackState(sandbox).app.interactivityUrl;
  if (!url) throw new Error('The sandbox Slack app has no interactivity URL');
  const request = clickRequest(sandbox, options);
  const response = await fetch(url, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  return {
    status: response.status,
    body: await response.text(),
    actionTs: request.actionTs,
    ts: request.ts,
  };
}

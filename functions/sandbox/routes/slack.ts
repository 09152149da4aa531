/**
 * Slack Web API methods costguard calls (`chat.postMessage`, `chat.update`, `auth.test`),
 * captured for inspection. Replies follow Slack: HTTP 200 with `{ok: false, error}` on failure.
 */

import { route, type SandboxReply, type SandboxRequest, textOf } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

export interface CapturedSlackMessage {
  channel: string;
  ts: string;
  threadTs: string | undefined;
  text: string;
  blocks: unknown[];
  /** Edits through chat.update, oldest first. */
  updates: Array<{ text: string; blocks: unknown[] }>;
  postedAt: string;
}

/** A reply posted to a click's `response_url`. */
export interface CapturedResponse {
  /** The click's response id (the last part of its response_url). */
  id: string;
  text: string;
  responseType: string;
  replaceOriginal: boolean;
  postedAt: string;
}

/** The Slack app's interactivity settings: where clicks go and the secret that signs them. */
export interface SlackAppSettings {
  interactivityUrl: string | undefined;
  signingSecret: string;
}

export interface SlackState {
  messages: CapturedSlackMessage[];
  seq: number;
  app: SlackAppSettings;
  /** User group id → member user ids (usergroups.users.list). */
  usergroups: Map<string, string[]>;
  /** Channel id → member user ids (conversations.members). */
  channelMembers: Map<string, string[]>;
  /** User id → display name, for the `user` of a played click. */
  users: Map<string, string>;
  responses: CapturedResponse[];
}

/** The sandbox workspace's people: an on-call engineer in the costguard group, and a viewer. */
export const SANDBOX_SLACK = {
  signingSecret: 'sandbox-signing-secret-8c1f',
  actorGroup: 'S0COSTGUARD',
  channel: 'C0COSTGUARD',
  actor: 'U0ONCALL',
  outsider: 'U0VIEWER',
} as const;

export function slackState(sandbox: Sandbox): SlackState {
  return sandbox.extension<SlackState>('slack', () => ({
    messages: [],
    seq: 0,
    app: { interactivityUrl: undefined, signingSecret: SANDBOX_SLACK.signingSecret },
    usergroups: new Map([[SANDBOX_SLACK.actorGroup, [SANDBOX_SLACK.actor]]]),
    channelMembers: new Map([
      [SANDBOX_SLACK.channel, [SANDBOX_SLACK.actor, SANDBOX_SLACK.outsider]],
    ]),
    users: new Map([
      [SANDBOX_SLACK.actor, 'oncall'],
      [SANDBOX_SLACK.outsider, 'viewer'],
    ]),
    responses: [],
  }));
}

function field(request: SandboxRequest, name: string): unknown {
  const body = (request.body ?? {}) as Record<string, unknown>;
  return body[name] ?? request.query.get(name) ?? undefined;
}

function blocksOf(value: unknown): unknown[] | 'invalid' {
  if (value === undefined || value === '') return [];
  if (Array.isArray(value)) return value as unknown[];
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      return Array.isArray(parsed) ? parsed : 'invalid';
    } catch {
      return 'invalid';
    }
  }
  return 'invalid';
}

function slackReply(body: Record<string, unknown>): SandboxReply {
  return { body };
}

function authorised(request: SandboxRequest): boolean {
  const header = request.headers.authorization ?? '';
  return /^Bearer \S+$/.test(header) || typeof field(request, 'token') === 'string';
}

const routes = [
  route<Sandbox>('slack.auth.test', 'POST', '/api/auth.test', (request) =>
    authorised(request)
      ? slackReply({ ok: true, team: 'sandbox', user: 'costguard', bot_id: 'B0SANDBOX' })
      : slackReply({ ok: false, error: 'not_authed' }),
  ),
  route<Sandbox>('slack.chat.postMessage', 'POST', '/api/chat.postMessage', (request, sandbox) => {
    if (!authorised(request)) return slackReply({ ok: false, error: 'not_authed' });
    const channel = field(request, 'channel');
    if (typeof channel !== 'string' || channel === '')
      return slackReply({ ok: false, error: 'channel_not_found' });
    const text = textOf(field(request, 'text'));
    const blocks = blocksOf(field(request, 'blocks'));
    if (blocks === 'invalid') return slackReply({ ok: false, error: 'invalid_blocks' });
    if (text === '' && blocks.length === 0) return slackReply({ ok: false, error: 'no_text' });
    const state = slackState(sandbox);
    const now = sandbox.clock.nowMs();
    const ts = `${Math.floor(now / 1000)}.${String(++state.seq).padStart(6, '0')}`;
    const thread = field(request, 'thread_ts');
    const message: CapturedSlackMessage = {
      channel,
      ts,
      threadTs: typeof thread === 'string' && thread !== '' ? thread : undefined,
      text,
      blocks,
      updates: [],
      postedAt: new Date(now).toISOString(),
    };
    state.messages.push(message);
    return slackReply({
      ok: true,
      channel,
      ts,
      message: {
        type: 'message',
        text,
        blocks,
        ts,
        ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      },
    });
  }),
  route<Sandbox>('slack.chat.update', 'POST', '/api/chat.update', (request, sandbox) => {
    if (!authorised(request)) return slackReply({ ok: false, error: 'not_authed' });
    const ts = field(request, 'ts');
    const message = slackState(sandbox).messages.find(
      (m) => m.ts === ts && m.channel === field(request, 'channel'),
    );
    if (!message) return slackReply({ ok: false, error: 'message_not_found' });
    const blocks = blocksOf(field(request, 'blocks'));
    if (blocks === 'invalid') return slackReply({ ok: false, error: 'invalid_blocks' });
    const update = { text: textOf(field(request, 'text')), blocks };
    message.updates.push(update);
    return slackReply({ ok: true, channel: message.channel, ts: message.ts, text: update.text });
  }),
  route<Sandbox>(
    'slack.usergroups.users.list',
    'POST',
    '/api/usergroups.users.list',
    (request, sandbox) => {
      if (!authorised(request)) return slackReply({ ok: false, error: 'not_authed' });
      const users = slackState(sandbox).usergroups.get(textOf(field(request, 'usergroup')));
      return users
        ? slackReply({ ok: true, users })
        : slackReply({ ok: false, error: 'no_such_subteam' });
    },
  ),
  route<Sandbox>(
    'slack.conversations.members',
    'POST',
    '/api/conversations.members',
    (request, sandbox) => {
      if (!authorised(request)) return slackReply({ ok: false, error: 'not_authed' });
      const members = slackState(sandbox).channelMembers.get(textOf(field(request, 'channel')));
      if (!members) return slackReply({ ok: false, error: 'channel_not_found' });
      // Pages of `limit` members; the cursor is the offset, as opaque to the caller as Slack's.
      const limit = Math.max(1, Math.min(1000, Number(field(request, 'limit') ?? 100) || 100));
      const cursor = textOf(field(request, 'cursor'));
      const offset = cursor === '' ? 0 : Number(Buffer.from(cursor, 'base64url').toString('utf8'));
      const next =
        offset + limit < members.length
          ? Buffer.from(String(offset + limit)).toString('base64url')
          : '';
      return slackReply({
        ok: true,
        members: members.slice(offset, offset + limit),
        response_metadata: { next_cursor: next },
      });
    },
  ),
  route<Sandbox>(
    'slack.responseUrl',
    'POST',
    '/_sandbox/slack/responses/{id}',
    (request, sandbox) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      slackState(sandbox).responses.push({
        id: request.params.id as string,
        text: textOf(body.text),
        responseType: textOf(body.response_type) || 'ephemeral',
        replaceOriginal: body.replace_original === true,
        postedAt: sandbox.clock.now().toISOString(),
      });
      return { raw: 'ok', headers: { 'content-type': 'text/plain' } };
    },
  ),
];

export const slackModule: SandboxModule = { name: 'slack', routes };

import { route, type SandboxReply, type SandboxRequest, textOf } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

/**
 * Slack Web API methods costguard calls (`chat.postMessage`, `chat.update`, `auth.test`),
 * captured for inspection. Replies follow Slack: HTTP 200 with `{ok: false, error}` on failure.
 */
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

interface SlackState {
  messages: CapturedSlackMessage[];
  seq: number;
}

export function slackState(sandbox: Sandbox): SlackState {
  return sandbox.extension<SlackState>('slack', () => ({ messages: [], seq: 0 }));
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
];

export const slackModule: SandboxModule = { name: 'slack', routes };

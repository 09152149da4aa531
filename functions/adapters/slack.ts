/**
 * Slack messages (Block Kit with a plain-text fallback). Without a token or channel the
 * notifier only logs what it would have sent, so every capability can call it unconditionally.
 * `postBestEffort` is how every capability posts: a message that cannot be sent is logged, and
 * what the capability did stands.
 */
import type { WebClient } from '@slack/web-api';
import type { KnownBlock } from '@slack/web-api';
import { PermanentError, TransientError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export interface SlackMessage {
  text: string;
  blocks?: KnownBlock[];
  /** Post into this message's thread. */
  threadTs?: string;
}

export interface PostedMessage {
  channel: string;
  ts: string;
}

export interface Notifier {
  readonly enabled: boolean;
  post(message: SlackMessage): Promise<PostedMessage | undefined>;
  update(posted: PostedMessage, message: SlackMessage): Promise<void>;
}

function classify(error: unknown): Error {
  const e = error as { code?: string; data?: { error?: string } };
  // Request errors are network faults; platform errors are Slack refusing the call.
  if (e.code === 'slack_webapi_request_error' || e.code === 'slack_webapi_http_error') {
    return new TransientError(`Slack request failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return new PermanentError(
    `Slack refused the message: ${e.data?.error ?? (error as Error).message}`,
    { cause: error },
  );
}

export class SlackNotifier implements Notifier {
  readonly enabled = true;

  constructor(
    private readonly client: () => Promise<Pick<WebClient, 'chat'>>,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  async post(message: SlackMessage): Promise<PostedMessage> {
    const client = await this.client();
    try {
      const result = await client.chat.postMessage({
        channel: this.channel,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
        ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
        unfurl_links: false,
      });
      const posted = { channel: result.channel ?? this.channel, ts: result.ts ?? '' };
      this.logger.info('Slack message posted', {
        channel: posted.channel,
        ts: posted.ts,
        threadTs: message.threadTs,
      });
      return posted;
    } catch (error) {
      throw classify(error);
    }
  }

  async update(posted: PostedMessage, message: SlackMessage): Promise<void> {
    const client = await this.client();
    try {
      await client.chat.update({
        channel: posted.channel,
        ts: posted.ts,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
      });
    } catch (error) {
      throw classify(error);
    }
  }
}

export function loggingNotifier(logger: Logger): Notifier {
  return {
    enabled: false,
    post: (message) => {
      logger.info('Slack is not configured; message not sent', { text: message.text });
      return Promise.resolve(undefined);
    },
    update: () => Promise.resolve(),
  };
}

/** What became of a best-effort post: `sent` false when Slack failed (and it was logged). */
export interface BestEffortPost {
  readonly sent: boolean;
  /** The message as Slack holds it; undefined when not sent or Slack is not configured. */
  readonly posted: PostedMessage | undefined;
}

/** How a failed post is logged: the line, its level, and the keys the line carries. */
export interface PostFailureLog {
  readonly message: string;
  readonly level?: 'warn' | 'error';
  readonly context?: Record<string, unknown>;
}

/**
 * Posts to Slack, and logs a failure instead of throwing it: Slack never undoes or repeats what
 * a capability has already done and recorded.
 */
export async function postBestEffort(
  notifier: Pick<Notifier, 'post'>,
  logger: Logger,
  message: SlackMessage,
  failure: PostFailureLog,
): Promise<BestEffortPost> {
  try {
    return { sent: true, posted: await notifier.post(message) };
  } catch (error) {
    logger[failure.level ?? 'error'](failure.message, { ...failure.context, error });
    return { sent: false, posted: undefined };
  }
}

/** Who belongs to the Slack user groups and channels that may act on costguard's messages. */
export interface SlackDirectory {
  usergroupMembers(usergroup: string): Promise<ReadonlySet<string>>;
  channelMembers(channel: string): Promise<ReadonlySet<string>>;
}

/** Member lists are read again after this long, so a change in Slack counts within a minute. */
const MEMBERS_TTL_MS = 60_000;

export class SlackWebDirectory implements SlackDirectory {
  private readonly cache = new Map<string, { at: number; members: Promise<ReadonlySet<string>> }>();

  constructor(
    private readonly client: () => Promise<Pick<WebClient, 'usergroups' | 'conversations'>>,
    private readonly now: () => number = Date.now,
  ) {}

  private cached(
    key: string,
    read: () => Promise<ReadonlySet<string>>,
  ): Promise<ReadonlySet<string>> {
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < MEMBERS_TTL_MS) return hit.members;
    const members = read().catch((error: unknown) => {
      this.cache.delete(key);
      throw classify(error);
    });
    this.cache.set(key, { at: this.now(), members });
    return members;
  }

  usergroupMembers(usergroup: string): Promise<ReadonlySet<string>> {
    return this.cached(`group:${usergroup}`, async () => {
      const client = await this.client();
      const result = await client.usergroups.users.list({ usergroup });
      return new Set(result.users ?? []);
    });
  }

  channelMembers(channel: string): Promise<ReadonlySet<string>> {
    return this.cached(`channel:${channel}`, async () => {
      const client = await this.client();
      const members = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await client.conversations.members({
          channel,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        });
        for (const m of page.members ?? []) members.add(m);
        cursor = page.response_metadata?.next_cursor || undefined;
      } while (cursor);
      return members;
    });
  }
}

/** A reply through a click's `response_url`: only the user who clicked sees an ephemeral one. */
export interface ResponseUrlMessage {
  readonly text: string;
  readonly ephemeral: boolean;
}

/**
 * Posts to a click's `response_url`, which must start with `origin` (Slack's
 * `https://hooks.slack.com/`, or the sandbox's): a URL from a payload is never followed blindly.
 */
export async function postToResponseUrl(
  origin: string,
  url: string,
  message: ResponseUrlMessage,
): Promise<void> {
  if (!url.startsWith(origin)) {
    throw new PermanentError(`response_url is not under ${origin}`);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: message.text,
        response_type: message.ephemeral ? 'ephemeral' : 'in_channel',
        replace_original: false,
      }),
      signal: AbortSignal.timeout(2_000),
    });
  } catch (error) {
    throw new TransientError('Slack response_url could not be reached', { cause: error });
  }
  if (!response.ok) {
    const error = `Slack response_url answered ${response.status}`;
    throw response.status >= 500 ? new TransientError(error) : new PermanentError(error);
  }
}

/**
 * Who may act on costguard's Slack messages: members of the configured Slack user groups or
 * channels. The verdict is pure; the member lists come from the `SlackDirectory` port.
 */
import type { SlackDirectory } from '../adapters/slack.js';

export interface MemberList {
  /** `user group S…` or `channel C…`, for the ledger and the log. */
  readonly source: string;
  readonly members: ReadonlySet<string>;
}

export type ActorVerdict =
  { readonly allowed: true; readonly via: string } | { readonly allowed: false };

export function actorVerdict(userId: string, lists: readonly MemberList[]): ActorVerdict {
  const list = lists.find((l) => l.members.has(userId));
  return list ? { allowed: true, via: list.source } : { allowed: false };
}

/** The member lists of the configured groups and channels, read through the directory. */
export async function memberLists(
  directory: SlackDirectory,
  actors: { readonly groups: readonly string[]; readonly channels: readonly string[] },
): Promise<MemberList[]> {
  return Promise.all([
    ...actors.groups.map(async (g) => ({
      source: `user group ${g}`,
      members: await directory.usergroupMembers(g),
    })),
    ...actors.channels.map(async (c) => ({
      source: `channel ${c}`,
      members: await directory.channelMembers(c),
    })),
  ]);
}

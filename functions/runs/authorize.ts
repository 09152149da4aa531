/**
 * Who may run what. IAM's run.invoker lets a principal reach triggerRun at all, but it is one
 * grant for the whole function; each pipeline names its own invokers (users, service accounts
 * and groups), and every route (start, read, list, cancel) checks the caller against them. The
 * platform has verified the token's signature; the audience is checked here so that a token
 * minted for another service is refused.
 */
import type { GroupMembership } from '../adapters/cloud-identity.js';
import { TransientError } from '../core/errors.js';
import { forwardedIdentity, ANONYMOUS } from './caller.js';
import type { Pipeline } from './config.js';

/** A user or service account as IAM names it, or a group by its email (which becomes a query). */
export const INVOKER =
  /^(?:(?:user|serviceAccount):[^\s@:]{1,64}@[^\s@]{1,255}|group:[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255})$/;

export interface Caller {
  /** Lower-case, as IAM compares principals. */
  readonly email: string;
}

export type Authentication =
  { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly reason: string };

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export function authenticate(headers: Headers, audiences: readonly string[]): Authentication {
  const identity = forwardedIdentity(headers);
  if (identity === ANONYMOUS) return { ok: false, reason: 'no identity token' };
  if (typeof identity === 'string')
    return { ok: false, reason: 'the identity token is unreadable' };
  if (!identity.audiences.some((a) => audiences.includes(a))) {
    return { ok: false, reason: 'the identity token is for another audience' };
  }
  if (identity.email === undefined) {
    return { ok: false, reason: 'the identity token names no email' };
  }
  return { ok: true, caller: { email: identity.email.toLowerCase() } };
}

/**
 * A pipeline names invoker groups whose membership could not be checked, and the caller is not
 * among its other invokers: the caller is refused (fail closed), never let through.
 */
export class MembershipUnknownError extends TransientError {
  override name = 'MembershipUnknownError';
  constructor(
    readonly pipeline: string,
    readonly groups: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`Membership of ${groups.join(', ')} could not be checked`, options);
  }
}

const emailOf = (invoker: string): string => invoker.slice(invoker.indexOf(':') + 1).toLowerCase();

/**
 * Whether the caller is one of the pipeline's invokers: named as a user or service account, or
 * a member (however nested) of a group it names. Groups are asked only when no direct invoker
 * matches; a group that cannot be asked admits no one, and when no other group admits the
 * caller either, MembershipUnknownError is thrown.
 */
export async function mayInvoke(
  pipeline: Pick<Pipeline, 'name' | 'invokers'>,
  caller: Caller,
  groups: GroupMembership | undefined,
): Promise<boolean> {
  const direct = pipeline.invokers.filter((i) => !i.startsWith('group:'));
  if (direct.some((invoker) => emailOf(invoker) === caller.email)) return true;
  const named = pipeline.invokers.filter((i) => i.startsWith('group:')).map(emailOf);
  const unknown: string[] = [];
  let cause: unknown;
  for (const group of named) {
    try {
      if (groups && (await groups.isMember(group, caller.email))) return true;
      if (!groups) unknown.push(`group:${group}`);
    } catch (error) {
      unknown.push(`group:${group}`);
      cause = error;
    }
  }
  if (unknown.length > 0) throw new MembershipUnknownError(pipeline.name, unknown, { cause });
  return false;
}

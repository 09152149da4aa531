/**
 * Who may run what. IAM's run.invoker lets a principal reach triggerRun at all, but it is one
 * grant for the whole function; each pipeline names its own invokers, and every route (start,
 * read, list, cancel) checks the caller against them. The platform has verified the token's
 * signature; the audience is checked here so that a token minted for another service is refused.
 */
import { forwardedIdentity, ANONYMOUS } from './caller.js';
import type { Pipeline } from './config.js';

export const INVOKER = /^(user|serviceAccount):[^\s@:]{1,64}@[^\s@]{1,255}$/;

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

/** Whether the caller is one of the pipeline's invokers. */
export function mayInvoke(pipeline: Pick<Pipeline, 'invokers'>, caller: Caller): boolean {
  return pipeline.invokers.some(
    (invoker) => invoker.slice(invoker.indexOf(':') + 1).toLowerCase() === caller.email,
  );
}

/** The names of the pipelines the caller may see and run. */
export function invokablePipelines(
  pipelines: ReadonlyMap<string, Pipeline>,
  caller: Caller,
): string[] {
  return [...pipelines.values()].filter((p) => mayInvoke(p, caller)).map((p) => p.name);
}

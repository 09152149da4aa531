/**
 * The Cloud Identity Groups port: whether a principal belongs to a group, directly or through
 * nested groups. The group's resource name comes from `groups:lookup` by its email, then
 * `memberships:checkTransitiveMembership` answers `hasMembership`
 * (cloud.google.com/identity/docs/reference/rest/v1/groups.memberships/checkTransitiveMembership).
 * There is no maintained Node client of this API, so it is called over HTTPS with the runtime's
 * credentials. Answers are kept briefly (a removed member loses access within minutes); failures
 * are retried when transient and never remembered.
 */
import { httpStatusOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

/** What the port needs of an HTTP client: google-auth-library's AuthClient.request. */
export interface IdentityHttp {
  /** `https://cloudidentity.googleapis.com`, or the sandbox. */
  readonly origin: string;
  request<T>(options: {
    url: string;
    method: 'GET';
    params: Record<string, string>;
    retry: boolean;
  }): Promise<{ data: T }>;
}

/** Whether `member` (an email) belongs to the group `group` (an email), however nested. */
export interface GroupMembership {
  isMember(group: string, member: string): Promise<boolean>;
}

export interface CloudIdentityGroupsOptions {
  logger: Logger;
  retry?: RetryOptions;
  /** How long an answer is believed (default 5 minutes). */
  ttlMs?: number;
  /** Answers kept at most; the oldest go first (default 1,000). */
  maxEntries?: number;
  now?: () => number;
}

const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_MAX_ENTRIES = 1_000;
// Email addresses only: a value here becomes part of a CEL query string.
export const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}$/;

interface Kept<T> {
  readonly value: Promise<T>;
  readonly until: number;
}

/** A small cache of answers that forgets failures and answers past their time. */
class Answers<T> {
  private readonly entries = new Map<string, Kept<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const kept = this.entries.get(key);
    if (kept && kept.until > this.now()) return kept.value;
    const value = compute();
    this.entries.delete(key);
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
    value.catch(() => this.entries.delete(key));
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    return value;
  }
}

export class CloudIdentityGroups implements GroupMembership {
  private readonly names: Answers<string>;
  private readonly memberships: Answers<boolean>;

  constructor(
    private readonly http: () => Promise<IdentityHttp>,
    private readonly options: CloudIdentityGroupsOptions,
  ) {
    const now = options.now ?? Date.now;
    const max = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
    // A group's resource name never changes; its membership does.
    this.names = new Answers(ttl * 12, max, now);
    this.memberships = new Answers(ttl, max, now);
  }

  isMember(group: string, member: string): Promise<boolean> {
    if (!EMAIL.test(group)) return Promise.reject(new Error(`Not a group email: ${group}`));
    // No Google account has such an address, and it could not be put in the query.
    if (!EMAIL.test(member)) return Promise.resolve(false);
    const key = `${group.toLowerCase()}\u0000${member.toLowerCase()}`;
    return this.memberships.get(key, async () => {
      const name = await this.names.get(group.toLowerCase(), () => this.lookUp(group));
      const { hasMembership } = await this.call<{ hasMembership?: boolean }>(
        `/v1/${name}/memberships:checkTransitiveMembership`,
        { query: `member_key_id == '${member.toLowerCase()}'` },
        { group },
      );
      return hasMembership === true;
    });
  }

  private async lookUp(group: string): Promise<string> {
    const { name } = await this.call<{ name?: string }>(
      '/v1/groups:lookup',
      { 'groupKey.id': group.toLowerCase() },
      { group },
    );
    if (typeof name !== 'string' || !/^groups\/[A-Za-z0-9_-]{1,128}$/.test(name)) {
      throw new Error(`groups:lookup answered no group name for ${group}`);
    }
    return name;
  }

  private async call<T>(
    path: string,
    params: Record<string, string>,
    context: { group: string },
  ): Promise<T> {
    const http = await this.http();
    try {
      const { data } = await withRetry(
        () =>
          http.request<T>({ url: `${http.origin}${path}`, method: 'GET', params, retry: false }),
        loggedRetries(this.options.logger, 'Cloud Identity', this.options.retry, context),
      );
      return data;
    } catch (error) {
      this.options.logger.error('Group membership could not be checked', {
        ...context,
        status: httpStatusOf(error),
        error,
      });
      throw error;
    }
  }
}

/**
 * Fault injection per route: a fixed delay (real milliseconds); calls failing with a given HTTP
 * status and `errors[].reason` (the next N, or a seeded share of them, as a rate limit arrives);
 * fingerprinted writes losing a race to a concurrent writer; calls answered with a recorded
 * response (to replay real API payloads); zones an aggregatedList cannot reach; operations that
 * take a while, never finish or fail; and `wait` calls that return at once.
 * A rule applies to a route name, a prefix such as `compute.*`, or `*`. Tests set rules with
 * `sandbox.faults.set`, the benchmarks and people with `PUT /_sandbox/faults/{target}`.
 */
export interface FailFault {
  /** How many calls fail; unlimited when `rate` is given without it. */
  count?: number;
  status: number;
  message?: string;
  /** `errors[].reason` of the reply (Compute's rate limit: 403 with `rateLimitExceeded`). */
  reason?: string;
  domain?: string;
  /** Calls let through before failures start. */
  after?: number;
  /** Fail this share of calls (0..1), chosen by a PRNG seeded with `seed`, instead of every one. */
  rate?: number;
  seed?: number;
}

export interface OperationFault {
  /** How many operations it applies to (default: every one). */
  count?: number;
  /** Simulated seconds the operation takes (overrides the sandbox's operationSeconds). */
  seconds?: number;
  /** The operation never reaches DONE. */
  stuck?: boolean;
  /** The operation ends DONE with this in `error.errors[]` (and the change is not made). */
  error?: { code: string; message: string };
}

export interface FaultRule {
  delayMs?: number;
  fail?: FailFault;
  replay?: { count: number; status?: number; body: unknown };
  race?: { count: number; labels?: Record<string, string>; metadata?: Record<string, string> };
  /** aggregatedList: these zones answer as unreachable (listed in `unreachables`, with a warning). */
  unreachable?: { zones: string[] };
  /** Mutations: how the operations they start behave. */
  operation?: OperationFault;
  /** zoneOperations.wait: return at once with the operation as it is (default: every wait). */
  earlyWait?: { count?: number };
}

export interface InjectedFailure {
  status: number;
  message: string;
  reason: string | undefined;
  domain: string | undefined;
}

/** mulberry32: a small seeded PRNG, so a "30% of calls" fault fails the same calls every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_MESSAGES: Record<string, string> = {
  rateLimitExceeded: 'Rate Limit Exceeded',
  userRateLimitExceeded: 'User Rate Limit Exceeded',
  RESOURCE_OPERATION_RATE_EXCEEDED:
    'Operation rate exceeded for resource; retry the request after some time',
  forbidden: 'Required permission is missing',
  accessNotConfigured:
    'Compute Engine API has not been used in this project before or it is disabled',
};

export interface RaceChange {
  labels?: Record<string, string>;
  metadata?: Record<string, string>;
}

export class Faults {
  private rules = new Map<string, FaultRule>();
  private readonly random = new WeakMap<FailFault, () => number>();

  set(target: string, rule: FaultRule): void {
    this.rules.set(target, structuredClone(rule));
  }

  clear(target?: string): void {
    if (target === undefined) this.rules.clear();
    else this.rules.delete(target);
  }

  list(): Record<string, FaultRule> {
    return Object.fromEntries(this.rules);
  }

  private matching(routeName: string): FaultRule[] {
    const out: FaultRule[] = [];
    for (const [target, rule] of this.rules) {
      const applies =
        target === '*' ||
        target === routeName ||
        (target.endsWith('*') && routeName.startsWith(target.slice(0, -1)));
      if (applies) out.push(rule);
    }
    return out;
  }

  delayFor(routeName: string): number {
    return this.matching(routeName).reduce((sum, rule) => sum + (rule.delayMs ?? 0), 0);
  }

  /** Consumes one injected failure for the route, returning its status, message and reason. */
  takeFailure(routeName: string): InjectedFailure | undefined {
    for (const rule of this.matching(routeName)) {
      const fail = rule.fail;
      if (!fail) continue;
      const unlimited = fail.count === undefined && fail.rate !== undefined;
      if (!unlimited && (fail.count ?? 0) <= 0) continue;
      if ((fail.after ?? 0) > 0) {
        fail.after = (fail.after ?? 0) - 1;
        return undefined;
      }
      if (fail.rate !== undefined) {
        let random = this.random.get(fail);
        if (!random) {
          random = prng(fail.seed ?? 12);
          this.random.set(fail, random);
        }
        if (random() >= fail.rate) continue;
      }
      if (fail.count !== undefined) fail.count--;
      return {
        status: fail.status,
        message:
          fail.message ??
          (fail.reason ? DEFAULT_MESSAGES[fail.reason] : undefined) ??
          `Injected failure (${fail.status})`,
        reason: fail.reason,
        domain: fail.domain,
      };
    }
    return undefined;
  }

  /** Zones the route's listing cannot reach. */
  unreachableZones(routeName: string): Set<string> {
    const zones = new Set<string>();
    for (const rule of this.matching(routeName)) {
      for (const zone of rule.unreachable?.zones ?? []) zones.add(zone);
    }
    return zones;
  }

  /** Consumes one operation fault for a mutation route. */
  takeOperation(routeName: string): OperationFault | undefined {
    for (const rule of this.matching(routeName)) {
      const op = rule.operation;
      if (!op) continue;
      if (op.count === undefined) return op;
      if (op.count > 0) {
        op.count--;
        return op;
      }
    }
    return undefined;
  }

  /** Consumes one early return for a wait route. */
  takeEarlyWait(routeName: string): boolean {
    for (const rule of this.matching(routeName)) {
      const early = rule.earlyWait;
      if (!early) continue;
      if (early.count === undefined) return true;
      if (early.count > 0) {
        early.count--;
        return true;
      }
    }
    return false;
  }

  /** Consumes one recorded response for the route. */
  takeReplay(routeName: string): { status: number; body: unknown } | undefined {
    for (const rule of this.matching(routeName)) {
      if (rule.replay && rule.replay.count > 0) {
        rule.replay.count--;
        return { status: rule.replay.status ?? 200, body: rule.replay.body };
      }
    }
    return undefined;
  }

  /** Consumes one injected race: the concurrent change to apply before this write is checked. */
  takeRace(routeName: string): RaceChange | undefined {
    for (const rule of this.matching(routeName)) {
      if (rule.race && rule.race.count > 0) {
        rule.race.count--;
        return { labels: rule.race.labels, metadata: rule.race.metadata };
      }
    }
    return undefined;
  }
}

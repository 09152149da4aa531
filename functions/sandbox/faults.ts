/**
 * Fault injection per route: a fixed delay (real milliseconds), the next N calls failing with a
 * given HTTP status, the next N fingerprinted writes losing a race to a concurrent writer, or
 * the next N calls answered with a recorded response (to replay real API payloads).
 * A rule applies to a route name, a prefix such as `compute.*`, or `*`.
 */
export interface FaultRule {
  delayMs?: number;
  /** The next `count` calls fail with `status`, after letting `after` calls through. */
  fail?: { count: number; status: number; message?: string; after?: number };
  replay?: { count: number; status?: number; body: unknown };
  race?: { count: number; labels?: Record<string, string>; metadata?: Record<string, string> };
}

export interface RaceChange {
  labels?: Record<string, string>;
  metadata?: Record<string, string>;
}

export class Faults {
  private rules = new Map<string, FaultRule>();

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

  /** Consumes one injected failure for the route, returning its status and message. */
  takeFailure(routeName: string): { status: number; message: string } | undefined {
    for (const rule of this.matching(routeName)) {
      if (rule.fail && rule.fail.count > 0) {
        if ((rule.fail.after ?? 0) > 0) {
          rule.fail.after = (rule.fail.after ?? 0) - 1;
          return undefined;
        }
        rule.fail.count--;
        return {
          status: rule.fail.status,
          message: rule.fail.message ?? `Injected failure (${rule.fail.status})`,
        };
      }
    }
    return undefined;
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

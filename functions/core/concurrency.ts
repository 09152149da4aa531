/**
 * Applies `task` to every item with at most `limit` in flight and returns every outcome in input
 * order: one failure never hides or cancels the others.
 */
export async function settleAll<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await task(items[index] as T, index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}

/**
 * At most `limit` tasks in flight at once, shared by whoever holds the semaphore; waiting
 * tasks start in the order they asked. `peak` is the most ever in flight (benchmarks read it).
 */
export class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  peak = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be 1 or more');
  }

  get inFlight(): number {
    return this.running;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    this.peak = Math.max(this.peak, this.running);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so the count never dips below the limit.
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * A per-minute budget of calls, paced evenly: a token bucket that refills `perMinute` tokens a
 * minute and holds at most `burst`. A call beyond the budget waits its turn (tokens may go
 * negative: each caller reserves its token and sleeps until it is there), so a storm of calls
 * slows down instead of running into the API's own rate limit.
 */
export class RateBudget {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly burst: number;

  constructor(
    readonly perMinute: number,
    private readonly options: {
      burst?: number;
      now?: () => number;
      sleep?: (ms: number) => Promise<void>;
    } = {},
  ) {
    if (!(perMinute > 0)) throw new RangeError('perMinute must be positive');
    this.perMs = perMinute / 60_000;
    this.burst = Math.max(1, options.burst ?? Math.ceil(perMinute / 10));
    this.tokens = this.burst;
    this.last = this.now();
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Milliseconds the next call would wait now (0 when a token is there). */
  delayMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** Takes one token, waiting until it is there. */
  async take(): Promise<void> {
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    const wait = Math.ceil(-this.tokens / this.perMs);
    await (this.options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(wait);
  }
}

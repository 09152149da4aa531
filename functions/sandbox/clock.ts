import type { Clock } from '../core/clock.js';

interface Timer {
  at: number;
  seq: number;
  run: () => void;
}

/**
 * The sandbox's simulated time. It moves only when told to (`advance`, `set`); timers scheduled
 * on it (a batch VM finishing, a stop completing) fire in time order as it passes them.
 */
export class SimulatedClock implements Clock {
  private current: number;
  private timers: Timer[] = [];
  private seq = 0;

  constructor(start: Date) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  nowMs(): number {
    return this.current;
  }

  /** Runs `run` when the clock reaches `at` (at once on the next advance if already past). */
  schedule(at: Date | number, run: () => void): void {
    const timer = { at: typeof at === 'number' ? at : at.getTime(), seq: this.seq++, run };
    // After every timer due at or before it (binary search: a stop storm schedules thousands).
    let low = 0;
    let high = this.timers.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.timers[mid] as Timer).at <= timer.at) low = mid + 1;
      else high = mid;
    }
    this.timers.splice(low, 0, timer);
  }

  /** Time passes at once: whoever sleeps on the sandbox's clock moves it forward. */
  sleep(ms: number): Promise<void> {
    if (ms > 0) this.advance(ms);
    return Promise.resolve();
  }

  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    return this.set(new Date(this.current + ms));
  }

  set(to: Date): Date {
    const target = to.getTime();
    if (target < this.current) throw new RangeError('the clock only moves forward');
    for (;;) {
      const timer = this.timers[0];
      if (!timer || timer.at > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, timer.at);
      timer.run();
    }
    this.current = target;
    return this.now();
  }
}

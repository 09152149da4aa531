/** The time source every decision reads; tests and the sandbox pass their own. */
export interface Clock {
  now(): Date;
  /**
   * Lets `ms` pass on this clock (a pause between polls, a backoff). The system clock sleeps for
   * real; the sandbox's simulated clock moves forward instead. Absent: a real sleep.
   */
  sleep?(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Start of the UTC hour that contains `date`. */
export function startOfHour(date: Date): Date {
  return new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
}

/** YYYY-MM-DD of a date in UTC. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** `2026-12-05 14:05 UTC`: a date to the minute, as messages show it. */
export function utcMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

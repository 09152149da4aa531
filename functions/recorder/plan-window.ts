/**
 * Which hours a run records: the closed hours of the catch-up window, ending with the last hour
 * that closed at least `settleMinutes` ago (Monitoring ingests uptime up to 240 s late). The open
 * hour is never recorded. Every run re-reads the whole window, so a missed run or late data is
 * healed by the next one; keyed rows keep that from counting anything twice.
 */

import { HOUR_MS, startOfHour } from '../core/clock.js';

export interface RecordingWindow {
  readonly start: Date;
  /** Exclusive: the start of the first hour not recorded. */
  readonly end: Date;
  readonly hours: readonly Date[];
}

export function planWindow(
  now: Date,
  options: { catchUpHours: number; settleMinutes: number },
): RecordingWindow {
  const end = startOfHour(new Date(now.getTime() - options.settleMinutes * 60_000));
  const start = new Date(end.getTime() - options.catchUpHours * HOUR_MS);
  const hours = Array.from(
    { length: options.catchUpHours },
    (_, i) => new Date(start.getTime() + i * HOUR_MS),
  );
  return { start, end, hours };
}

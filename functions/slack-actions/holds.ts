/**
 * Until when a Snooze or a Restart holds a tier's shedding: pure, from the click's time.
 */
import { HOUR_MS, utcMinute } from '../core/clock.js';
import type { SlackActionName } from '../core/slack-buttons.js';

/** The end of a snooze: 1 h, 4 h, or the next midnight UTC ("until tomorrow"). */
export function snoozeUntil(action: SlackActionName, now: Date): Date | undefined {
  switch (action) {
    case 'snooze_1h':
      return new Date(now.getTime() + HOUR_MS);
    case 'snooze_4h':
      return new Date(now.getTime() + 4 * HOUR_MS);
    case 'snooze_tomorrow': {
      const midnight = new Date(now);
      midnight.setUTCHours(24, 0, 0, 0);
      return midnight;
    }
    default:
      return undefined;
  }
}

/** `for 1 h (until 2026-12-05 14:05 UTC)` */
export function describeHold(from: Date, until: Date): string {
  const hours = Math.round(((until.getTime() - from.getTime()) / HOUR_MS) * 10) / 10;
  return `for ${hours} h (until ${utcMinute(until)})`;
}

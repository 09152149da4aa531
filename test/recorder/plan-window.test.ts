import { describe, expect, it } from 'vitest';
import { planWindow } from '../../functions/recorder/plan-window.js';

describe('planWindow', () => {
  it.each([
    // now, catch-up hours, settle minutes, first hour, end (exclusive)
    ['2026-11-20T10:15:00Z', 6, 10, '2026-11-20T04:00:00.000Z', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T10:10:00Z', 6, 10, '2026-11-20T04:00:00.000Z', '2026-11-20T10:00:00.000Z'],
    // 10:09: the 09:00 hour closed only 9 minutes ago.
    ['2026-11-20T10:09:59Z', 6, 10, '2026-11-20T03:00:00.000Z', '2026-11-20T09:00:00.000Z'],
    ['2026-11-20T10:30:00Z', 1, 45, '2026-11-20T08:00:00.000Z', '2026-11-20T09:00:00.000Z'],
    ['2026-11-20T00:20:00Z', 3, 10, '2026-11-19T21:00:00.000Z', '2026-11-20T00:00:00.000Z'],
  ])('at %s with %i h and %i min: %s to %s', (now, catchUpHours, settleMinutes, start, end) => {
    const window = planWindow(new Date(now), { catchUpHours, settleMinutes });
    expect(window.start.toISOString()).toBe(start);
    expect(window.end.toISOString()).toBe(end);
    expect(window.hours).toHaveLength(catchUpHours);
    expect(window.hours[0]?.toISOString()).toBe(start);
    expect(window.hours.at(-1)?.getTime()).toBe(window.end.getTime() - 3_600_000);
  });

  it('never includes the open hour', () => {
    const now = new Date('2026-11-20T23:59:59Z');
    const window = planWindow(now, { catchUpHours: 72, settleMinutes: 10 });
    expect(window.end.getTime()).toBeLessThanOrEqual(Date.parse('2026-11-20T23:00:00Z'));
  });
});

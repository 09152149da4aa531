import { describe, expect, it } from 'vitest';
import { planWindow } from '../../functions/recorder/plan-window.js';

describe('planWindow', () => {
  it.each([
    {
      now: '2026-11-20T10:15:00Z',
      catchUpHours: 6,
      settleMinutes: 10,
      start: '2026-11-20T04:00:00.000Z',
      end: '2026-11-20T10:00:00.000Z',
    },
    {
      now: '2026-11-20T10:10:00Z',
      catchUpHours: 6,
      settleMinutes: 10,
      start: '2026-11-20T04:00:00.000Z',
      end: '2026-11-20T10:00:00.000Z',
    },
    // 10:09: the 09:00 hour closed only 9 minutes ago.
    {
      now: '2026-11-20T10:09:59Z',
      catchUpHours: 6,
      settleMinutes: 10,
      start: '2026-11-20T03:00:00.000Z',
      end: '2026-11-20T09:00:00.000Z',
    },
    {
      now: '2026-11-20T10:30:00Z',
      catchUpHours: 1,
      settleMinutes: 45,
      start: '2026-11-20T08:00:00.000Z',
      end: '2026-11-20T09:00:00.000Z',
    },
    {
      now: '2026-11-20T00:20:00Z',
      catchUpHours: 3,
      settleMinutes: 10,
      start: '2026-11-19T21:00:00.000Z',
      end: '2026-11-20T00:00:00.000Z',
    },
  ])(
    'at $now with $catchUpHours h and $settleMinutes min: $start to $end',
    ({ now, catchUpHours, settleMinutes, start, end }) => {
      const window = planWindow(new Date(now), { catchUpHours, settleMinutes });
      expect(window.start.toISOString()).toBe(start);
      expect(window.end.toISOString()).toBe(end);
      expect(window.hours).toHaveLength(catchUpHours);
      expect(window.hours[0]?.toISOString()).toBe(start);
      expect(window.hours.at(-1)?.getTime()).toBe(window.end.getTime() - 3_600_000);
    },
  );

  it('never includes the open hour', () => {
    const now = new Date('2026-11-20T23:59:59Z');
    const window = planWindow(now, { catchUpHours: 72, settleMinutes: 10 });
    expect(window.end.getTime()).toBeLessThanOrEqual(Date.parse('2026-11-20T23:00:00Z'));
  });
});

import { describe, expect, it } from 'vitest';
import type { BudgetPeriod } from '../../functions/adapters/budgets.js';
import {
  budgetCapPeriod,
  capPeriod,
  computeCapSpend,
  type CapSpendInput,
} from '../../functions/caps/cap-spend.js';

const at = (iso: string): Date => new Date(iso);

describe('capPeriod', () => {
  it.each([
    {
      kind: 'day',
      now: '2026-11-18T13:05:00Z',
      start: '2026-11-18T00:00:00.000Z',
      end: '2026-11-19T00:00:00.000Z',
    },
    // 2026-11-18 is a Wednesday; weeks run Monday to Monday.
    {
      kind: 'week',
      now: '2026-11-18T13:05:00Z',
      start: '2026-11-16T00:00:00.000Z',
      end: '2026-11-23T00:00:00.000Z',
    },
    {
      kind: 'week',
      now: '2026-11-22T23:59:00Z',
      start: '2026-11-16T00:00:00.000Z',
      end: '2026-11-23T00:00:00.000Z',
    },
    {
      kind: 'month',
      now: '2026-12-31T23:00:00Z',
      start: '2026-12-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
    },
    {
      kind: 'quarter',
      now: '2026-11-18T13:05:00Z',
      start: '2026-10-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
    },
    {
      kind: 'year',
      now: '2026-11-18T13:05:00Z',
      start: '2026-01-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
    },
  ] as const)(
    'a $kind holding $now runs from $start to $end (UTC)',
    ({ kind, now, start, end }) => {
      const period = capPeriod(kind, at(now));
      expect([period.start.toISOString(), period.end.toISOString()]).toEqual([start, end]);
    },
  );
});

describe('budgetCapPeriod', () => {
  const november = { year: 2026, month: 11, day: 10 };
  const month: BudgetPeriod = { kind: 'calendar', unit: 'MONTH' };
  it.each([
    // Cloud Billing's periods start at midnight Pacific time, daylight saving time included.
    {
      budget: month,
      now: '2026-11-18T13:05:00Z',
      start: '2026-11-01T07:00:00.000Z',
      end: '2026-12-01T08:00:00.000Z',
    },
    {
      budget: month,
      now: '2026-11-01T06:30:00Z',
      start: '2026-10-01T07:00:00.000Z',
      end: '2026-11-01T07:00:00.000Z',
    },
    {
      budget: { kind: 'calendar', unit: 'QUARTER' } as const,
      now: '2026-11-18T13:05:00Z',
      start: '2026-10-01T07:00:00.000Z',
      end: '2027-01-01T08:00:00.000Z',
    },
    {
      budget: { kind: 'calendar', unit: 'YEAR' } as const,
      now: '2026-11-18T13:05:00Z',
      start: '2026-01-01T08:00:00.000Z',
      end: '2027-01-01T08:00:00.000Z',
    },
    {
      // The end date is the period's last day.
      budget: { kind: 'custom', start: november, end: { year: 2026, month: 11, day: 20 } } as const,
      now: '2026-11-18T13:05:00Z',
      start: '2026-11-10T08:00:00.000Z',
      end: '2026-11-21T08:00:00.000Z',
    },
  ])(
    'a budget $budget.kind $budget.unit holding $now runs from $start to $end',
    ({ budget, now, start, end }) => {
      const found = budgetCapPeriod(budget, at(now));
      expect(
        'period' in found && [found.period.start.toISOString(), found.period.end.toISOString()],
      ).toEqual([start, end]);
    },
  );

  it.each([
    {
      what: 'has ended',
      end: { year: 2026, month: 11, day: 17 },
      problem: /2026-11-10 to 2026-11-17 does not hold/,
    },
    { what: 'has no end date', end: undefined, problem: /with no end date/ },
  ])('gives no period when the custom period $what', ({ end, problem }) => {
    const found = budgetCapPeriod(
      { kind: 'custom', start: november, end },
      at('2026-11-18T13:05:00Z'),
    );
    expect('problem' in found && found.problem).toMatch(problem);
  });

  it('gives no period before a custom period begins', () => {
    const found = budgetCapPeriod(
      { kind: 'custom', start: november, end: { year: 2026, month: 12, day: 31 } },
      at('2026-11-10T07:59:00Z'),
    );
    expect('problem' in found).toBe(true);
  });
});

const day = capPeriod('day', at('2026-11-18T12:00:00Z'));

function input(overrides: Partial<CapSpendInput>): CapSpendInput {
  return {
    amount: 100,
    period: day,
    now: at('2026-11-18T10:40:00Z'),
    recorded: [],
    recordedThrough: undefined,
    running: [],
    recentHours: 3,
    ...overrides,
  };
}

const hours = (spend: Record<string, number>) =>
  Object.entries(spend).map(([hour, s]) => ({ hour: at(`2026-11-18T${hour}:00:00Z`), spend: s }));

describe('computeCapSpend', () => {
  it('adds the running fleet since the last recorded hour to the recorded hours', () => {
    // Prepare: hours 06-09 recorded (the recorder has closed 09:00-10:00); two VMs run now,
    // one since before the watermark, one started at 10:20.
    const spend = computeCapSpend(
      input({
        recorded: hours({ '06': 4, '07': 6, '08': 6, '09': 9 }),
        recordedThrough: at('2026-11-18T10:00:00Z'),
        running: [
          { hourly: 6, startedAt: at('2026-11-18T02:00:00Z') },
          { hourly: 3, startedAt: at('2026-11-18T10:20:00Z') },
        ],
      }),
    );
    // Assess: recorded 25; estimated 6 × 40/60 + 3 × 20/60 = 4 + 1 = 5.
    expect(spend).toMatchObject({
      recorded: 25,
      estimated: 5,
      spend: 30,
      recordedThrough: at('2026-11-18T10:00:00Z'),
      runningVms: 2,
      fleetRate: 9,
      recentRate: 7, // (6 + 6 + 9) / 3
      headroom: 70,
      spendRatio: 0.3,
    });
    expect(spend.openHours).toEqual([
      { hour: at('2026-11-18T10:00:00Z'), spend: 5, seconds: 2400 },
    ]);
    // 13 h 20 min left at the higher of 7/h and 9/h: 30 + 9 × 13.3333 = 150.
    expect(spend.forecast).toBe(150);
    expect(spend.forecastRatio).toBe(1.5);
    expect(spend.forecastMethod).toBe(
      'spend so far + max(last 3 recorded h 7/h, running fleet 9/h) × 13.3333 h to period end',
    );
  });

  it('counts a VM that stopped after the last recorded hour for the time it ran, not in the fleet rate', () => {
    // Prepare: recorded through 10:00; one VM runs at 6/h, one at 12/h ran from 09:30 (already
    // recorded up to 10:00) and stopped at 10:15, one stopped at 09:50 (all of it recorded).
    const spend = computeCapSpend(
      input({
        recorded: hours({ '09': 9 }),
        recordedThrough: at('2026-11-18T10:00:00Z'),
        running: [{ hourly: 6, startedAt: at('2026-11-18T02:00:00Z') }],
        stopped: [
          {
            hourly: 12,
            startedAt: at('2026-11-18T09:30:00Z'),
            stoppedAt: at('2026-11-18T10:15:00Z'),
          },
          {
            hourly: 24,
            startedAt: at('2026-11-18T08:00:00Z'),
            stoppedAt: at('2026-11-18T09:50:00Z'),
          },
        ],
      }),
    );

    // Assess: 6 × 40/60 = 4 for the running VM, 12 × 15/60 = 3 for the one that stopped at 10:15.
    expect(spend).toMatchObject({
      recorded: 9,
      estimated: 7,
      spend: 16,
      runningVms: 1,
      stoppedVms: 1,
      fleetRate: 6,
    });
    expect(spend.openHours).toEqual([
      { hour: at('2026-11-18T10:00:00Z'), spend: 7, seconds: 2400 },
    ]);
  });

  it('forecasts from the recent hours when they burnt faster than what runs now', () => {
    const spend = computeCapSpend(
      input({
        now: at('2026-11-18T22:00:00Z'),
        recorded: hours({ '19': 10, '20': 20, '21': 30 }),
        recordedThrough: at('2026-11-18T22:00:00Z'),
        running: [{ hourly: 1, startedAt: undefined }],
      }),
    );
    expect(spend).toMatchObject({ recorded: 60, estimated: 0, recentRate: 20, forecast: 100 });
  });

  it('splits an estimate that spans the hour into open hours, the first one whole', () => {
    // The recorder has not yet closed 09:00-10:00 (it runs ten minutes after the hour).
    const spend = computeCapSpend(
      input({
        now: at('2026-11-18T10:06:00Z'),
        recorded: hours({ '08': 2 }),
        recordedThrough: at('2026-11-18T09:00:00Z'),
        running: [{ hourly: 2, startedAt: undefined }],
      }),
    );
    expect(spend.estimated).toBe(2.2);
    expect(spend.openHours).toEqual([
      { hour: at('2026-11-18T09:00:00Z'), spend: 2, seconds: 3600 },
      { hour: at('2026-11-18T10:00:00Z'), spend: 0.2, seconds: 360 },
    ]);
  });

  it('counts nothing from before the period, recorded or estimated', () => {
    // Just after midnight, yesterday's last hour is still open: it belongs to yesterday's cap.
    const spend = computeCapSpend(
      input({
        now: at('2026-11-18T00:30:00Z'),
        recorded: [{ hour: at('2026-11-17T22:00:00Z'), spend: 50 }],
        recordedThrough: at('2026-11-17T23:00:00Z'),
        running: [{ hourly: 4, startedAt: at('2026-11-17T20:00:00Z') }],
      }),
    );
    expect(spend).toMatchObject({ recorded: 0, estimated: 2, spend: 2, recentRate: undefined });
    expect(spend.recordedThrough).toEqual(day.start);
    expect(spend.forecastMethod).toContain('max(no recorded hour yet, running fleet 4/h)');
    expect(spend.forecast).toBe(2 + 4 * 23.5);
  });

  it('shows a cap already spent as negative headroom', () => {
    const spend = computeCapSpend(
      input({ recorded: hours({ '09': 120 }), recordedThrough: at('2026-11-18T10:00:00Z') }),
    );
    expect(spend).toMatchObject({ spend: 120, headroom: -20, spendRatio: 1.2 });
  });
});

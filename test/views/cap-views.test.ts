import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewLedger } from './view-ledger.js';

// The Spot cap views on fixtures/views/cap-runs.json and cap-hours.json. vision-daily (10 USD a
// day): on 11-18 it notified at 10:30, shed tier 100% at 11:10 (3 VMs) and was last checked at
// 23:50 (that run's row written twice); on 11-19 its new period starts with a forecast warning.
// training-monthly (5,000 USD a month) was checked once on 11-18.
describe('Spot cap views', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create();
  });
  afterAll(() => ledger.close());

  it('cap_status: each cap per day as its last run saw it, a run written twice counted once', async () => {
    const rows = await ledger.view('cap_status', 'run_date, cap_name');
    expect(
      rows.map((r) => [
        r.run_date,
        r.cap_name,
        r.period_start,
        r.last_run_at,
        r.recorded_spend,
        r.estimated_spend,
        r.spend,
        r.forecast,
        r.cap_amount,
        r.headroom,
        r.tier_reached,
        r.tier_carried_out,
        r.runs,
        r.vms_stopped,
      ]),
    ).toEqual([
      [
        '2026-11-18',
        'training-monthly',
        '2026-11-01',
        '2026-11-18T12:00:00.000Z',
        1200,
        30,
        1230,
        4100,
        5000,
        3770,
        null,
        null,
        1,
        0,
      ],
      [
        '2026-11-18',
        'vision-daily',
        '2026-11-18',
        '2026-11-18T23:50:00.000Z',
        14,
        0.05,
        14.05,
        14.1,
        10,
        -4.05,
        1,
        1,
        3,
        3,
      ],
      // A new period: the tier carried out yesterday does not carry over.
      [
        '2026-11-19',
        'vision-daily',
        '2026-11-19',
        '2026-11-19T00:10:00.000Z',
        0,
        0.2,
        0.2,
        12,
        10,
        9.8,
        null,
        null,
        1,
        0,
      ],
    ]);
    expect(rows[1]).toMatchObject({
      scope: 'every governed project; label team=vision',
      period: 'day',
      currency: 'USD',
      spend_ratio: 1.405,
      forecast_ratio: 1.41,
      running_vms: 3,
    });
  });

  it('cap_drift: the last whole-hour estimate against the recorded hour, partial and unrecorded hours left out', async () => {
    const rows = await ledger.view('cap_drift', 'cap_name, usage_hour');
    expect(
      rows.map((r) => [
        r.usage_date,
        r.cap_name,
        r.usage_hour,
        r.estimated_cost,
        r.recorded_cost,
        r.drift,
        r.drift_ratio,
        r.estimated_at,
        r.recorded_seen_at,
      ]),
    ).toEqual([
      [
        '2026-11-18',
        'training-monthly',
        '2026-11-18T09:00:00.000Z',
        50,
        40,
        -10,
        -0.25,
        '2026-11-18T10:05:00.000Z',
        '2026-11-18T10:15:00.000Z',
      ],
      [
        '2026-11-18',
        'vision-daily',
        '2026-11-18T09:00:00.000Z',
        0.88,
        0.8,
        -0.08,
        -0.1,
        '2026-11-18T10:10:00.000Z',
        '2026-11-18T11:10:00.000Z',
      ],
      [
        '2026-11-18',
        'vision-daily',
        '2026-11-18T10:00:00.000Z',
        0.8844,
        2.5,
        1.6156,
        0.64624,
        '2026-11-18T11:00:00.000Z',
        '2026-11-18T11:10:00.000Z',
      ],
    ]);
  });
});

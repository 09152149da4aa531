import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewLedger } from './view-ledger.js';

// The enforcement views on fixtures/views/enforcement-actions.json: one budget ("ml monthly").
// October: etl-b stopped at tier 100%. November: a dry-run tier 90% on 11-17 (gpu-e and
// scratch-c would stop), then tier 100% on 11-18 at 16:00 (gpu-e stopped, train-a failed,
// etl-b exempt, scratch-c over the tier's cap, etl-h refused) and at 16:20 the retry that
// stopped train-a: its FAILED row is superseded by the same key.
const BUDGET = 'de72f49d-779b-4945-a127-4d6ce8def0bb';

describe('enforcement views', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create();
  });
  afterAll(() => ledger.close());

  it('enforcement_log: every decision as it finally stands, with what it saves per hour', async () => {
    const rows = await ledger.view('enforcement_log', 'decided_at, instance_name');
    expect(
      rows.map((r) => [
        r.decision_date,
        r.period_start,
        r.tier,
        r.instance_name,
        r.action,
        r.dry_run,
        r.hourly_cost,
        r.saving_per_hour,
        r.would_save_per_hour,
      ]),
    ).toEqual([
      ['2026-10-31', '2026-10-01', 1, 'etl-b', 'STOPPED', false, 0.134, 0.134, 0],
      ['2026-11-17', '2026-11-01', 0.9, 'gpu-e', 'WOULD_STOP', true, 0.3, 0, 0.3],
      ['2026-11-17', '2026-11-01', 0.9, 'scratch-c', 'WOULD_STOP', true, 0.11, 0, 0.11],
      ['2026-11-18', '2026-11-01', 1, 'etl-b', 'SKIPPED_EXEMPT', false, 0.134, 0, 0],
      ['2026-11-18', '2026-11-01', 1, 'etl-h', 'FAILED', false, 0.05, 0, 0],
      ['2026-11-18', '2026-11-01', 1, 'gpu-e', 'STOPPED', false, 0.3, 0.3, 0],
      ['2026-11-18', '2026-11-01', 1, 'scratch-c', 'SKIPPED_CAP', false, 0.11, 0, 0],
      ['2026-11-18', '2026-11-01', 1, 'train-a', 'STOPPED', false, 0.1, 0.1, 0],
    ]);
    expect(rows.find((r) => r.instance_name === 'train-a' && r.tier === 1)).toMatchObject({
      decided_at: '2026-11-18T16:20:00.000Z',
      spend_ratio: 1.05,
      budget_spend: 1050,
      budget_amount: 1000,
      budget_name: 'ml monthly',
      currency: 'USD',
    });
  });

  it('enforcement_periods: actions per budget period and tier, and the hourly saving', async () => {
    expect(await ledger.view('enforcement_periods', 'period_start, tier')).toEqual([
      {
        period_start: '2026-10-01',
        trigger_kind: 'budget',
        budget_id: BUDGET,
        budget_name: 'ml monthly',
        tier: 1,
        dry_run: false,
        decisions: 1,
        vms_stopped: 1,
        vms_would_stop: 0,
        vms_spared: 0,
        vms_failed: 0,
        saving_per_hour: 0.134,
        would_save_per_hour: 0,
        highest_spend_ratio: 1.01,
        first_decided_at: '2026-10-31T23:30:00.000Z',
        last_decided_at: '2026-10-31T23:30:00.000Z',
        currency: 'USD',
      },
      {
        period_start: '2026-11-01',
        trigger_kind: 'budget',
        budget_id: BUDGET,
        budget_name: 'ml monthly',
        tier: 0.9,
        dry_run: true,
        decisions: 2,
        vms_stopped: 0,
        vms_would_stop: 2,
        vms_spared: 0,
        vms_failed: 0,
        saving_per_hour: 0,
        would_save_per_hour: 0.41,
        highest_spend_ratio: 0.92,
        first_decided_at: '2026-11-17T10:00:00.000Z',
        last_decided_at: '2026-11-17T10:00:00.000Z',
        currency: 'USD',
      },
      {
        period_start: '2026-11-01',
        trigger_kind: 'budget',
        budget_id: BUDGET,
        budget_name: 'ml monthly',
        tier: 1,
        dry_run: false,
        decisions: 5,
        vms_stopped: 2,
        vms_would_stop: 0,
        vms_spared: 2,
        vms_failed: 1,
        saving_per_hour: 0.4,
        would_save_per_hour: 0,
        highest_spend_ratio: 1.05,
        first_decided_at: '2026-11-18T16:00:00.000Z',
        last_decided_at: '2026-11-18T16:20:00.000Z',
        currency: 'USD',
      },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import type { ProvisioningModel } from '../../functions/core/vm.js';
import { planAlerts, type HourSpend } from '../../functions/recorder/plan-alerts.js';
import type { CostRow } from '../../functions/recorder/plan-cost-rows.js';
import { spotAlertRules, type SpotAlertRules } from '../../functions/recorder/settings.js';

const HOUR = new Date('2026-11-20T12:00:00Z');

function row(
  name: string,
  cost: number | undefined,
  team: string | undefined,
  model: ProvisioningModel | 'UNKNOWN' = 'SPOT',
  hour = HOUR,
): CostRow {
  return {
    hour,
    cost,
    provisioningModel: model,
    attributes: {
      project: 'p-one-1',
      zone: 'us-central1-a',
      instanceName: name,
      machineType: 'n2-standard-8',
      labels: team ? { team } : {},
    },
  } as unknown as CostRow;
}

/** The same spend in each of the `hours` hours before HOUR. */
function steadyHistory(hours: number, perHour: number, team?: string): HourSpend[] {
  return Array.from({ length: hours }, (_, i) => ({
    hour: new Date(HOUR.getTime() - (i + 1) * 3_600_000).toISOString(),
    team,
    spend: perHour,
  }));
}

function plan(
  rows: CostRow[],
  rules: Partial<SpotAlertRules>,
  history: HourSpend[] = [],
  sent: string[] = [],
) {
  return planAlerts({
    hours: [HOUR],
    rows,
    history,
    rules: spotAlertRules.parse(rules),
    sent: new Set(sent),
    currency: 'USD',
  });
}

describe('planAlerts', () => {
  it('alerts overall and per team over their hourly limits, with * for any other team', () => {
    const alerts = plan(
      [
        row('a', 3, 'vision'),
        row('b', 1.25, 'data'),
        row('c', 0.5, 'web'),
        row('d', 0.5, undefined),
      ],
      { overallPerHour: 5, teamPerHour: { vision: 2, '*': 1 } },
    );
    expect(alerts.map((a) => [a.key, a.reasons, a.spend, a.limit])).toEqual([
      ['2026-11-20T12:00:00.000Z/overall', ['limit'], 5.25, 5],
      ['2026-11-20T12:00:00.000Z/team:data', ['limit'], 1.25, 1],
      ['2026-11-20T12:00:00.000Z/team:vision', ['limit'], 3, 2],
    ]);
  });

  it('counts Spot and preemptible spend only, and only what has a known cost', () => {
    const alerts = plan(
      [
        row('spot', 1, 'data'),
        row('legacy', 1, 'data', 'PREEMPTIBLE'),
        row('on-demand', 50, 'data', 'STANDARD'),
        row('unknown', undefined, 'data', 'UNKNOWN'),
      ],
      { overallPerHour: 1.5 },
    );
    expect(alerts.map((a) => [a.scope, a.spend])).toEqual([['overall', 2]]);
  });

  it.each([
    { case: '3.5x the average', spend: 3.5, historyHours: 24, spike: true },
    { case: '2.9x the average', spend: 2.9, historyHours: 24, spike: false },
    { case: '3.5x, with only 11 hours of history', spend: 3.5, historyHours: 11, spike: false },
    { case: '3.5x, with 12 hours of history', spend: 3.5, historyHours: 12, spike: true },
  ])('calls $case a spike: $spend', ({ spend, historyHours, spike }) => {
    // The trailing average divides by 24 hours, whatever the history covers: always 1 here.
    const perHour = 24 / historyHours;
    const alerts = plan(
      [row('a', spend, 'data')],
      { spikeMultiple: 3 },
      steadyHistory(historyHours, perHour, 'data'),
    );
    const spikes = alerts.filter((a) => a.scope === 'overall' && a.reasons.includes('spike'));
    expect(spikes.map((a) => [a.spend, a.trailingAverage])).toEqual(spike ? [[spend, 1]] : []);
  });

  it('ignores spikes below the minimum spend', () => {
    const alerts = plan(
      [row('a', 0.5, 'data')],
      { spikeMultiple: 3, spikeMinimum: 1 },
      steadyHistory(24, 0.01, 'data'),
    );
    expect(alerts).toEqual([]);
  });

  it('judges a team against its own history', () => {
    const history = [...steadyHistory(24, 10, 'vision'), ...steadyHistory(24, 1, 'data')];
    const alerts = plan(
      [row('v', 12, 'vision'), row('d', 4, 'data')],
      { spikeMultiple: 3 },
      history,
    );
    expect(alerts.map((a) => [a.scope, a.reasons])).toEqual([['team:data', ['spike']]]);
  });

  it('raises nothing already raised for the hour and scope', () => {
    const alerts = plan(
      [row('a', 3, 'vision')],
      { overallPerHour: 1, teamPerHour: { vision: 1 } },
      [],
      ['2026-11-20T12:00:00.000Z/overall'],
    );
    expect(alerts.map((a) => a.scope)).toEqual(['team:vision']);
  });

  it('trusts this run over the ledger for the hours it re-read', () => {
    const stale: HourSpend = { hour: HOUR.toISOString(), team: 'data', spend: 100 };
    expect(plan([row('a', 1, 'data')], { overallPerHour: 5 }, [stale])).toEqual([]);
  });

  it('names the five most expensive VMs of the scope', () => {
    const rows = ['a', 'b', 'c', 'd', 'e', 'f'].map((name, i) =>
      row(name, i + 1, i % 2 ? 'x' : 'y'),
    );
    const [overall, x] = plan(rows, { overallPerHour: 1, teamPerHour: { x: 1 } });
    expect(overall?.topVms.map((v) => [v.name, v.cost])).toEqual([
      ['f', 6],
      ['e', 5],
      ['d', 4],
      ['c', 3],
      ['b', 2],
    ]);
    expect(x?.topVms.map((v) => v.name)).toEqual(['f', 'd', 'b']);
  });

  it('raises nothing for hours this run did not read', () => {
    const earlier = new Date(HOUR.getTime() - 3_600_000);
    const alerts = planAlerts({
      hours: [earlier, HOUR],
      rows: [row('a', 3, 'data')],
      history: [{ hour: earlier.toISOString(), team: 'data', spend: 50 }],
      rules: spotAlertRules.parse({ overallPerHour: 1 }),
      sent: new Set(),
      currency: 'USD',
    });
    expect(alerts.map((a) => a.hour.toISOString())).toEqual([HOUR.toISOString()]);
  });
});

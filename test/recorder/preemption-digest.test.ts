import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import {
  createPreemptionDigest,
  digestDay,
  type PreemptionDigest,
} from '../../functions/recorder/preemption-digest.js';
import { recorderSettings } from '../../functions/recorder/settings.js';
import { SpotCostLedger } from '../../functions/recorder/spot-cost-ledger.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';
import { recorderLedger } from './recorder-ledger.js';
import { at, queryLedger, RECORDER_ENV, slackMessages } from './recorder-sandbox.js';

// The daily preemption digest against the sandbox: preemptions of the closed day in the ledger
// (one of them written twice, one of the next day), a day without any (recorded as digested, so
// later runs read only that), a post Slack refuses and nothing recorded, the Slack message the
// next run posts, and the later runs of the same day, which post nothing.

let sandbox: Sandbox;
let digest: PreemptionDigest;

function preemption(
  key: string,
  at: string,
  team: string | null,
  lost: { seconds: number; cost: string } | null,
  seenBy = 'event',
) {
  return {
    key: `${key}/${seenBy}`,
    row: {
      preemption_key: key,
      project_id: 'ml-training-prod',
      zone: 'us-east4-c',
      region: 'us-east4',
      instance_name: `vm-${key}`,
      instance_id: key,
      machine_type: 'n2-standard-8',
      provisioning_model: 'SPOT',
      team,
      preempted_at: at,
      lost_seconds: lost?.seconds ?? null,
      lost_cost: lost?.cost ?? null,
      currency: lost ? 'USD' : null,
      price_source: lost ? 'catalog' : 'unknown',
      details_source: 'compute',
      operation_id: `op-${key}`,
      seen_by: seenBy,
      recorded_at: at,
    },
  };
}

beforeAll(async () => {
  sandbox = await startTestSandbox();
  const runtime = sandboxRuntime(sandbox, RECORDER_ENV);
  const ledger = recorderLedger(runtime);
  await ledger.migrate();
  await ledger.insert('preemptions', [
    preemption('1', '2026-12-04T03:10:00Z', 'ml', { seconds: 3600, cost: '0.08' }),
    preemption(
      '1',
      '2026-12-04T03:10:00Z',
      'ml',
      { seconds: 3600, cost: '0.08' },
      'zone-operation',
    ),
    preemption('2', '2026-12-04T21:40:00Z', 'ml', { seconds: 1800, cost: '0.04' }),
    preemption('3', '2026-12-04T23:59:00Z', 'data', { seconds: 1800, cost: '0.1' }),
    preemption('4', '2026-12-04T00:00:00Z', null, null),
    preemption('5', '2026-12-05T00:01:00Z', 'ml', { seconds: 600, cost: '0.02' }),
  ]);
  const config = readConfig({ ...commonSettings, ...recorderSettings }, runtime.env);
  const common = commonAdapters(runtime, config);
  digest = createPreemptionDigest({
    notifier: common.notifier,
    ledger: new SpotCostLedger(common.ledger),
    logger: runtime.logger,
    config: { settleMinutes: 10, currency: 'USD', slackChannel: 'C0SPOTCOST' },
  });
});

afterAll(() => sandbox.close());

/** Queries the functions sent to BigQuery so far. */
const ledgerQueries = () =>
  sandbox.calls.filter(
    (c) => c.route === 'bigquery.jobs.query' || c.route === 'bigquery.jobs.insert',
  ).length;

describe('the daily preemption digest', () => {
  it.each([
    { now: '2026-12-05T00:09:59Z', day: '2026-12-03' },
    { now: '2026-12-05T00:10:00Z', day: '2026-12-04' },
    { now: '2026-12-05T23:59:59Z', day: '2026-12-04' },
  ])('a run at $now digests $day', ({ now, day }) => {
    expect(digestDay(new Date(now), 10).toISOString()).toBe(`${day}T00:00:00.000Z`);
  });

  it('posts nothing for a day without preemptions, and reads that day once', async () => {
    // Act: the first run after the day closed, then two later runs of the same day.
    at(sandbox, '2026-12-04T01:00:00Z');
    const first = await digest(sandbox.clock.now());
    const queries: number[] = [];
    const outcomes: string[] = [];
    for (const now of ['2026-12-04T02:00:00Z', '2026-12-04T03:00:00Z']) {
      at(sandbox, now);
      const before = ledgerQueries();
      outcomes.push((await digest(sandbox.clock.now())).outcome);
      queries.push(ledgerQueries() - before);
    }

    // Assess: nothing posted; the empty day recorded, so each later run reads only that row.
    expect(first).toEqual({ day: '2026-12-03', outcome: 'NO_PREEMPTIONS' });
    expect(outcomes).toEqual(['ALREADY_DIGESTED', 'ALREADY_DIGESTED']);
    expect(queries).toEqual([1, 1]);
    expect(slackMessages(sandbox)).toEqual([]);
    expect(
      await queryLedger(
        sandbox,
        `SELECT alert_key, scope, CAST(spend AS FLOAT64) AS spend, top_vms, slack_channel
         FROM costguard.spot_cost_alerts`,
      ),
    ).toEqual([
      {
        alert_key: '2026-12-03/preemptions',
        scope: 'preemptions',
        spend: 0,
        top_vms: '[]',
        slack_channel: null,
      },
    ]);
  });

  it('keeps a digest Slack could not take for the next run', async () => {
    sandbox.faults.set('slack.chat.postMessage', { fail: { count: 4, status: 503 } });
    at(sandbox, '2026-12-05T00:12:00Z');
    expect(await digest(sandbox.clock.now())).toEqual({
      day: '2026-12-04',
      outcome: 'SLACK_FAILED',
    });
    expect(slackMessages(sandbox)).toEqual([]);
    expect(
      await queryLedger(
        sandbox,
        "SELECT alert_key FROM costguard.spot_cost_alerts WHERE alert_key = '2026-12-04/preemptions'",
      ),
    ).toEqual([]);
  });

  it('tells Slack once the day has closed: a line per team, its preemptions and their cost', async () => {
    at(sandbox, '2026-12-05T00:15:00Z');
    expect(await digest(sandbox.clock.now())).toEqual({ day: '2026-12-04', outcome: 'POSTED' });
    expect(slackMessages(sandbox).map((m) => [m.channel, m.text])).toEqual([
      [
        'C0SPOTCOST',
        [
          'Spot preemptions on 2026-12-04 (UTC):',
          '• Team ml: 2 preemptions, 1.5 h of run time lost, 0.12 USD',
          '• Team data: 1 preemption, 0.5 h of run time lost, 0.10 USD',
          '• VMs without a team label: 1 preemption, 0.0 h of run time lost (not priced)',
        ].join('\n'),
      ],
    ]);
    const recorded = await queryLedger(
      sandbox,
      `SELECT alert_key, scope, CAST(spend AS FLOAT64) AS spend, slack_channel, slack_ts
       FROM costguard.spot_cost_alerts WHERE alert_key = '2026-12-04/preemptions'`,
    );
    expect(recorded).toEqual([
      {
        alert_key: '2026-12-04/preemptions',
        scope: 'preemptions',
        spend: 0.22,
        slack_channel: 'C0SPOTCOST',
        slack_ts: slackMessages(sandbox)[0]?.ts,
      },
    ]);
  });

  it('posts nothing again on the later runs of the same day', async () => {
    for (const now of ['2026-12-05T01:15:00Z', '2026-12-05T23:15:00Z']) {
      at(sandbox, now);
      expect(await digest(sandbox.clock.now())).toEqual({
        day: '2026-12-04',
        outcome: 'ALREADY_DIGESTED',
      });
    }
    expect(slackMessages(sandbox)).toHaveLength(1);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { admit, capsOf } from '../../functions/caps/cap-admission.js';
import { capRunRow } from '../../functions/caps/cap-ledger.js';
import { capSettings, type SpotCap } from '../../functions/caps/cap-policy.js';
import { capPeriod, computeCapSpend } from '../../functions/caps/cap-spend.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { loadFixture } from '../support/fixtures.js';
import { runRows, runsEnv, useTriggerRun } from '../support/runs.js';

// Admission control: triggerRun reads each cap's latest enforceSpotCap figures. data-daily
// (label team=data, 10 USD a day) holds the batch VM; pipelines-daily (all of data-pipelines,
// 100 USD a day) holds it and the Cloud Run job too.
const CAPS = [
  {
    name: 'data-daily',
    scope: { label: 'team=data' },
    period: 'day',
    amount: 10,
    currency: 'USD',
    tiers: [{ at: 0.8 }, { at: 1, stop: ['low'] }],
  },
  {
    name: 'pipelines-daily',
    scope: { projects: ['data-pipelines'] },
    period: 'day',
    amount: 100,
    currency: 'USD',
    tiers: [{ at: 0.9 }, { at: 1, stop: ['low'] }],
  },
];
const caps = readConfig(capSettings, { COSTGUARD_SPOT_CAPS: JSON.stringify(CAPS) }).caps;
const [dataDaily, pipelinesDaily] = caps as [SpotCap, SpotCap];

const standing = (cap: string, spend: number, forecast: number) =>
  [cap, { cap, spend, amount: 10, currency: 'USD', forecast, periodEnd: 'P', at: 'T' }] as const;

const NO_LABELS: Readonly<Record<string, string>> = {};

describe('admit', () => {
  it.each([
    { case: 'no figures yet', standings: [], refusedAt: undefined, warnedAt: [] },
    {
      case: 'below every tier',
      standings: [standing('data-daily', 5, 7)],
      refusedAt: undefined,
      warnedAt: [],
    },
    {
      case: 'over a notify-only tier',
      standings: [standing('data-daily', 8.5, 9)],
      refusedAt: undefined,
      warnedAt: [],
    },
    {
      case: 'forecast to cross a shedding tier',
      standings: [standing('data-daily', 5, 10.5)],
      refusedAt: undefined,
      warnedAt: [1],
    },
    {
      case: 'at its shedding tier',
      standings: [standing('data-daily', 10, 20)],
      refusedAt: 1,
      warnedAt: [],
    },
  ] as const)('with a cap $case', ({ standings, refusedAt, warnedAt }) => {
    const admission = admit([dataDaily], new Map(standings));
    expect(admission.refused?.tier).toBe(refusedAt);
    expect(admission.warnings.map((w) => w.tier)).toEqual(warnedAt);
  });

  it.each([
    {
      case: 'a Spot VM of team data',
      project: 'data-pipelines',
      labels: { team: 'data' },
      model: 'SPOT',
      names: ['data-daily', 'pipelines-daily'],
    },
    {
      case: 'a standard VM of team data',
      project: 'data-pipelines',
      labels: { team: 'data' },
      model: 'STANDARD',
      names: [],
    },
    {
      case: 'a Spot VM of another team',
      project: 'data-pipelines',
      labels: { team: 'nlp' },
      model: 'SPOT',
      names: ['pipelines-daily'],
    },
    {
      case: 'a Spot VM of team data elsewhere',
      project: 'ml-training-prod',
      labels: { team: 'data' },
      model: 'SPOT',
      names: ['data-daily'],
    },
    {
      case: 'a Cloud Run job',
      project: 'data-pipelines',
      labels: NO_LABELS,
      model: undefined,
      names: ['pipelines-daily'],
    },
  ] as const)('finds the caps of $case', ({ project, labels, model, names }) => {
    const found = capsOf({ project, labels, provisioningModel: model }, caps, [
      'data-pipelines',
      'ml-training-prod',
    ]);
    expect(found.map((c) => c.name)).toEqual(names);
  });
});

describe('triggerRun under Spot caps', () => {
  const pipelines = {
    ...loadFixture<Record<string, Record<string, unknown>>>('runs/pipelines.json'),
  };
  pipelines['nightly-urgent'] = { ...pipelines['nightly-categories'], ignoreSpotCaps: true };
  const runs = useTriggerRun('file', {
    env: runsEnv({
      COSTGUARD_PIPELINES: JSON.stringify(pipelines),
      COSTGUARD_SPOT_CAPS: JSON.stringify(CAPS),
    }),
  });

  /** One enforceSpotCap run's row for a cap, with the given spend and fleet rate. */
  async function capRun(cap: SpotCap, recorded: number, hourly: number): Promise<void> {
    const now = runs.sandbox.clock.now();
    const period = capPeriod(cap.period === 'budget' ? 'day' : cap.period, now);
    const spend = computeCapSpend({
      amount: cap.amount,
      period,
      now,
      recorded: [{ hour: period.start, spend: recorded }],
      recordedThrough: now,
      running: [{ hourly, startedAt: now }],
      recentHours: 3,
    });
    const { ledger } = commonAdapters(
      runs.api.runtime,
      readConfig(commonSettings, runs.api.runtime.env),
    );
    await ledger.insert('cap_runs', [
      capRunRow({
        cap,
        scope: 'test',
        runId: `run-${now.toISOString()}`,
        runAt: now,
        period,
        spend,
        tierReached: undefined,
        forecastTier: undefined,
        summary: {
          outcome: 'BELOW_TIERS',
          tier: undefined,
          reason: 'test',
          dryRun: false,
          stopped: 0,
          failed: 0,
          spared: 0,
          savingPerHour: undefined,
          priceCurrency: undefined,
          slack: undefined,
        },
      }),
    ]);
    runs.sandbox.clock.advance(60_000);
  }

  const startMutations = () =>
    runs.sandbox.calls.filter((c) => c.method === 'POST' && c.route === 'compute.instances.start');

  beforeAll(() => {
    runs.sandbox.clock.set(new Date('2026-11-20T10:00:00Z'));
  });

  it('refuses a start on a VM whose cap is over its shedding tier with 409 naming the cap, and starts nothing', async () => {
    // Prepare: data-daily at 10.5 of 10 USD.
    await capRun(dataDaily, 10.5, 0);

    // Act
    const reply = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
    });

    // Assess
    expect(reply.status).toBe(409);
    expect(reply.body).toEqual({
      error:
        'Spot cap data-daily is at 105% of 10 USD, at or over its shedding tier 100%; it resets at 2026-11-21T00:00:00Z',
      cap: 'data-daily',
      spend: 10.5,
      capAmount: 10,
      currency: 'USD',
      resetsAt: '2026-11-21T00:00:00Z',
    });
    expect(startMutations()).toEqual([]);
    const rows = await runRows(runs.api);
    expect(rows.at(-1)).toMatchObject({ status: 'REFUSED', pipeline: 'nightly-categories' });
  });

  it('accepts a job start the forecast says will cross a tier, with a warning field and a Slack note', async () => {
    // Prepare: pipelines-daily at 50 of 100 USD, burning 5 USD an hour for the rest of the day.
    await capRun(pipelinesDaily, 50, 5);

    // Act
    const reply = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'feature-extraction', target: 'extract' },
    });

    // Assess
    expect(reply.status).toBe(202);
    expect(reply.body.capWarnings).toEqual([
      expect.objectContaining({ cap: 'pipelines-daily', spend: 50, capAmount: 100, tier: 1 }),
    ]);
    const note = slackState(runs.sandbox).messages.at(-1)?.text ?? '';
    expect(note).toContain(
      `Run ${String(reply.body.runId)} of feature-extraction started under a Spot cap forecast to cross a tier`,
    );
    expect(note).toContain('Spot cap pipelines-daily is forecast to reach');
  });

  it('starts a pipeline that opts out of the caps, over the cap', async () => {
    const reply = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'nightly-urgent', target: 'all' },
    });

    expect(reply.status).toBe(202);
    expect(reply.body.capWarnings).toBeUndefined();
    expect(startMutations()).toHaveLength(1);
  });
});

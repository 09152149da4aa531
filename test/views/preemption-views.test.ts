/**
 * run-10 of train-model on a Spot VM, preempted on its first and second attempts (the rows of
 * preemptions.json) and finished on its third: one snapshot per event, as the run ledger writes.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASET, ViewLedger, type Row } from './view-ledger.js';

function resumedRun(): Row[] {
  const base = {
    run_id: 'run-10',
    pipeline: 'train-model',
    executor: 'vm',
    target: 'all',
    params: null,
    caller: 'ana@example.com',
    idempotency_key_sha256: null,
    request_sha256: 'f'.repeat(64),
    resource: 'vm:ml-training-prod/us-central1-a/train-n2-1',
    requested_at: '2026-11-18T02:55:00.000Z',
    deadline: '2026-11-18T14:55:00.000Z',
    started_at: '2026-11-18T03:00:00.000Z',
    execution: null,
    results_prefix: 'gs://results/results/run-10/',
    logs_uri: null,
    exit_marker: null,
    detail: null,
    cost: null,
    currency: null,
    cost_source: null,
    slack_channel: 'C0RUNS',
    slack_ts: '1795000000.000100',
    resume_at: null,
    finished_at: null,
  };
  const snapshot = (
    event: string,
    seq: number,
    status: string,
    attempt: number,
    at: string,
    more = {},
  ) => ({
    ...base,
    event,
    event_seq: seq,
    status,
    attempt,
    recorded_at: at,
    ...more,
  });
  return [
    snapshot('requested', 1, 'STARTING', 1, '2026-11-18T02:55:01.000Z', { started_at: null }),
    snapshot('started', 2, 'RUNNING', 1, '2026-11-18T03:00:00.000Z'),
    snapshot('preempted', 3, 'PREEMPTED_RETRYING', 1, '2026-11-18T04:00:05.000Z', {
      resume_at: '2026-11-18T04:02:00.000Z',
    }),
    snapshot('resumed', 2, 'RUNNING', 2, '2026-11-18T04:02:01.000Z'),
    snapshot('preempted', 3, 'PREEMPTED_RETRYING', 2, '2026-11-18T09:15:03.000Z', {
      resume_at: '2026-11-18T09:17:00.000Z',
    }),
    snapshot('resumed', 2, 'RUNNING', 3, '2026-11-18T09:17:01.000Z'),
    snapshot('observed', 3, 'SUCCEEDED', 3, '2026-11-18T11:00:00.000Z', {
      finished_at: '2026-11-18T11:00:00.000Z',
      exit_marker: '_SUCCESS',
      cost: '0.61',
      currency: 'USD',
      cost_source: 'recorder+estimate',
    }),
  ];
}

// The preemption views on fixtures/views/preemptions.json and spot-costs.json. On 11-18 three
// preemptions (train-n2-1 in us-central1-a, recorded by its event and again by the backstop;
// l4-1 in us-central1-a; train-n2-eu in europe-west1-b, the second attempt of run-0001); on 11-19
// one in us-east4-c where the ledger holds no Spot hours, its VM's start unknown. Spot hours come
// from spot_cost_hours (the latest version of each hour).
describe('preemption views', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create();
    await ledger.insert(DATASET, 'runs', resumedRun());
  });
  afterAll(() => ledger.close());

  it('preemption_events: each preemption once, the first row of its key', async () => {
    const rows = await ledger.view('preemption_events', 'preempted_at');

    expect(rows.map((r) => [r.instance_name, r.seen_by])).toEqual([
      ['train-n2-1', 'event'],
      ['l4-1', 'event'],
      ['train-n2-eu', 'event'],
      ['etl-e2-1', 'zone-operation'],
    ]);
  });

  it('preemption_rate_daily: preemptions per 100 Spot VM-hours by day, region, zone and machine family', async () => {
    const rows = await ledger.view('preemption_rate_daily', 'day, zone, machine_family');

    expect(
      rows.map((r) => ({
        day: r.day,
        zone: r.zone,
        family: r.machine_family,
        hours: r.spot_vm_hours,
        preemptions: r.preemptions,
        per100: r.preemptions_per_100_vm_hours,
        lostHours: r.lost_hours,
        lostCost: r.lost_cost,
      })),
    ).toEqual([
      {
        day: '2026-11-18',
        zone: 'europe-west1-b',
        family: 'n2',
        hours: 1.5,
        preemptions: 1,
        per100: 66.6667,
        lostHours: 0.25,
        lostCost: 0.02,
      },
      {
        day: '2026-11-18',
        zone: 'us-central1-a',
        family: 'g2',
        hours: 1,
        preemptions: 1,
        per100: 100,
        lostHours: 0.5,
        lostCost: 0.4,
      },
      {
        day: '2026-11-18',
        zone: 'us-central1-a',
        family: 'n2',
        hours: 2,
        preemptions: 1,
        per100: 50,
        lostHours: 1,
        lostCost: 0.08,
      },
      {
        day: '2026-11-19',
        zone: 'europe-west1-b',
        family: 'n2',
        hours: 1,
        preemptions: 0,
        per100: 0,
        lostHours: 0,
        lostCost: null,
      },
      {
        day: '2026-11-19',
        zone: 'us-central1-a',
        family: 'n2',
        hours: 1,
        preemptions: 0,
        per100: 0,
        lostHours: 0,
        lostCost: null,
      },
      {
        day: '2026-11-19',
        zone: 'us-east4-c',
        family: 'e2',
        hours: 0,
        preemptions: 1,
        per100: null,
        lostHours: null,
        lostCost: null,
      },
    ]);
  });

  it('preemptions_by_team: per day and team, the VMs and runs preempted, the time lost and its cost', async () => {
    const rows = await ledger.view('preemptions_by_team', 'day, team');

    expect(
      rows.map((r) => [
        r.day,
        r.team,
        r.preemptions,
        r.vms,
        r.runs,
        r.lost_hours,
        r.lost_cost,
        r.currency,
      ]),
    ).toEqual([
      ['2026-11-18', 'nlp', 1, 1, 0, 0.5, 0.4, 'USD'],
      ['2026-11-18', 'vision', 2, 2, 1, 1.25, 0.1, 'USD'],
      ['2026-11-19', 'data', 1, 1, 0, null, null, null],
    ]);
  });

  it('run_attempts: the attempts of each run, its preemptions, the time they cost and its total cost', async () => {
    const rows = await ledger.view('run_attempts', 'run_id');

    expect(
      rows.map((r) => [
        r.run_id,
        r.status,
        r.attempts,
        r.preemptions,
        r.lost_hours,
        r.lost_cost,
        r.total_cost,
      ]),
    ).toEqual([
      ['run-10', 'SUCCEEDED', 3, 2, 1.25, 0.1, 0.61],
      ['run-7', 'SUCCEEDED', 1, 0, 0, null, 0.19],
      ['run-8', 'SUCCEEDED', 1, 0, 0, null, 0.05],
      ['run-9', 'REFUSED', 1, 0, 0, null, null],
    ]);
  });
});

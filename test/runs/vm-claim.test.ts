import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { batchVmState, planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import {
  CLAIM_KEY,
  formatClaim,
  parseClaim,
  planClaim,
  STOPPING_CLAIM_HOLD_MS,
  UNKNOWN_CLAIM_HOLD_MS,
  type ClaimDecision,
  type ClaimObservation,
} from '../../functions/runs/vm-claim.js';
import type { Sandbox } from '../support/sandbox.js';
import { runRows, serveTriggerRun, startRunsSandbox, type RunsApi } from '../support/runs.js';

const RUN = 'run-aaaaaaaaaaaaaaaaaaaa';
const OTHER = 'run-bbbbbbbbbbbbbbbbbbbb';
const NOW = new Date('2026-11-20T01:00:00.000Z');
const MINUTE = 60_000;

describe('planClaim', () => {
  const claimOf = (runId: string, ageMs: number, stopping = false) => ({
    runId,
    since: new Date(NOW.getTime() - ageMs),
    stopping,
  });
  const free: ClaimObservation = {
    status: 'TERMINATED',
    claim: undefined,
    runKeysFor: undefined,
    runLabel: OTHER,
    lastStartAt: new Date(NOW.getTime() - 60 * MINUTE),
    holderActive: undefined,
  };

  it.each<{ what: string; vm: Partial<ClaimObservation>; decision: ClaimDecision }>([
    { what: 'a free TERMINATED VM is claimed', vm: {}, decision: { kind: 'claim' } },
    {
      what: 'a RUNNING VM is busy with the run it is labelled for',
      vm: { status: 'RUNNING' },
      decision: { kind: 'busy', activeRunId: OTHER, reason: 'the VM is RUNNING' },
    },
    {
      what: "another run's claim the ledger does not know yet holds",
      vm: { claim: claimOf(OTHER, MINUTE), runKeysFor: OTHER },
      decision: { kind: 'busy', activeRunId: OTHER, reason: 'the VM is claimed by another run' },
    },
    {
      what: "an unknown run's claim older than the hold is stale",
      vm: { claim: claimOf(OTHER, UNKNOWN_CLAIM_HOLD_MS), runKeysFor: OTHER },
      decision: { kind: 'claim' },
    },
    {
      what: "an active run's claim holds however old",
      vm: { claim: claimOf(OTHER, 6 * 60 * MINUTE), holderActive: true },
      decision: { kind: 'busy', activeRunId: OTHER, reason: 'the VM is claimed by another run' },
    },
    {
      what: "a finished run's claim is taken over",
      vm: { claim: claimOf(OTHER, MINUTE), holderActive: false },
      decision: { kind: 'claim' },
    },
    {
      what: 'a claim being stopped holds even when its run is over',
      vm: { claim: claimOf(OTHER, MINUTE, true), holderActive: false },
      decision: { kind: 'busy', activeRunId: OTHER, reason: `run ${OTHER} is being stopped` },
    },
    {
      what: 'a stop marker left by a crashed stop expires',
      vm: { claim: claimOf(OTHER, STOPPING_CLAIM_HOLD_MS, true) },
      decision: { kind: 'claim' },
    },
    {
      what: 'our own claim with our run keys on a TERMINATED VM is resumed',
      vm: { claim: claimOf(RUN, MINUTE), runKeysFor: RUN },
      decision: { kind: 'resume' },
    },
    {
      what: 'our own claim on a booting VM was started by an earlier attempt',
      vm: { claim: claimOf(RUN, MINUTE), runKeysFor: RUN, status: 'STAGING' },
      decision: { kind: 'started' },
    },
    {
      what: 'our own claim whose run keys were taken back is never started twice',
      vm: { claim: claimOf(RUN, MINUTE), runKeysFor: undefined, runLabel: RUN },
      decision: { kind: 'started' },
    },
    {
      what: 'our own claim on a VM that booted since and stopped again is never started twice',
      vm: { claim: claimOf(RUN, 30 * MINUTE), runKeysFor: RUN, lastStartAt: NOW },
      decision: { kind: 'started' },
    },
    {
      what: 'our own claim on a VM never started is resumed',
      vm: { claim: claimOf(RUN, MINUTE), runKeysFor: RUN, lastStartAt: undefined },
      decision: { kind: 'resume' },
    },
  ])('$what', ({ vm, decision }) => {
    expect(planClaim(RUN, { ...free, ...vm }, NOW)).toEqual(decision);
  });

  it('reads back what it writes and ignores anything else', () => {
    const claim = { runId: RUN, since: NOW, stopping: true };

    expect(parseClaim(formatClaim(claim))).toEqual(claim);
    expect(parseClaim(`${RUN} yesterday`)).toBeUndefined();
    expect(parseClaim(`run-x ${NOW.toISOString()}`)).toBeUndefined();
    expect(parseClaim(undefined)).toBeUndefined();
  });
});

// Concurrent callers of the served triggerRun against one sandbox: exactly one run holds the
// batch VM, and the label, the metadata and the ledger name that run.
describe('one run per batch VM under concurrency', () => {
  const VM = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
  const START = { pipeline: 'nightly-categories', target: 'd_anchor_category' };
  let sandbox: Sandbox;
  let api: RunsApi;

  beforeAll(async () => {
    sandbox = await startRunsSandbox();
    api = await serveTriggerRun(sandbox);
  });
  afterAll(async () => {
    await api.close();
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.faults.clear();
  });

  const vm = () => sandbox.fleet.get(VM.project, VM.zone, VM.name)!;
  const claimOnVm = () => parseClaim(vm().metadata.find((i) => i.key === CLAIM_KEY)?.value);
  const starts = () => sandbox.calls.filter((c) => c.route === 'compute.instances.start').length;
  const startOperations = () =>
    sandbox.fleet.operations.filter((o) => o.operationType === 'start').length;
  const stops = () => sandbox.calls.filter((c) => c.route === 'compute.instances.stop').length;
  const start = (headers: Record<string, string> = {}, body: unknown = START) =>
    api.call('POST', '/runs', { body, headers });
  /** Lets the VM's current run finish in simulated time, so the next round finds it over. */
  const finishCurrentRun = () => sandbox.clock.advance(2 * MINUTE);

  async function round(concurrency: number): Promise<string> {
    planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 60 });
    const startsBefore = starts();

    const replies = await Promise.all(Array.from({ length: concurrency }, () => start()));

    const accepted = replies.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(concurrency - 1);
    const winner = accepted[0]?.body.runId as string;
    expect(starts() - startsBefore).toBe(1);
    expect(vm().status).toBe('RUNNING');
    expect(vm().labels['costguard-run']).toBe(winner);
    expect(claimOnVm()?.runId).toBe(winner);
    expect(batchVmState(sandbox).runs.at(-1)?.runId).toBe(winner);
    return winner;
  }

  it('accepts exactly one of 50 concurrent starts, round after round', async () => {
    const winners: string[] = [];
    for (let i = 0; i < 20; i++) {
      winners.push(await round(50));
      finishCurrentRun();
    }

    expect(new Set(winners).size).toBe(20);
    expect(
      batchVmState(sandbox)
        .runs.slice(-20)
        .map((r) => r.runId),
    ).toEqual(winners);
    // Every earlier winner is found over (and its end recorded) by the next round's starts.
    const rows = await runRows(api);
    const finished = new Set(rows.filter((r) => r.status === 'SUCCEEDED').map((r) => r.run_id));
    expect(winners.slice(0, -1).every((w) => finished.has(w))).toBe(true);
    expect(rows.filter((r) => r.status === 'RUNNING').map((r) => r.run_id)).toEqual(winners);
  }, 120_000);

  it('accepts exactly one while the ledger is slow to record the first', async () => {
    sandbox.faults.set('bigquery.tabledata.insertAll', { delayMs: 800 });
    for (let i = 0; i < 2; i++) {
      await round(50);
      finishCurrentRun();
    }
  }, 60_000);

  it('refuses a start sent 300 ms after another while the ledger lags (the claim, not the ledger, decides)', async () => {
    planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 60 });
    sandbox.faults.set('bigquery.tabledata.insertAll', { delayMs: 800 });
    const startsBefore = starts();

    const first = start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await start();

    expect((await first).status).toBe(202);
    expect(second.status).toBe(409);
    expect(second.body.activeRunId).toBe((await first).body.runId);
    expect(starts() - startsBefore).toBe(1);
    finishCurrentRun();
  });

  it('gives concurrent repeats with one Idempotency-Key the same run; another body with the key gets 422', async () => {
    planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 60 });
    const key = { 'idempotency-key': `nightly-${Date.now()}` };
    const startsBefore = starts();
    const messagesBefore = slackState(sandbox).messages.length;

    const replies = await Promise.all([
      ...Array.from({ length: 5 }, () => start(key)),
      start(key, { ...START, target: 'all' }),
    ]);

    const same = replies.slice(0, 5);
    expect(same.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(same.map((r) => r.body.runId)).size).toBe(1);
    expect(new Set(same.map((r) => r.body.status))).toEqual(new Set(['RUNNING']));
    expect(replies[5]?.status).toBe(422);
    expect(starts() - startsBefore).toBe(1);
    expect(vm().labels['costguard-run']).toBe(same[0]?.body.runId);
    const announced = slackState(sandbox)
      .messages.slice(messagesBefore)
      .filter((m) => m.text.startsWith(`Run ${String(same[0]?.body.runId)} `));
    expect(announced).toHaveLength(1);
    finishCurrentRun();
  });

  it('gives concurrent repeats with one key on two function instances the same run, started once', async () => {
    planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 60 });
    const other = await serveTriggerRun(sandbox);
    const key = { 'idempotency-key': `twin-${Date.now()}` };
    const startsBefore = startOperations();
    try {
      const replies = await Promise.all([
        start(key),
        other.call('POST', '/runs', { body: START, headers: key }),
      ]);

      expect(replies.map((r) => r.status)).toEqual([202, 202]);
      expect(replies[0]?.body.runId).toBe(replies[1]?.body.runId);
      // Both may ask Compute to start the VM, with one requestId: it is started once.
      expect(startOperations() - startsBefore).toBe(1);
      expect(batchVmState(sandbox).runs.at(-1)?.runId).toBe(replies[0]?.body.runId);
      expect(claimOnVm()?.runId).toBe(replies[0]?.body.runId);
    } finally {
      await other.close();
    }
    finishCurrentRun();
  });

  it('never lets a cancel of a finished run stop the run that took the VM over', async () => {
    for (let i = 0; i < 5; i++) {
      planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 60 });
      const before = (await start()).body.runId as string;
      finishCurrentRun();
      planBatchRun(sandbox, VM, { outcome: 'hang', afterSeconds: 0 });
      const stopsBefore = stops();

      const [cancelled, next] = await Promise.all([
        api.call('POST', `/runs/${before}:cancel`),
        start(),
      ]);

      expect(cancelled.status).toBe(409);
      expect(next.status).toBe(202);
      expect(stops()).toBe(stopsBefore);
      expect(vm().status).toBe('RUNNING');
      expect(vm().labels['costguard-run']).toBe(next.body.runId);
      expect(claimOnVm()?.runId).toBe(next.body.runId);
      // Free the VM for the next round: cancel the hanging run.
      expect((await api.call('POST', `/runs/${String(next.body.runId)}:cancel`)).status).toBe(202);
      expect(claimOnVm()).toBeUndefined();
    }
  }, 60_000);

  it('refuses a start racing the cancel of a running run, and the cancel stops only that run', async () => {
    planBatchRun(sandbox, VM, { outcome: 'hang', afterSeconds: 0 });
    const running = (await start()).body.runId as string;
    sandbox.clock.advance(MINUTE);
    const stopsBefore = stops();

    const [cancelled, next] = await Promise.all([
      api.call('POST', `/runs/${running}:cancel`),
      start(),
    ]);

    expect(cancelled.status).toBe(202);
    expect(next.status).toBe(409);
    expect(stops() - stopsBefore).toBe(1);
    expect(vm().status).toBe('TERMINATED');
    expect(claimOnVm()).toBeUndefined();
    expect((await start()).status).toBe(202);
  });
});

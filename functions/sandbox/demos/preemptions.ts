/**
 * The preemption part of `npm start`: a run of `nightly-categories` (a pipeline that resumes) on
 * the demo fleet's batch VM is preempted by Compute 40 minutes in; the system event reaches
 * recordPreemption through the Logging sink and the run waits out its 5-minute backoff; deploy's
 * resume tick (Cloud Scheduler, every 5 minutes) starts its second attempt with no one reading
 * the run; the attempt finishes. `showPreemptionViews` then prints what the `preemption_events`
 * and `run_attempts` views hold for it. Needs the sink and the resume job set up on the sandbox.
 */
import type { Ledger } from '../../adapters/bigquery.js';
import { RunLedger } from '../../runs/run-ledger.js';
import { formatRunTime } from '../../runs/plan-resume.js';
import { isActive } from '../../runs/run-record.js';
import { planBatchRun } from '../batch-vm.js';
import { settleDeliveries } from '../routes/logging.js';
import { schedulerState } from '../routes/scheduler.js';
import type { Sandbox } from '../sandbox.js';
import { call, describeCost } from './runs.js';

const VM = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
const PREEMPTED_AFTER_S = 40 * 60;
const SECOND_ATTEMPT_S = 30 * 60;

export interface PreemptionDemoOptions {
  readonly sandbox: Sandbox;
  readonly ledger: Pick<Ledger, 'query' | 'insert'>;
  /** The served triggerRun (`http://127.0.0.1:PORT/`). */
  readonly url: string;
  readonly out: (line: string) => void;
}

const hhmm = (date: Date | string | undefined): string =>
  date === undefined ? '--:--' : new Date(date).toISOString().slice(11, 16);

/** Plays the run; returns its id. */
export async function playPreemptionDemo(options: PreemptionDemoOptions): Promise<string> {
  const { sandbox, url, out } = options;
  const clock = sandbox.clock;
  const runs = new RunLedger(options.ledger, clock);
  const advance = async (seconds: number): Promise<void> => {
    clock.advance(seconds * 1000);
    await settleDeliveries(sandbox);
  };
  planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: PREEMPTED_AFTER_S });
  planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: SECOND_ATTEMPT_S });

  const started = await call(url, 'POST', '/runs', {
    pipeline: 'nightly-categories',
    target: 'd_anchor_category',
  });
  if (started.status !== 202) {
    throw new Error(`POST /runs answered ${started.status}: ${JSON.stringify(started.body)}`);
  }
  const runId = String(started.body.runId);
  out(
    `  ${hhmm(clock.now())} POST /runs nightly-categories (resume: 3 attempts, 5 min apart) -> 202 ${runId}`,
  );

  // Compute preempts the VM 40 minutes in, with its 30 s notice; the event is pushed at once.
  await advance(PREEMPTED_AFTER_S + 30);
  const waiting = await call(url, 'GET', `/runs/${runId}`);
  out(
    `  ${hhmm(clock.now())} Compute preempts ${VM.name}; the system event reaches recordPreemption -> ${String(waiting.body.status)}, attempt ${String(waiting.body.attempt)}, resumes at ${hhmm(waiting.body.resumeAt as string | undefined)}`,
  );

  // Nobody reads the run: the resume tick after the backoff starts its next attempt.
  const ticks = schedulerState(sandbox).deliveries.length;
  const resumeAt = Date.parse(String(waiting.body.resumeAt));
  while (clock.nowMs() < resumeAt || schedulerState(sandbox).deliveries.length === ticks) {
    await advance(60);
  }
  const resumed = await runs.latest(runId);
  out(
    `  ${hhmm(clock.now())} the resume tick (Cloud Scheduler costguard-resume-runs) -> recordPreemption: ${resumed?.status ?? '?'}, attempt ${resumed?.attempt ?? 1}, the VM started again`,
  );

  let reply = await call(url, 'GET', `/runs/${runId}`);
  for (let step = 0; step < 12 && isActive(String(reply.body.status) as never); step++) {
    await advance(5 * 60);
    reply = await call(url, 'GET', `/runs/${runId}`);
  }
  out(
    `  ${hhmm(clock.now())} GET /runs/${runId} -> ${String(reply.body.status)}, attempt ${String(reply.body.attempt)}; cost ${describeCost(reply.body.cost)} over both attempts`,
  );
  return runId;
}

/** What the preemption views hold for the demo's run: its preemption and its attempts. */
export async function showPreemptionViews(
  ledger: Pick<Ledger, 'query'>,
  runId: string,
  out: (line: string) => void,
): Promise<void> {
  const preemptions = await ledger.query<{
    instance_name: string;
    zone: string;
    preempted_at: string;
    attempt: unknown;
    lost_seconds: unknown;
    lost_cost: unknown;
    currency: string | null;
  }>(
    `SELECT instance_name, zone, CAST(preempted_at AS STRING) AS preempted_at, attempt,
       lost_seconds, CAST(lost_cost AS STRING) AS lost_cost, currency
     FROM \`\${dataset}.preemption_events\` WHERE run_id = @runId ORDER BY preempted_at`,
    { runId },
  );
  for (const p of preemptions) {
    out(
      `  preemption_events: ${p.instance_name} in ${p.zone} at ${hhmm(p.preempted_at)}, attempt ${String(p.attempt)}, ${formatRunTime(Number(p.lost_seconds))} of run time lost, ${Number(p.lost_cost).toFixed(4)} ${p.currency ?? ''}`,
    );
  }
  const [attempts] = await ledger.query<{
    status: string;
    attempts: unknown;
    preemptions: unknown;
    lost_hours: unknown;
    total_cost: unknown;
    currency: string | null;
  }>(
    `SELECT status, attempts, preemptions, lost_hours, CAST(total_cost AS STRING) AS total_cost,
       currency
     FROM \`\${dataset}.run_attempts\` WHERE run_id = @runId`,
    { runId },
  );
  if (!attempts) {
    out(`  run_attempts: no row for ${runId}`);
    return;
  }
  const count = Number(attempts.preemptions);
  out(
    `  run_attempts: ${runId} ${attempts.status}: ${Number(attempts.attempts)} attempts, ${count} preemption${count === 1 ? '' : 's'}, ${Number(attempts.lost_hours).toFixed(2)} h lost, total ${Number(attempts.total_cost).toFixed(4)} ${attempts.currency ?? ''}`,
  );
}

/**
 * Benchmark of triggerRun on the sandbox: wall time per request (p50/p95) and the API calls each
 * request makes, over a series of batch VM runs (start, a status read while running, a status
 * read that notices the end) and Cloud Run runs, then 50 simultaneous starts of one VM pipeline
 * (exactly one is accepted). Loopback only; about half a minute for 25 runs.
 *
 *   npx tsx test/bench/trigger-run.ts [runs]
 */
import { planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { serveTriggerRun, startRunsSandbox } from '../support/runs.js';
import { machineLine } from './machine.js';

const RUNS = Math.min(Number(process.argv[2] ?? 25) || 25, 200);
/** Simultaneous starts of one VM pipeline in the last measurement. */
const CONCURRENT = 50;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const sandbox = await startRunsSandbox();
  const api = await serveTriggerRun(sandbox);
  const timings = new Map<string, { ms: number[]; calls: number[] }>();
  const measure = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const calls = sandbox.calls.length;
    const started = performance.now();
    const result = await work();
    const entry = timings.get(name) ?? { ms: [], calls: [] };
    entry.ms.push(performance.now() - started);
    entry.calls.push(sandbox.calls.length - calls);
    timings.set(name, entry);
    return result;
  };
  const vm = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
  // One warm-up run: the first request loads the client libraries.
  await api.call('GET', '/runs?limit=1');
  for (let i = 0; i < RUNS; i++) {
    planBatchRun(sandbox, vm, { outcome: 'succeed', afterSeconds: 1800 });
    const started = await measure('POST /runs (vm)', () =>
      api.call('POST', '/runs', { body: { pipeline: 'nightly-categories', target: 'all' } }),
    );
    if (started.status !== 202) throw new Error(`start answered ${started.status}`);
    const runId = String(started.body.runId);
    sandbox.clock.advance(10 * 60_000);
    await measure('GET /runs/{id} (running)', () => api.call('GET', `/runs/${runId}`));
    sandbox.clock.advance(30 * 60_000);
    const done = await measure('GET /runs/{id} (noticing the end)', () =>
      api.call('GET', `/runs/${runId}`),
    );
    if (done.body.status !== 'SUCCEEDED') throw new Error(`run ended ${String(done.body.status)}`);
    await measure('GET /runs/{id} (finished)', () => api.call('GET', `/runs/${runId}`));
    await measure('POST /runs (cloud-run-job)', () =>
      api.call('POST', '/runs', { body: { pipeline: 'feature-extraction', target: 'extract' } }),
    );
  }
  await measure('GET /runs?limit=100', () => api.call('GET', '/runs?limit=100'));

  // Concurrent starts of one VM pipeline on the now free VM: the claim lets exactly one through.
  planBatchRun(sandbox, vm, { outcome: 'succeed', afterSeconds: 1800 });
  const startsBefore = sandbox.calls.filter((c) => c.route === 'compute.instances.start').length;
  const burstStarted = performance.now();
  const burst = await Promise.all(
    Array.from({ length: CONCURRENT }, () =>
      api.call('POST', '/runs', { body: { pipeline: 'nightly-categories', target: 'all' } }),
    ),
  );
  const burstMs = performance.now() - burstStarted;
  const vmStarts =
    sandbox.calls.filter((c) => c.route === 'compute.instances.start').length - startsBefore;
  await api.close();
  await sandbox.close();

  process.stdout.write(
    `triggerRun on the sandbox, ${RUNS} runs of each kind (loopback, in-process DuckDB, no injected latency)\n${machineLine()}\n`,
  );
  process.stdout.write(
    `${'request'.padEnd(36)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'API calls'.padStart(10)}\n`,
  );
  for (const [name, entry] of timings) {
    process.stdout.write(
      `${name.padEnd(36)} ${percentile(entry.ms, 50).toFixed(1).padStart(8)} ${percentile(entry.ms, 95).toFixed(1).padStart(8)} ${String(Math.max(...entry.calls)).padStart(10)}\n`,
    );
  }
  const accepted = burst.filter((r) => r.status === 202).length;
  const refused = burst.filter((r) => r.status === 409).length;
  process.stdout.write(
    `${CONCURRENT} concurrent starts on one VM: ${accepted} accepted, ${refused} refused (409), ${burst.length - accepted - refused} other; ${vmStarts} instances.start; ${burstMs.toFixed(0)} ms for the burst (one start alone: p50 above)\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

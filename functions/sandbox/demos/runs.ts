/**
 * The run trigger's part of `npm start`: on the sandbox (with the storage, cloud-run and
 * batch-vm modules), start a run of `nightly-categories` on the demo fleet's batch VM and one
 * of `feature-extraction` as a Cloud Run Job execution, then move the simulated clock and
 * follow both through `GET /runs/{runId}` until they end, printing what a caller would see.
 */

import { readFileSync } from 'node:fs';
import type { Runtime } from '../../adapters/runtime.js';
import type { PriceLookup } from '../../core/pricing.js';
import { repositoryPath } from '../../core/repository-path.js';
import { planBatchRun } from '../batch-vm.js';
import { addCloudRunJob, cloudRunState, fixtureCloudRunJobs } from '../routes/cloud-run.js';
import type { Sandbox } from '../sandbox.js';
import { serveTarget, type ServedTarget } from '../serve-target.js';
import { buildTriggerRun } from '../../runs/entry.js';
import { isActive, type RunStatus } from '../../runs/run-record.js';

/** The settings triggerRun needs on the demo fleet; merge them into the local environment. */
export function runDemoSettings(): Record<string, string> {
  return {
    COSTGUARD_PIPELINES: readFileSync(repositoryPath('fixtures/runs/demo-pipelines.json'), 'utf8'),
    COSTGUARD_RUNS_AUDIENCES: DEMO_AUDIENCE,
  };
}

/** The audience of the demo caller's identity token, as it would be the function's URL. */
export const DEMO_AUDIENCE = 'http://127.0.0.1/costguard-trigger-run';

export interface RunDemoOptions {
  readonly sandbox: Sandbox;
  /** A runtime on the sandbox whose env includes `runDemoSettings()`; the ledger is migrated. */
  readonly runtime: Runtime;
  readonly out: (line: string) => void;
  /** The served triggerRun (`http://127.0.0.1:PORT/`); without it the demo serves its own. */
  readonly url?: string;
  readonly prices?: PriceLookup;
}

export interface RunDemoOutcome {
  readonly runs: Array<{ runId: string; pipeline: string; status: RunStatus; cost: unknown }>;
  readonly simulatedMinutes: number;
}

const STEP_MINUTES = 15;
const MAX_MINUTES = 6 * 60;

export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The Authorization header of the demo's invoker, as Cloud Run forwards a verified identity
 * token: payload intact, signature removed.
 */
export function demoAuthorization(): string {
  const token = Buffer.from(
    JSON.stringify({ email: 'demo@costguard.local', aud: DEMO_AUDIENCE }),
  ).toString('base64url');
  return `Bearer e30.${token}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

/** A call to triggerRun as the demo's invoker. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const response = await fetch(new URL(path.replace(/^\//, ''), base), {
    method,
    headers: {
      authorization: demoAuthorization(),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export function describeCost(cost: unknown): string {
  const c = cost as { amount?: number; currency?: string; source?: string } | null;
  return c?.amount !== undefined
    ? `${c.amount.toFixed(4)} ${c.currency ?? ''} (${c.source ?? ''})`
    : 'n/a';
}

export async function playRunDemo(options: RunDemoOptions): Promise<RunDemoOutcome> {
  const { sandbox, out } = options;
  for (const job of fixtureCloudRunJobs()) {
    const name = `projects/${job.project}/locations/${job.region}/jobs/${job.name}`;
    if (!cloudRunState(sandbox).jobs.has(name)) addCloudRunJob(sandbox, job);
  }
  planBatchRun(
    sandbox,
    { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' },
    {
      outcome: 'succeed',
      afterSeconds: 95 * 60,
    },
  );

  const served: ServedTarget = options.url
    ? { url: options.url, close: () => Promise.resolve() }
    : await serveTarget('triggerRunDemo', {
        kind: 'http',
        handler: await buildTriggerRun(
          options.runtime,
          options.prices ? { prices: options.prices } : {},
        ),
      });
  const base = served.url;
  try {
    out('triggerRun demo: two pipeline runs followed on the simulated clock');
    const requests = [
      { pipeline: 'nightly-categories', target: 'd_anchor_category' },
      { pipeline: 'feature-extraction', target: 'extract', params: { TARGET_PAIR: 'gbpusd' } },
    ];
    const runs: Array<{ runId: string; pipeline: string; status: RunStatus; cost: unknown }> = [];
    for (const request of requests) {
      const reply = await call(base, 'POST', '/runs', request);
      if (reply.status !== 202)
        throw new Error(`POST /runs answered ${reply.status}: ${JSON.stringify(reply.body)}`);
      const runId = String(reply.body.runId);
      runs.push({
        runId,
        pipeline: request.pipeline,
        status: reply.body.status as RunStatus,
        cost: null,
      });
      out(
        `  POST /runs ${JSON.stringify(request)} -> 202 ${runId} ${String(reply.body.status)} (deadline ${String(reply.body.deadline)})`,
      );
    }
    const busy = await call(base, 'POST', '/runs', requests[0]);
    out(`  POST /runs again while the VM is busy -> ${busy.status} ${JSON.stringify(busy.body)}`);

    let minutes = 0;
    while (runs.some((r) => isActive(r.status)) && minutes < MAX_MINUTES) {
      sandbox.clock.advance(STEP_MINUTES * 60_000);
      minutes += STEP_MINUTES;
      for (const run of runs.filter((r) => isActive(r.status))) {
        const reply = await call(base, 'GET', `/runs/${run.runId}`);
        run.status = reply.body.status as RunStatus;
        run.cost = reply.body.cost;
        if (!isActive(run.status)) {
          out(
            `  +${minutes} min  ${run.pipeline}: ${run.status}; marker ${String(reply.body.exitMarker)}; logs ${JSON.stringify(reply.body.logs)}; cost ${describeCost(reply.body.cost)}`,
          );
        }
      }
    }
    const listed = await call(base, 'GET', '/runs?limit=5');
    out(`  GET /runs?limit=5 -> ${(listed.body.runs as unknown[]).length} runs`);
    return { runs, simulatedMinutes: minutes };
  } finally {
    await served.close();
  }
}

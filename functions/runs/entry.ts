/**
 * `triggerRun`: reads its settings (COSTGUARD_PIPELINES and the common ones), builds the
 * adapters from the runtime's clients, and returns the HTTP function. `prices` replaces the
 * pricing engine (tests pass a small fake). `buildRunService` is the same run service for
 * other callers (a Slack user cancelling a run from its message).
 */
import type { HttpFunction } from '@google-cloud/functions-framework';
import { CloudIdentityGroups } from '../adapters/cloud-identity.js';
import { RunJobs } from '../adapters/run-jobs.js';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { ObjectStore } from '../adapters/storage.js';
import { admit, capsOf, CapStandings, type Admission } from '../caps/cap-admission.js';
import { capSettings } from '../caps/cap-policy.js';
import type { Ledger } from '../adapters/bigquery.js';
import type { ComputeFleet } from '../adapters/compute.js';
import { PreemptionRates } from '../preemptions/preemption-rates.js';
import { ledgerProjectOf, readConfig, type CommonConfig } from '../core/config.js';
import { httpHandler } from '../core/handlers.js';
import type { PriceLookup } from '../core/pricing.js';
import { CloudRunExecutor } from './cloud-run-executor.js';
import { readTriggerRunConfig, type Pipeline, type RunsConfig } from './config.js';
import type { RunExecutor } from './executor.js';
import { RecordedCostReader } from './run-cost.js';
import { RunLedger } from './run-ledger.js';
import { createTriggerRunHttp, httpCallerCheck } from './http.js';
import { createRunObserver, type RunObserver } from './run-observer.js';
import { createRunService, type Actor, type RunService } from './run-service.js';
import { VmExecutor } from './vm-executor.js';

/** The executor of each pipeline (one per pipeline and function instance). */
export function executorsFor(
  runtime: Runtime,
  adapters: { fleet: ComputeFleet; ledger: Ledger },
): (pipeline: Pipeline) => RunExecutor {
  const { fleet, ledger } = adapters;
  const { clients, logger, clock } = runtime;
  const store = new ObjectStore(() => clients.storage(), { logger });
  const jobs = new RunJobs(
    {
      jobs: () => clients.runJobs(),
      executions: () => clients.runExecutions(),
      tasks: () => clients.runTasks(),
    },
    { logger },
  );
  const rates = new PreemptionRates(ledger);
  const executors = new Map<string, RunExecutor>();
  return (pipeline: Pipeline): RunExecutor => {
    let executor = executors.get(pipeline.name);
    if (!executor) {
      executor =
        pipeline.executor === 'vm'
          ? new VmExecutor(pipeline, { fleet, store, rates, clock, logger })
          : new CloudRunExecutor(pipeline, { jobs, logger });
      executors.set(pipeline.name, executor);
    }
    return executor;
  };
}

/**
 * How the functions that learn of preemptions (recordPreemption, the hourly recorder) look at
 * and resume runs: the run trigger's own observer, on the same ledger, executors and Slack.
 */
export function runObserverFor(
  runtime: Runtime,
  config: CommonConfig,
  runs: RunsConfig,
  prices: PriceLookup,
): RunObserver {
  const { fleet, ledger, notifier } = commonAdapters(runtime, config);
  return createRunObserver(
    {
      ledger: new RunLedger(ledger, runtime.clock),
      costs: new RecordedCostReader(ledger, runtime.logger),
      prices,
      notifier,
      executorFor: executorsFor(runtime, { fleet, ledger }),
      clock: runtime.clock,
      logger: runtime.logger,
    },
    runs,
  );
}

export interface RunServiceOptions {
  readonly prices?: PriceLookup;
  readonly newRunId?: () => string;
  /**
   * Who may act on a pipeline's runs (default: the HTTP callers it names as invokers, or who
   * are members of the groups it names).
   */
  readonly mayAct?: (actor: Actor, pipeline: Pipeline) => boolean | Promise<boolean>;
}

export async function buildRunService(
  runtime: Runtime,
  options: RunServiceOptions = {},
): Promise<{
  service: RunService;
  config: ReturnType<typeof readTriggerRunConfig>;
  mayAct: (actor: Actor, pipeline: Pipeline) => Promise<boolean>;
}> {
  const config = readTriggerRunConfig(runtime.env);
  const { logger, clock } = runtime;
  const groups = new CloudIdentityGroups(() => runtime.clients.cloudIdentity(), {
    logger,
    now: () => clock.now().getTime(),
    ...(clock.sleep
      ? { retry: { sleep: (ms: number) => clock.sleep?.(ms) ?? Promise.resolve() } }
      : {}),
  });
  const given = options.mayAct;
  const mayAct = given
    ? async (actor: Actor, pipeline: Pipeline) => given(actor, pipeline)
    : httpCallerCheck(groups);
  const { fleet, ledger, notifier } = commonAdapters(runtime, config);
  // The pricing engine is loaded only when no price lookup is given; it reads machine types
  // through a project where triggerRun has that permission (one with a batch VM).
  const pricingProject =
    [...config.runs.pipelines.values()].find((p) => p.executor === 'vm')?.project ??
    ledgerProjectOf(config);
  const prices =
    options.prices ??
    (await import('../pricing/index.js')).createPriceLookupFor(runtime, {
      project: pricingProject,
    });
  const executorFor = executorsFor(runtime, { fleet, ledger });
  // A start is checked against the Spot caps its VM or job falls in (COSTGUARD_SPOT_CAPS).
  const { caps } = readConfig({ caps: capSettings.caps }, runtime.env);
  const standings = new CapStandings(ledger);
  // A pipeline with several candidate VMs answers to every cap any of them falls in.
  const admission = async (pipeline: Pipeline, now: Date): Promise<Admission> => {
    const vms =
      pipeline.executor === 'vm'
        ? await Promise.all(
            pipeline.candidates.map((c) =>
              fleet.get({ project: pipeline.project, zone: c.zone, name: c.instance }),
            ),
          )
        : [undefined];
    const concerned = [
      ...new Set(
        vms.flatMap((vm) =>
          capsOf(
            {
              project: pipeline.project,
              labels: vm?.labels ?? {},
              provisioningModel: vm?.provisioningModel,
            },
            caps,
            config.projects,
          ),
        ),
      ),
    ];
    return admit(concerned, await standings.of(concerned, now));
  };
  logger.info('triggerRun is configured', {
    pipelines: [...config.runs.pipelines.keys()],
    dryRun: config.runs.dryRun,
  });
  const service = createRunService(
    {
      ledger: new RunLedger(ledger, clock),
      costs: new RecordedCostReader(ledger, logger),
      prices,
      notifier,
      executorFor,
      clock,
      logger,
      mayAct,
      ...(options.newRunId ? { newRunId: options.newRunId } : {}),
      ...(caps.length > 0 ? { admission } : {}),
    },
    config.runs,
  );
  return { service, config, mayAct };
}

export async function buildTriggerRun(
  runtime: Runtime,
  options: Omit<RunServiceOptions, 'mayAct'> = {},
): Promise<HttpFunction> {
  const { service, config, mayAct } = await buildRunService(runtime, options);
  return httpHandler(
    runtime.logger,
    createTriggerRunHttp(service, config.runs, runtime.logger, mayAct),
  );
}

import { vmKey } from '../core/vm.js';
import { asRecord, fail, notFound, route } from './http.js';
import { newFingerprint, type SimVm } from './fleet.js';
import { putObject } from './routes/storage.js';
import type { Sandbox, SandboxModule } from './sandbox.js';

/**
 * The simulated batch VM: plays the part of deploy/vm/startup.sh on any VM that boots with the
 * run keys in its metadata. At boot it clears the keys (as the script does) and checks the
 * target and results prefix with the script's patterns; after the planned simulated duration
 * it writes build.log plus `_SUCCESS` or `startup_error.txt` under the results prefix and shuts
 * the VM down. A plan can make the run fail, be preempted, or hang until something stops it;
 * a maxRunDuration set on the VM stops it at the deadline as Compute would.
 */
export const RUN_KEYS = {
  runId: 'costguard-run-id',
  target: 'costguard-target',
  resultsPrefix: 'costguard-results-prefix',
  deadline: 'costguard-deadline',
} as const;

// The same patterns as deploy/vm/startup.sh.
const TARGET = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RUN_ID = /^run-[0-9a-f]{20}$/;
const RESULTS_PREFIX =
  /^gs:\/\/([a-z0-9][a-z0-9._-]{1,61}[a-z0-9])\/(results\/run-[0-9a-f]{20}\/)$/;

export interface BatchRunPlan {
  outcome: 'succeed' | 'fail' | 'preempt' | 'hang';
  /** Simulated seconds from boot until the outcome. */
  afterSeconds: number;
  /** What a failing run leaves in startup_error.txt (default: the step and exit code). */
  errorText?: string;
}

export interface BatchRun {
  vm: string;
  runId: string;
  target: string;
  resultsPrefix: string;
  bootedAt: string;
  plan: BatchRunPlan;
  outcome: 'running' | 'succeeded' | 'failed' | 'preempted' | 'stopped' | 'rejected';
}

interface BatchVmState {
  plans: Map<string, BatchRunPlan[]>;
  defaultPlan: BatchRunPlan;
  runs: BatchRun[];
}

export function batchVmState(sandbox: Sandbox): BatchVmState {
  return sandbox.extension<BatchVmState>('batch-vm', () => ({
    plans: new Map(),
    defaultPlan: { outcome: 'succeed', afterSeconds: 1800 },
    runs: [],
  }));
}

/** How the next run on a VM goes (one plan per boot, then the default). */
export function planBatchRun(
  sandbox: Sandbox,
  vm: { project: string; zone: string; name: string },
  plan: BatchRunPlan,
): void {
  const plans = batchVmState(sandbox).plans;
  const key = vmKey(vm);
  plans.set(key, [...(plans.get(key) ?? []), plan]);
}

function metadata(vm: SimVm, key: string): string | undefined {
  return vm.metadata.find((i) => i.key === key)?.value;
}

function clearRunKeys(vm: SimVm): void {
  const keys = new Set<string>(Object.values(RUN_KEYS));
  vm.metadata = vm.metadata.filter((i) => !keys.has(i.key));
  vm.metadataFingerprint = newFingerprint(`${vm.name}:metadata`);
}

function buildLog(run: BatchRun, lines: string[]): string {
  return [`[costguard] run ${run.runId} target ${run.target} on ${run.vm}`, ...lines, ''].join(
    '\n',
  );
}

function onBoot(sandbox: Sandbox, vm: SimVm): void {
  const runId = metadata(vm, RUN_KEYS.runId);
  if (runId === undefined) return;
  const state = batchVmState(sandbox);
  const key = vmKey(vm);
  const plan = state.plans.get(key)?.shift() ?? state.defaultPlan;
  const run: BatchRun = {
    vm: key,
    runId,
    target: metadata(vm, RUN_KEYS.target) ?? '',
    resultsPrefix: metadata(vm, RUN_KEYS.resultsPrefix) ?? '',
    bootedAt: sandbox.clock.now().toISOString(),
    plan,
    outcome: 'running',
  };
  state.runs.push(run);
  clearRunKeys(vm);
  const boot = vm.lastStartAt;
  const sameBoot = (): boolean => vm.status === 'RUNNING' && vm.lastStartAt === boot;
  const prefix = RESULTS_PREFIX.exec(run.resultsPrefix);
  const at = sandbox.clock.nowMs();

  if (!RUN_ID.test(runId) || !prefix || !prefix[2]?.includes(runId) || !TARGET.test(run.target)) {
    // The script refuses the run; with a usable prefix it still leaves its error marker.
    sandbox.clock.schedule(at + 30_000, () => {
      if (!sameBoot()) return;
      if (prefix) {
        putObject(
          sandbox,
          prefix[1] as string,
          `${prefix[2]}startup_error.txt`,
          'invalid run keys: the target or results prefix does not match the allowed pattern\n',
        );
      }
      run.outcome = 'rejected';
      sandbox.fleet.stop(vm);
    });
    return;
  }
  const bucket = prefix[1] as string;
  const path = prefix[2];
  if (vm.maxRunDurationSeconds !== undefined) {
    sandbox.clock.schedule(at + vm.maxRunDurationSeconds * 1000, () => {
      if (!sameBoot()) return;
      run.outcome = 'stopped';
      sandbox.fleet.stop(vm);
    });
  }
  sandbox.clock.schedule(at + plan.afterSeconds * 1000, () => {
    if (!sameBoot()) return;
    switch (plan.outcome) {
      case 'succeed':
        putObject(sandbox, bucket, `${path}output/summary.txt`, `target ${run.target} done\n`);
        putObject(
          sandbox,
          bucket,
          `${path}build.log`,
          buildLog(run, [`make -- ${run.target}`, 'make: done']),
        );
        putObject(sandbox, bucket, `${path}_SUCCESS`, '');
        run.outcome = 'succeeded';
        sandbox.fleet.stop(vm);
        return;
      case 'fail':
        putObject(
          sandbox,
          bucket,
          `${path}build.log`,
          buildLog(run, [
            `make -- ${run.target}`,
            `make: *** [Makefile:12: ${run.target}] Error 2`,
          ]),
        );
        putObject(
          sandbox,
          bucket,
          `${path}startup_error.txt`,
          plan.errorText ?? `make -- ${run.target} failed with exit code 2\n`,
        );
        run.outcome = 'failed';
        sandbox.fleet.stop(vm);
        return;
      case 'preempt':
        run.outcome = 'preempted';
        sandbox.fleet.preempt(vm);
        return;
      case 'hang':
        return;
    }
  });
}

const routes = [
  route<Sandbox>('sandbox.batchVm.runs', 'GET', '/_sandbox/batch-vm/runs', (_request, sandbox) => ({
    body: { runs: batchVmState(sandbox).runs },
  })),
  route<Sandbox>(
    'sandbox.batchVm.plan',
    'POST',
    '/_sandbox/batch-vm/{project}/{zone}/{name}/plan',
    (request, sandbox) => {
      const { project, zone, name } = request.params as Record<string, string>;
      const ref = { project: project as string, zone: zone as string, name: name as string };
      if (!sandbox.fleet.get(ref.project, ref.zone, ref.name)) notFound(vmKey(ref));
      const body = asRecord(request.body);
      const outcome = body.outcome;
      const afterSeconds = Number(body.afterSeconds ?? 1800);
      if (
        !['succeed', 'fail', 'preempt', 'hang'].includes(String(outcome)) ||
        !(afterSeconds > 0)
      ) {
        fail(400, 'Send {"outcome": "succeed" | "fail" | "preempt" | "hang", "afterSeconds": N}');
      }
      planBatchRun(sandbox, ref, { outcome: outcome as BatchRunPlan['outcome'], afterSeconds });
      return { status: 201, body: { planned: batchVmState(sandbox).plans.get(vmKey(ref)) } };
    },
  ),
];

export const batchVmModule: SandboxModule = {
  name: 'batch-vm',
  routes,
  start(sandbox) {
    sandbox.fleet.onEvent((event) => {
      if (event.type === 'started') onBoot(sandbox, event.vm);
    });
  },
};

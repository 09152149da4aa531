/**
 * The simulated batch VM: plays the part of deploy/vm/startup.sh on any VM that boots with the
 * run keys in its metadata. Like the script it writes nothing to Compute: it remembers the runs
 * it began (run id and claim time, the script's file on the VM's disk) and powers off at once on
 * a boot with keys it began before; it checks the target and results prefix with the script's
 * patterns; as simulated time passes it prints the
 * script's console to serial port 1 (phase `[timer]` lines and `[vmstat]`/`[mpstat]` telemetry
 * every `costguard-telemetry-interval` seconds); after the planned duration it uploads
 * build.log, startup_detail.log, timings.json and `_SUCCESS` or `startup_error.txt` under the
 * results prefix and shuts the VM down. A plan can make the run fail, be preempted (with
 * Compute's 30 s notice, the attempt's build log kept and no marker), or hang until something
 * stops it;
 * a maxRunDuration set on the VM stops it at the deadline as Compute would.
 */

import { vmKey } from '../core/vm.js';
import { asRecord, fail, notFound, route } from './http.js';
import type { SimVm } from './fleet.js';
import { preemptWithNotice } from './routes/logging.js';
import { getObject, putObject } from './routes/storage.js';
import { writeSerial } from './serial-console.js';
import type { Sandbox, SandboxModule } from './sandbox.js';

export const RUN_KEYS = {
  runId: 'costguard-run-id',
  target: 'costguard-target',
  resultsPrefix: 'costguard-results-prefix',
  deadline: 'costguard-deadline',
  source: 'costguard-run-source',
  telemetryInterval: 'costguard-telemetry-interval',
  /** The attempt of a resumed run (absent: the first). */
  attempt: 'costguard-attempt',
} as const;

/** The source the VM was set up with, used when a run names none of its own. */
const PIPELINE_SOURCE_KEY = 'costguard-source';
const RUN_SOURCE =
  /^gs:\/\/([a-z0-9][a-z0-9._-]{1,61}[a-z0-9])\/(src\/[A-Za-z0-9._/-]+)#(\d{1,20})$/;

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
  attempt: number;
  bootedAt: string;
  plan: BatchRunPlan;
  outcome: 'running' | 'succeeded' | 'failed' | 'preempted' | 'stopped' | 'rejected';
}

interface BatchVmState {
  plans: Map<string, BatchRunPlan[]>;
  defaultPlan: BatchRunPlan;
  runs: BatchRun[];
  /** Per VM, the `RUN_ID CLAIM_TIME` of each run it began. */
  begun: Map<string, Set<string>>;
}

export function batchVmState(sandbox: Sandbox): BatchVmState {
  return sandbox.extension<BatchVmState>('batch-vm', () => ({
    plans: new Map(),
    defaultPlan: { outcome: 'succeed', afterSeconds: 1800 },
    runs: [],
    begun: new Map(),
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

/** A phase of the startup script and its share of the run's simulated duration. */
const PHASES = [
  { name: 'fetch', share: 0.01 },
  { name: 'apt', share: 0.05 },
  { name: 'pip', share: 0.1 },
] as const;
/** The most telemetry samples one boot writes (a hung run would otherwise never stop). */
const MAX_TELEMETRY_SAMPLES = 1000;
const DEFAULT_TELEMETRY_SECONDS = 60;

/**
 * What the script prints and uploads as a run goes: the console (serial port 1, each line as
 * the guest agent forwards startup-script output), build.log, startup_detail.log with the
 * verbose steps the console leaves out, and the phase timings.
 */
class RunConsole {
  readonly build: string[] = [];
  readonly detail: string[] = [];
  readonly timings: Record<string, number> = {};

  constructor(
    private readonly sandbox: Sandbox,
    private readonly vm: SimVm,
    private readonly run: BatchRun,
  ) {}

  private stamp(at: number): string {
    return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** One line of the script's output at simulated time `at`: to the console and the detail log. */
  say(at: number, line: string): void {
    const text = `${this.stamp(at)} ${line}`;
    this.detail.push(text);
    writeSerial(
      this.sandbox,
      this.vm,
      `${this.vm.name} google_metadata_script_runner[812]: startup-script: ${text}\n`,
    );
  }

  /** Verbose output (apt, pip) that only the detail log keeps. */
  quiet(at: number, line: string): void {
    this.detail.push(`${this.stamp(at)} ${line}`);
  }

  timer(at: number, phase: string, seconds: number): void {
    this.timings[phase] = Math.round(seconds);
    this.say(at, `[timer] ${phase} ${Math.round(seconds)}s`);
  }

  upload(bucket: string, path: string): void {
    const { sandbox } = this;
    putObject(sandbox, bucket, `${path}build.log`, [...this.build, ''].join('\n'));
    putObject(sandbox, bucket, `${path}startup_detail.log`, [...this.detail, ''].join('\n'));
    putObject(
      sandbox,
      bucket,
      `${path}${TIMINGS_OBJECT}`,
      JSON.stringify(this.timings),
      'application/json',
    );
  }

  get header(): string {
    return `[costguard] run ${this.run.runId} target ${this.run.target} on ${this.run.vm}`;
  }
}

/** The results object that holds the phase timings in seconds (`{"fetch": 2, ...}`). */
export const TIMINGS_OBJECT = 'timings.json';

function telemetryLines(sample: number): { vmstat: string; mpstat: string } {
  const busy = 88 + (sample % 7);
  const wait = 1 + (sample % 3);
  const free = 41_000_000 - sample * 12_000;
  return {
    vmstat: `[vmstat] r=${30 + (sample % 4)} b=0 free=${free} si=0 so=0 bi=${1200 + sample * 3} bo=${800 + sample * 5} us=${busy - 4} sy=4 id=${100 - busy - wait} wa=${wait} st=0`,
    mpstat: `[mpstat] all %usr=${(busy - 4).toFixed(2)} %sys=4.00 %iowait=${wait.toFixed(2)} %idle=${(100 - busy - wait).toFixed(2)}`,
  };
}

/** Whether a run source names the results bucket's src/ and that generation is the live one. */
function sourceIsThere(sandbox: Sandbox, source: string, bucket: string): boolean {
  const match = RUN_SOURCE.exec(source);
  if (!match || match[1] !== bucket || match[2]?.split('/').includes('..')) return false;
  return getObject(sandbox, bucket, match[2] as string)?.generation === match[3];
}

function telemetrySecondsOf(vm: SimVm): number {
  const value = Number(metadata(vm, RUN_KEYS.telemetryInterval));
  return Number.isInteger(value) && value >= 1 && value <= 3600 ? value : DEFAULT_TELEMETRY_SECONDS;
}

function onBoot(sandbox: Sandbox, vm: SimVm): void {
  const runId = metadata(vm, RUN_KEYS.runId);
  if (runId === undefined) return;
  const state = batchVmState(sandbox);
  const key = vmKey(vm);
  // As the startup script does: a resumed run keeps its claim and is told apart by its attempt.
  const attempt = `${runId} ${metadata(vm, 'costguard-claim')?.split(' ')[1] ?? ''} ${metadata(vm, RUN_KEYS.attempt) ?? '1'}`;
  const begun = state.begun.get(key) ?? new Set<string>();
  state.begun.set(key, begun);
  if (begun.has(attempt)) {
    // A reboot or a repeated start: the run is not run again; the VM powers off.
    const boot = vm.lastStartAt;
    sandbox.clock.schedule(sandbox.clock.nowMs() + 10_000, () => {
      if (vm.status === 'RUNNING' && vm.lastStartAt === boot) sandbox.fleet.stop(vm);
    });
    return;
  }
  begun.add(attempt);
  const plan = state.plans.get(key)?.shift() ?? state.defaultPlan;
  const run: BatchRun = {
    vm: key,
    runId,
    target: metadata(vm, RUN_KEYS.target) ?? '',
    resultsPrefix: metadata(vm, RUN_KEYS.resultsPrefix) ?? '',
    attempt: Number(metadata(vm, RUN_KEYS.attempt) ?? '1'),
    bootedAt: sandbox.clock.now().toISOString(),
    plan,
    outcome: 'running',
  };
  state.runs.push(run);
  const telemetrySeconds = telemetrySecondsOf(vm);
  const runSource = metadata(vm, RUN_KEYS.source);
  const source = runSource ?? metadata(vm, PIPELINE_SOURCE_KEY) ?? 'the pipeline source';
  const boot = vm.lastStartAt;
  const sameBoot = (): boolean => vm.status === 'RUNNING' && vm.lastStartAt === boot;
  const prefix = RESULTS_PREFIX.exec(run.resultsPrefix);
  const at = sandbox.clock.nowMs();
  const out = new RunConsole(sandbox, vm, run);
  const later = (seconds: number, action: () => void): void =>
    sandbox.clock.schedule(at + seconds * 1000, () => {
      if (sameBoot()) action();
    });
  writeSerial(
    sandbox,
    vm,
    `[    0.000000] Linux version 6.1.0-28-cloud-amd64\nBooting ${vm.name}\n`,
  );
  out.say(at, out.header);

  if (!RUN_ID.test(runId) || !prefix || !prefix[2]?.includes(runId) || !TARGET.test(run.target)) {
    // The script refuses the run; with a usable prefix it still leaves its error marker.
    later(30, () => {
      const why =
        'invalid run keys: the target or results prefix does not match the allowed pattern';
      out.say(at + 30_000, `[costguard] error: ${why}`);
      if (prefix) {
        putObject(sandbox, prefix[1] as string, `${prefix[2]}startup_error.txt`, `${why}\n`);
      }
      run.outcome = 'rejected';
      sandbox.fleet.stop(vm);
    });
    return;
  }
  const bucket = prefix[1] as string;
  const path = prefix[2];
  if (runSource !== undefined && !sourceIsThere(sandbox, runSource, bucket)) {
    // The script fetches exactly the pinned generation; a newer upload is not it.
    later(10, () => {
      const why = `the source ${runSource} cannot be fetched`;
      out.say(at + 10_000, `[costguard] error: ${why}`);
      putObject(
        sandbox,
        bucket,
        `${path}startup_error.txt`,
        `run ${runId} target ${run.target} failed while fetching the source (exit code 1)\n`,
      );
      run.outcome = 'failed';
      sandbox.fleet.stop(vm);
    });
    return;
  }
  if (vm.maxRunDurationSeconds !== undefined) {
    later(vm.maxRunDurationSeconds, () => {
      run.outcome = 'stopped';
      sandbox.fleet.stop(vm);
    });
  }

  // The phases before make, each with its [timer] line; make takes the rest of the plan.
  let elapsed = 0;
  for (const phase of PHASES) {
    const seconds = Math.max(1, Math.round(plan.afterSeconds * phase.share));
    const begin = elapsed;
    later(begin, () => {
      if (phase.name === 'fetch')
        out.say(at + begin * 1000, `[costguard] run ${runId}: fetching ${source}`);
      else
        out.quiet(at + begin * 1000, `[${phase.name}] (verbose output kept in startup_detail.log)`);
    });
    elapsed += seconds;
    const end = elapsed;
    later(end, () => out.timer(at + end * 1000, phase.name, seconds));
  }
  const makeFrom = elapsed;
  const makeSeconds = Math.max(1, plan.afterSeconds - makeFrom);
  later(makeFrom, () => {
    out.say(at + makeFrom * 1000, `[costguard] run ${runId}: make -- ${run.target}`);
    out.build.push(out.header, `make -- ${run.target}`);
  });
  const samples = Math.min(
    MAX_TELEMETRY_SAMPLES,
    Math.floor((plan.outcome === 'hang' ? 7 * 86_400 : plan.afterSeconds) / telemetrySeconds),
  );
  for (let sample = 1; sample <= samples; sample++) {
    const t = sample * telemetrySeconds;
    later(t, () => {
      const lines = telemetryLines(sample);
      out.say(at + t * 1000, lines.vmstat);
      out.say(at + t * 1000, lines.mpstat);
      if (t > makeFrom)
        out.build.push(`step ${sample}: ${Math.round(((t - makeFrom) / makeSeconds) * 100)}%`);
    });
  }
  const finish = (code: number): void => {
    const end = at + plan.afterSeconds * 1000;
    out.timer(end, 'make', makeSeconds);
    out.timer(end, 'upload', 0);
    out.timer(end, 'total', plan.afterSeconds);
    out.say(end, `[costguard] run ${runId} finished with exit code ${code}; shutting down`);
    out.upload(bucket, path);
  };
  later(plan.afterSeconds, () => {
    switch (plan.outcome) {
      case 'succeed':
        out.build.push('make: done');
        putObject(sandbox, bucket, `${path}output/summary.txt`, `target ${run.target} done\n`);
        finish(0);
        putObject(sandbox, bucket, `${path}_SUCCESS`, '');
        run.outcome = 'succeeded';
        sandbox.fleet.stop(vm);
        return;
      case 'fail': {
        out.build.push(`make: *** [Makefile:12: ${run.target}] Error 2`);
        const reason = `make -- ${run.target} exited with status 2`;
        out.say(at + plan.afterSeconds * 1000, `[costguard] error: ${reason}`);
        finish(1);
        putObject(
          sandbox,
          bucket,
          `${path}startup_error.txt`,
          plan.errorText ?? `make -- ${run.target} failed with exit code 2\n`,
        );
        run.outcome = 'failed';
        sandbox.fleet.stop(vm);
        return;
      }
      case 'preempt':
        // Compute's notice: the script sees instance/preempted, keeps the attempt's build log
        // and leaves no marker; the VM is TERMINATED 30 s later.
        out.build.push('preempted');
        putObject(
          sandbox,
          bucket,
          `${path}attempts/${run.attempt}/build.log`,
          [...out.build, ''].join('\n'),
        );
        run.outcome = 'preempted';
        preemptWithNotice(sandbox, vm);
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

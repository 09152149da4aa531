/**
 * The remote run, start to end: package the checkout → upload it once → start the run → follow
 * its console → collect its results → report and give the exit code. Each step talks to the
 * world through the deps only, so the same code runs against Google, the sandbox (with its
 * simulated clock) and in tests.
 */
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore } from '../../functions/adapters/storage.js';
import { collectResults, tailOf } from './collect-results.js';
import { describePhases, EXIT, isActiveStatus, verdictOf } from './outcome.js';
import type { RemoteOptions } from './options.js';
import { packageSource } from './package-source.js';
import type { RunApiClient, RunView } from './run-api-client.js';

const BUILD_LOG_TAIL_LINES = 30;

export interface RemoteDeps {
  readonly api: Pick<RunApiClient, 'start' | 'get' | 'log' | 'cancel'>;
  readonly store: Pick<ObjectStore, 'uploadOnce' | 'listAll' | 'download'>;
  /** The run's console output, as it comes (stdout). */
  readonly console: (text: string) => void;
  /** The client's own lines (stderr). */
  readonly say: (line: string) => void;
  /** Waits between looks; 'interrupted' when the user pressed Ctrl-C meanwhile. */
  readonly wait: (ms: number) => Promise<'elapsed' | 'interrupted'>;
  /** What to do on Ctrl-C: cancel the run or leave it running. */
  readonly onInterrupt: (runId: string) => Promise<'cancel' | 'leave'>;
  readonly tmpDir: string;
  /** A fresh Idempotency-Key for this start. */
  readonly newKey: () => string;
}

/** Packages the repository and uploads it; returns the gs:// URI of the source object. */
async function uploadSource(deps: RemoteDeps, options: RemoteOptions): Promise<string> {
  const bucket = options.bucket as string;
  const file = join(deps.tmpDir, `costguard-source-${process.pid}.tar.gz`);
  try {
    const packaged = await packageSource({ repo: options.repo, exclude: options.exclude, file });
    const name = `src/${packaged.objectName}`;
    const stored = await deps.store.uploadOnce(bucket, name, file);
    deps.say(
      `packaged ${packaged.files} tracked files (${(packaged.bytes / 1024).toFixed(1)} KiB` +
        `${packaged.skipped > 0 ? `, ${packaged.skipped} left out` : ''}) ${stored.uploaded ? 'uploaded to' : 'already at'} gs://${bucket}/${name}`,
    );
    return `gs://${bucket}/${name}`;
  } finally {
    await rm(file, { force: true });
  }
}

type Followed = { kind: 'ended'; view: RunView } | { kind: 'left'; view: RunView };

/** Prints the run's console until the run ends (or the user leaves it), and saves it. */
async function follow(deps: RemoteDeps, options: RemoteOptions, first: RunView): Promise<Followed> {
  const { api } = deps;
  const runId = first.runId;
  await mkdir(options.logsDir, { recursive: true });
  const logFile = join(options.logsDir, `${runId}-serial.log`);
  let view = first;
  let offset = 0;
  let linkShown = false;
  for (;;) {
    const part = await api.log(runId, offset);
    if (part.skipped) {
      deps.say(`[costguard] ${part.skipped} bytes of console output were no longer on the VM`);
    }
    if (part.contents) {
      deps.console(part.contents);
      await appendFile(logFile, part.contents);
    }
    if (part.link && !linkShown) {
      deps.say(`[costguard] the run's log: ${part.link}`);
      linkShown = true;
    }
    offset = part.next;
    if (!isActiveStatus(view.status)) return { kind: 'ended', view };
    if ((await deps.wait(options.pollMs)) === 'interrupted') {
      if ((await deps.onInterrupt(runId)) === 'leave') return { kind: 'left', view };
      deps.say(`[costguard] cancelling ${runId}`);
      view = await api.cancel(runId);
      continue;
    }
    view = await api.get(runId);
  }
}

/** Results, the end of build.log, the error marker, the cost: what the user reads last. */
async function report(deps: RemoteDeps, options: RemoteOptions, view: RunView): Promise<number> {
  const { say } = deps;
  if (view.resultsPrefix) {
    const collected = await collectResults(deps.store, {
      resultsPrefix: view.resultsPrefix,
      runId: view.runId,
      resultsDir: options.resultsDir,
    });
    say(
      `results: ${collected.files.length} files in ${collected.folder} (${join(options.resultsDir, 'latest')} points at it)`,
    );
    for (const name of collected.refused) say(`  left in the bucket (unsafe name): ${name}`);
    const tail = await tailOf(join(collected.folder, 'build.log'), BUILD_LOG_TAIL_LINES);
    if (tail !== undefined) {
      say(`── end of build.log ──`);
      say(tail);
    }
    const error = await tailOf(join(collected.folder, 'startup_error.txt'), 20);
    if (error !== undefined) {
      say(`── startup_error.txt ──`);
      say(error);
    }
  }
  if (view.phases && Object.keys(view.phases).length > 0) {
    say(`phases: ${describePhases(view.phases)}`);
  }
  if (view.cost) {
    say(`cost: ${view.cost.amount.toFixed(4)} ${view.cost.currency} (${view.cost.source})`);
  }
  const verdict = verdictOf(view);
  say(verdict.line);
  return verdict.exitCode;
}

function leftRunning(deps: RemoteDeps, options: RemoteOptions, runId: string): number {
  deps.say(`[costguard] ${runId} goes on running. Follow it again, or cancel it, with:`);
  deps.say(`  costguard follow ${runId} --url ${options.url}`);
  deps.say(`  costguard cancel ${runId} --url ${options.url}`);
  return EXIT.leftRunning;
}

/** `costguard run` and `costguard follow`; the exit code of the run's outcome. */
export async function runRemote(deps: RemoteDeps, options: RemoteOptions): Promise<number> {
  let view: RunView;
  if (options.command === 'follow') {
    view = await deps.api.get(options.runId as string);
  } else {
    const source = options.packageSource ? await uploadSource(deps, options) : undefined;
    view = await deps.api.start(
      { pipeline: options.pipeline, target: options.target, ...(source ? { source } : {}) },
      deps.newKey(),
    );
    deps.say(`started ${view.runId}: ${options.pipeline} ${options.target} (${view.status})`);
  }
  const followed = await follow(deps, options, view);
  if (followed.kind === 'left') return leftRunning(deps, options, view.runId);
  return report(deps, options, followed.view);
}

/** `costguard cancel RUN_ID`. */
export async function cancelRemote(deps: RemoteDeps, runId: string): Promise<number> {
  const view = await deps.api.cancel(runId);
  deps.say(verdictOf(view).line);
  return EXIT.succeeded;
}

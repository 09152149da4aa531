/**
 * The command line of `costguard` (and `npm run remote -- …`), read once at the edge: every
 * option from its flag or its environment variable (what a Makefile passes), checked with the
 * same patterns as the run API, and a usage error that names each bad option.
 */
import { isLoopbackHost } from '../../functions/adapters/endpoints.js';
import { BUCKET } from '../../functions/runs/config.js';
import { PIPELINE_NAME, RUN_ID, TARGET } from '../../functions/runs/run-id.js';

export const USAGE = `Usage:
  costguard run    --url URL --pipeline NAME --target TARGET --bucket BUCKET [options]
  costguard follow RUN_ID --url URL [--bucket BUCKET] [options]
  costguard cancel RUN_ID --url URL
  npm run remote -- [run options]            (the same as costguard run)

run: packages the tracked files of the repository (git ls-files, minus --exclude), uploads the
tarball to gs://BUCKET/src/, starts TARGET of pipeline NAME through triggerRun with your Google
ID token, follows the run's console into the terminal and LOGS_DIR/RUN_ID-serial.log, then
downloads gs://BUCKET/results/RUN_ID/ into RESULTS_DIR/RUN_ID (RESULTS_DIR/latest points at it),
prints the end of build.log and the run's cost, and exits with the run's outcome.
follow: the same from "follows" on, for a run already started. cancel: cancels a run.

Options (environment variable in brackets):
  --url URL            triggerRun's URL                         [COSTGUARD_RUNS_URL]
  --audience AUD       the ID token's audience (default: URL)   [COSTGUARD_RUNS_AUDIENCE]
  --pipeline NAME      the pipeline                             [COSTGUARD_PIPELINE]
  --target TARGET      the make target                          [COSTGUARD_TARGET]
  --bucket BUCKET      the pipeline's bucket (src/, results/)   [COSTGUARD_BUCKET]
  --repo DIR           the repository to package (default: .)
  --exclude PATH       leave PATH out (a folder/, a path or a glob); repeatable
                                                                [COSTGUARD_REMOTE_EXCLUDE, space-separated]
  --pipeline-source    run the pipeline's own source instead of packaging this repository
  --results-dir DIR    default data/remote_results              [COSTGUARD_RESULTS_DIR]
  --logs-dir DIR       default logs/remote_runs                 [COSTGUARD_LOGS_DIR]
  --poll-seconds N     how often to look at the run (default 10)
  --help               this text

The ID token is COSTGUARD_ID_TOKEN when set (e.g. $(gcloud auth print-identity-token)), else one
from Application Default Credentials. Storage calls use your Application Default Credentials
(STORAGE_EMULATOR_HOST or GCP_EMULATOR_HOST point them at the sandbox).

Exit codes: 0 succeeded, 1 failed, 2 usage, 3 cancelled, 4 preempted, 5 past its deadline,
6 not run (refused, dry run), 130 interrupted with the run left running.`;

export type Command = 'run' | 'follow' | 'cancel' | 'help';

export interface RemoteOptions {
  readonly command: Command;
  readonly runId: string | undefined;
  readonly url: string;
  readonly audience: string;
  readonly pipeline: string;
  readonly target: string;
  readonly bucket: string | undefined;
  readonly repo: string;
  readonly exclude: readonly string[];
  readonly packageSource: boolean;
  readonly resultsDir: string;
  readonly logsDir: string;
  readonly pollMs: number;
}

export class UsageError extends Error {
  override name = 'UsageError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

const VALUED = new Set([
  '--url',
  '--audience',
  '--pipeline',
  '--target',
  '--bucket',
  '--repo',
  '--exclude',
  '--results-dir',
  '--logs-dir',
  '--poll-seconds',
]);

function checkUrl(name: string, value: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name}: not a URL: ${value}`);
    return;
  }
  // The identity token travels with every call: plain HTTP only to this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    problems.push(`${name}: https, or http on a loopback host (got ${value})`);
  }
}

export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): RemoteOptions {
  const problems: string[] = [];
  const flags = new Map<string, string>();
  const excludes: string[] = [];
  const positional: string[] = [];
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUED.has(name)) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) problems.push(`${name}: give a value`);
      else if (name === '--exclude') excludes.push(value);
      else flags.set(name, value);
    } else if (arg === '--help' || arg === '-h' || arg === '--pipeline-source') {
      switches.add(arg);
    } else if (arg.startsWith('-')) {
      problems.push(`${arg}: unknown option`);
    } else {
      positional.push(arg);
    }
  }
  const first = positional[0];
  const command: Command =
    switches.has('--help') || switches.has('-h')
      ? 'help'
      : first === 'follow' || first === 'cancel' || first === 'run'
        ? first
        : 'run';
  const rest = first === command ? positional.slice(1) : positional;
  const value = (flag: string, variable?: string): string =>
    (flags.get(flag) ?? (variable ? env[variable] : undefined) ?? '').trim();

  const url = value('--url', 'COSTGUARD_RUNS_URL');
  const pipeline = value('--pipeline', 'COSTGUARD_PIPELINE');
  const target = value('--target', 'COSTGUARD_TARGET');
  const bucket = value('--bucket', 'COSTGUARD_BUCKET');
  const packageSource = !switches.has('--pipeline-source');
  let runId: string | undefined;
  if (command === 'follow' || command === 'cancel') {
    runId = rest[0];
    if (!runId || !RUN_ID.test(runId)) problems.push(`${command}: give a run id (run-…)`);
    if (rest.length > 1) problems.push(`unexpected arguments: ${rest.slice(1).join(' ')}`);
  } else if (rest.length > 0) {
    problems.push(`unexpected arguments: ${rest.join(' ')}`);
  }
  if (command !== 'help') {
    if (!url) problems.push('--url: the URL of triggerRun (or COSTGUARD_RUNS_URL)');
    else checkUrl('--url', url, problems);
  }
  if (command === 'run') {
    if (!PIPELINE_NAME.test(pipeline)) problems.push('--pipeline: a pipeline name');
    if (!TARGET.test(target)) problems.push('--target: a make target');
  }
  if ((command === 'run' && packageSource) || bucket) {
    if (!BUCKET.test(bucket)) problems.push('--bucket: the bucket of the pipeline');
  }
  const pollText = value('--poll-seconds') || '10';
  const pollSeconds = Number(pollText);
  if (!(pollSeconds >= 1 && pollSeconds <= 600)) {
    problems.push('--poll-seconds: a number of seconds from 1 to 600');
  }
  if (problems.length > 0) throw new UsageError(problems);
  return Object.freeze({
    command,
    runId,
    url,
    audience: value('--audience', 'COSTGUARD_RUNS_AUDIENCE') || url.replace(/\/+$/, ''),
    pipeline,
    target,
    bucket: bucket || undefined,
    repo: value('--repo') || '.',
    exclude: [
      ...(env.COSTGUARD_REMOTE_EXCLUDE ?? '').split(/\s+/).filter((p) => p !== ''),
      ...excludes,
    ],
    packageSource,
    resultsDir: value('--results-dir', 'COSTGUARD_RESULTS_DIR') || 'data/remote_results',
    logsDir: value('--logs-dir', 'COSTGUARD_LOGS_DIR') || 'logs/remote_runs',
    pollMs: pollSeconds * 1000,
  });
}

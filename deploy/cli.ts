/**
 * `npm run deploy` and `npm run teardown`: parse, plan, then print (`--dry-run`) or run. Both
 * return an exit code instead of exiting (see cli-io.ts).
 */

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrationFiles } from '../functions/adapters/bigquery.js';
import { guarded, type CliIo } from './cli-io.js';
import { loadDeployInputs, loadPipelines } from './load-inputs.js';
import { parseDeployOptions, parseTeardownOptions } from './options.js';
import { planDeploy } from './plan-deploy.js';
import { planTeardown } from './plan-teardown.js';
import { PlanError, runPlan, spawnExec } from './run-plan.js';
import { stageSource } from './stage-source.js';

export const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url));

export const DEPLOY_USAGE = `Usage: npm run deploy -- --project P --region R --billing-account A
  [--budget-amount N] [--slack-channel C] [--slack-actors S1,C2] [--enforce] [--dry-run]
  [--projects P1,P2] [--dataset D] [--bq-location L] [--budget-policy FILE]
  [--label-policy FILE] [--spot-alerts FILE] [--spot-caps FILE] [--pipelines FILE] [--run-invoker user:EMAIL]...
  [--dashboard-url URL] [--billing-export PROJECT.DATASET.TABLE] [--source DIR]
The Slack bot token is read from the SLACK_BOT_TOKEN environment variable, and with
--slack-actors the Slack app's signing secret from SLACK_SIGNING_SECRET.`;

export const TEARDOWN_USAGE = `Usage: npm run teardown -- --project P --region R
  [--billing-account A] [--projects P1,P2] [--dataset D] [--pipelines FILE]
  [--delete-data] [--dry-run]`;

export function deployCli(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, DEPLOY_USAGE, argv, async () => {
    const root = io.root ?? REPOSITORY_ROOT;
    const exec = io.exec ?? spawnExec;
    const options = parseDeployOptions(argv);
    const plan = planDeploy(loadDeployInputs(options, join(root, 'sql')));
    if (options.dryRun) {
      io.err(
        `# Would build (npm run build) and stage the function source into ${options.sourceDir}`,
      );
    } else {
      io.out(`Building the functions (npm run build)`);
      const built = await exec(['npm', 'run', 'build', '--silent'], { capture: false });
      if (built.code !== 0) throw new PlanError(`npm run build exited with ${built.code}`);
      const staged = stageSource(root, join(root, options.sourceDir));
      io.out(
        `Staged ${staged.files} files (${Math.round(staged.bytes / 1024)} KiB) into ${options.sourceDir}`,
      );
    }
    await runPlan(plan, {
      exec,
      env: io.env,
      out: io.out,
      err: io.err,
      dryRun: options.dryRun,
      sleep: io.sleep,
    });
  });
}

export function teardownCli(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, TEARDOWN_USAGE, argv, async () => {
    const options = parseTeardownOptions(argv);
    const pipelines = options.pipelinesFile
      ? loadPipelines(options.pipelinesFile, [...options.projects]).bindings
      : [];
    const sql = migrationFiles(join(io.root ?? REPOSITORY_ROOT, 'sql'));
    const plan = planTeardown({ options, pipelines, sql });
    await runPlan(plan, {
      exec: io.exec ?? spawnExec,
      env: io.env,
      out: io.out,
      err: io.err,
      dryRun: options.dryRun,
      sleep: io.sleep,
    });
  });
}

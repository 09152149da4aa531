/**
 * `npm start`: the whole product on this machine with no Google credentials. Starts the sandbox
 * (one loopback port for every Google API and Slack) with the demo fleet, applies the ledger
 * migration, serves each entry point on its own loopback port through the Functions Framework,
 * plays a short demo on the simulated clock, and keeps serving until interrupted.
 *
 *   npm start                 serve and play the demo
 *   npm start -- --once       play the demo and exit (used by the tests)
 *   npm start -- --no-demo    serve only
 */
import type { Ledger } from '../adapters/bigquery.js';
import { createClients } from '../adapters/clients.js';
import { resolveEndpoints } from '../adapters/endpoints.js';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { commonSettings, readConfig } from '../core/config.js';
import { HOUR_MS, startOfHour } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { repositoryPath } from '../core/repository-path.js';
import { vmKey } from '../core/vm.js';
import { DEMO_BILLING_ACCOUNT, DEMO_BUDGET_ID } from './demos/budget.js';
import { ENTRY_POINTS, type EntryPoint } from '../entry-points.js';
import { runDemoSettings } from './demos/runs.js';
import { loadFleetFixture } from './fleet.js';
import { slackState } from './routes/slack.js';
import { serveTarget, type TargetHandler } from './serve-target.js';
import { startSandbox } from './server.js';
import type { Sandbox } from './sandbox.js';

const args = new Set(process.argv.slice(2));
const host = '127.0.0.1';
const sandboxPort = Number(process.env.COSTGUARD_SANDBOX_PORT ?? 8790);
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** An entry point's handler, built now (as a first invocation would), ready to serve. */
async function buildTarget(entry: EntryPoint, runtime: Runtime): Promise<TargetHandler> {
  return entry.kind === 'http'
    ? { kind: 'http', handler: await entry.load(runtime) }
    : { kind: 'event', handler: await entry.load(runtime) };
}

function localEnv(sandbox: Sandbox): Record<string, string> {
  return {
    ...sandbox.env(),
    ...runDemoSettings(),
    COSTGUARD_BUDGET_POLICY_FILE: repositoryPath('fixtures/policies/budget-default.json'),
    COSTGUARD_BILLING_ACCOUNT: DEMO_BILLING_ACCOUNT,
    COSTGUARD_BUDGET_IDS: DEMO_BUDGET_ID,
    COSTGUARD_LABEL_POLICY_FILE: repositoryPath('fixtures/policies/labels.json'),
    COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines,research-sandbox',
    COSTGUARD_DATASET: 'costguard',
    COSTGUARD_SLACK_CHANNEL: 'C0COSTGUARD',
    SLACK_BOT_TOKEN: 'xoxb-local-sandbox',
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('COSTGUARD_')) as [string, string][],
    ),
  };
}

/** The story of a day and a half on the demo fleet, told on the simulated clock. */
async function playDemo(
  sandbox: Sandbox,
  runtime: Runtime,
  ledger: Ledger,
  urls: ReadonlyMap<string, string>,
): Promise<void> {
  const urlOf = (name: string): string => urls.get(name) ?? '';
  const vmKeys = (status: (s: string) => boolean): string[] =>
    sandbox.fleet
      .live()
      .filter((vm) => status(vm.status))
      .map(vmKey);
  out('── Demo ──────────────────────────────────────────────────────────────────');
  out();
  out('1. recordSpotCosts, hourly: every VM hour priced from the Billing Catalog and recorded');
  const { runRecorderDemo } = await import('./demos/recorder.js');
  await runRecorderDemo({ sandbox, runtime, runs: 3, print: out });
  out();
  out('2. triggerRun: one HTTP call starts a pipeline run; its status and cost follow');
  const { playRunDemo } = await import('./demos/runs.js');
  await playRunDemo({ sandbox, runtime, out, url: urlOf('triggerRun') });
  // Cloud Scheduler's next call records the run's VM hours under its costguard-run label.
  const next = startOfHour(sandbox.clock.now()).getTime() + HOUR_MS + 10 * 60_000;
  sandbox.clock.set(new Date(next));
  const recorded = await fetch(urlOf('recordSpotCosts'), { method: 'POST' });
  const summary = (await recorded.json()) as {
    hoursRecorded?: string[];
    rows?: { written?: number };
  };
  out(
    `  ${new Date(next).toISOString().slice(11, 16)} recordSpotCosts (as Cloud Scheduler calls it) -> ${recorded.status}: hours ${(summary.hoursRecorded ?? []).map((h) => h.slice(11, 16)).join(', ')}, ${summary.rows?.written ?? 0} rows`,
  );
  out();
  out(
    '3. enforceLabels: fix what can be derived, mark violators, stop them after the grace period',
  );
  const { playLabelEnforcementDemo } = await import('./demos/labels.js');
  await playLabelEnforcementDemo(runtime, sandbox, { print: out });
  out();
  out('4. enforceBudget: spend crosses the tiers; the least important Spot VMs stop first');
  const { runBudgetDemo } = await import('./demos/budget.js');
  const seen = new Set(vmKeys((status) => status !== 'RUNNING'));
  for (const step of await runBudgetDemo({ sandbox, runtime })) {
    const stopped = step.stopped.filter((vm) => !seen.has(vm));
    for (const vm of stopped) seen.add(vm);
    const what =
      stopped.length > 0 ? `stopped ${stopped.length}: ${stopped.join(', ')}` : 'nothing stopped';
    out(`  spend ${Math.round(step.spend * 100)}% (${step.costAmount} USD): ${what}`);
  }
  out(
    `  still running: ${vmKeys((status) => status === 'RUNNING').length} VMs (critical, exempt, MIG-managed and higher priority)`,
  );
  out();
  out('5. Looker Studio: what the report views hold now');
  const { previewCostViews } = await import('../../deploy/looker-studio.js');
  await previewCostViews(ledger, out);
  out('  open them on a deployed dataset: npm run looker-studio -- --project PROJECT');
  out();
  const { describeDemoDeploy } = await import('./demos/deploy.js');
  await describeDemoDeploy(out);
  out();
  const slack = slackState(sandbox).messages;
  out(`Slack received ${slack.length} messages; the last ones:`);
  for (const message of slack.slice(-4)) {
    out(`  [${message.postedAt.slice(0, 16)}] ${message.text.split('\n')[0]}`);
  }
  out();
}

async function main(): Promise<void> {
  const fleet = loadFleetFixture(repositoryPath('fixtures/fleets/demo.json'));
  const sandbox = await startSandbox({ fleet, host, port: sandboxPort });
  const env = localEnv(sandbox);
  // The demo narrates what happens; the functions' own JSON log lines are shown on request.
  const logger = createLogger({
    minSeverity: process.env.COSTGUARD_LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR',
  });
  const runtime: Runtime = {
    env,
    clients: createClients(resolveEndpoints(env)),
    logger,
    clock: sandbox.clock,
  };
  const config = readConfig(commonSettings, env);
  const { ledger } = commonAdapters(runtime, config);
  const applied = await ledger.migrate();

  // Each entry point on the next port after the sandbox's (any free port when the sandbox's is 0).
  let port = sandboxPort === 0 ? 0 : sandboxPort + 1;
  const urls = new Map<string, string>();
  for (const entry of ENTRY_POINTS) {
    const served = await serveTarget(
      entry.name,
      await buildTarget(entry, runtime),
      port === 0 ? 0 : port++,
    );
    urls.set(entry.name, served.url);
  }

  const running = sandbox.fleet.live().filter((vm) => vm.status === 'RUNNING');
  out('costguard is running locally on the sandbox (no Google credentials needed)');
  out();
  out(
    `  sandbox                ${sandbox.url}  (Compute, Monitoring, BigQuery on DuckDB, Slack, ...)`,
  );
  out(
    `  fleet                  ${sandbox.fleet.live().length} VMs in ${sandbox.fleet.projects.size} projects, ${running.length} running, simulated time ${sandbox.clock.now().toISOString()}`,
  );
  out(`  ledger                 dataset ${config.dataset}: ${applied.length} tables and views`);
  for (const [name, url] of urls) out(`  ${name.padEnd(22)} ${url}`);
  out();
  out('Look around:');
  out(`  curl -s ${sandbox.url}/_sandbox                     # summary`);
  out(`  curl -s ${sandbox.url}/_sandbox/fleet               # every VM, its status and labels`);
  out(`  curl -s ${sandbox.url}/_sandbox/slack/messages      # what Slack received`);
  out(`  curl -s ${sandbox.url}/_sandbox/calls               # every API call the functions made`);
  out(
    `  curl -s -X POST ${sandbox.url}/_sandbox/clock -H 'content-type: application/json' -d '{"advanceSeconds":3600}'`,
  );
  out();
  out('Run an entry point from the built code against this sandbox instead:');
  out(
    `  npm run build && GCP_EMULATOR_HOST=${sandbox.hostPort} SLACK_API_URL=${sandbox.url}/api/ \\`,
  );
  out(
    `    COSTGUARD_PROJECTS=${env.COSTGUARD_PROJECTS} npx functions-framework --target=recordSpotCosts --port=8080`,
  );
  out();

  if (!args.has('--no-demo')) await playDemo(sandbox, runtime, ledger, urls);

  if (args.has('--once')) {
    await sandbox.close();
    process.exit(0);
  }
  out('Serving; press Ctrl-C to stop.');
  process.on('SIGINT', () => {
    void sandbox.close().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${errorMessage(error)}\n`);
  process.exit(1);
});

/**
 * `npm start`: the whole product on this machine with no Google credentials. Starts the sandbox
 * (one loopback port for every Google API and Slack) with the demo fleet, applies the ledger
 * migration, serves each entry point on its own loopback port through the Functions Framework,
 * plays a short demo on the simulated clock, and keeps serving until interrupted.
 *
 *   npm start                 serve and play the demo
 *   npm start -- --once       play the demo and exit (used by the tests)
 *   npm start -- --no-demo    serve only
 *
 * Ctrl-C, or SIGINT or SIGTERM to npm (which passes them on), closes every server and exits.
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
import { ENTRY_POINTS, type EntryPoint, type EntryPointName } from '../entry-points.js';
import { PREEMPTION_SINK, PREEMPTION_TOPIC, RESUME_JOB } from '../../deploy/resources.js';
import { putSandboxBudget, SANDBOX_BUDGET } from './demos/budget.js';
import { DEMO_AUDIENCE, demoAuthorization, runDemoSettings } from './demos/runs.js';
import { loadFleetFixture } from './fleet.js';
import { DEFAULT_SANDBOX_PORT, entryPointPort, LOCAL_HOST, sandboxPortOf } from './local-ports.js';
import { loggingState } from './routes/logging.js';
import { putTopicJob } from './routes/scheduler.js';
import { SANDBOX_SLACK, slackState } from './routes/slack.js';
import { serveTarget, type TargetHandler } from './serve-target.js';
import { startSandbox } from './server.js';
import type { Sandbox } from './sandbox.js';

export const START_USAGE = `Usage: npm start [-- --once | --no-demo]

Runs costguard on this machine against the sandbox, a loopback stand-in for Google Cloud (no
credentials needed): every entry point served on its own port, the ledger in DuckDB, a demo
fleet, and a short demo played on the simulated clock. Prints how to call each entry point.

  --once       play the demo and exit
  --no-demo    serve only
  --help       this text

COSTGUARD_SANDBOX_PORT (default 8790; 0 for any free ports) places the sandbox; the entry
points take the ports after it. While serving, simulated time runs at COSTGUARD_SANDBOX_PACE
simulated seconds per second (default 60; 0 keeps it still). COSTGUARD_* variables set here
override the local settings.`;

/** Simulated seconds per real second while serving (a remote run of 30 minutes takes 30 s). */
function paceOf(env: NodeJS.ProcessEnv): number {
  const pace = Number(env.COSTGUARD_SANDBOX_PACE ?? '60');
  if (!Number.isFinite(pace) || pace < 0 || pace > 86_400) {
    throw new Error('COSTGUARD_SANDBOX_PACE: simulated seconds per second, from 0 to 86400');
  }
  return pace;
}

const args = new Set(process.argv.slice(2));
const host = LOCAL_HOST;
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
    COSTGUARD_BILLING_ACCOUNT: SANDBOX_BUDGET.billingAccountId,
    COSTGUARD_BUDGET_IDS: SANDBOX_BUDGET.budgetId,
    COSTGUARD_LABEL_POLICY_FILE: repositoryPath('fixtures/policies/labels.json'),
    COSTGUARD_SPOT_CAPS_FILE: repositoryPath('fixtures/policies/spot-caps-demo.json'),
    // The demo is there to show a cap stopping VMs, on the sandbox's fleet only.
    COSTGUARD_SPOT_CAPS_ENFORCE: 'true',
    COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines,research-sandbox',
    COSTGUARD_DATASET: 'costguard',
    COSTGUARD_SLACK_CHANNEL: 'C0COSTGUARD',
    SLACK_BOT_TOKEN: 'xoxb-local-sandbox',
    // The sandbox workspace's Slack app: its signing secret, and the on-call user group whose
    // members may act on costguard's messages.
    SLACK_SIGNING_SECRET: SANDBOX_SLACK.signingSecret,
    COSTGUARD_SLACK_ACTOR_GROUPS: SANDBOX_SLACK.actorGroup,
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
  urls: ReadonlyMap<EntryPointName, string>,
): Promise<void> {
  const urlOf = (name: EntryPointName): string => urls.get(name) ?? '';
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
  out(
    '  A run of the same pipeline, preempted and resumed (recordPreemption and the resume tick):',
  );
  const { playPreemptionDemo, showPreemptionViews } = await import('./demos/preemptions.js');
  const preemptedRun = await playPreemptionDemo({
    sandbox,
    ledger,
    url: urlOf('triggerRun'),
    out,
  });
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
  await showPreemptionViews(ledger, preemptedRun, out);
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
  out(
    '5. enforceSpotCap, every 10 minutes: a Spot cap acts within minutes of the crossing, from the ledger and the live fleet',
  );
  const { playCapDemo } = await import('./demos/caps.js');
  await playCapDemo({ sandbox, url: urlOf('enforceSpotCap'), print: out });
  out();
  out('6. Looker Studio: what the report views hold now');
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

/** A copy-pasteable command for each entry point, as its trigger would call it. */
function callCommands(sandbox: Sandbox, urls: ReadonlyMap<EntryPointName, string>): string[] {
  const url = (name: EntryPointName): string => urls.get(name) ?? '';
  const json = "-H 'content-type: application/json'";
  const invoker = `-H 'authorization: ${demoAuthorization()}'`;
  const budgetAlert =
    sandboxPortOf(process.env) === DEFAULT_SANDBOX_PORT
      ? 'npm run budget-alert -- --percent 105'
      : `npm run budget-alert -- --sandbox ${sandbox.url} --url ${url('enforceBudget')} --percent 105`;
  const enforcing = process.env.COSTGUARD_BUDGET_ENFORCE === 'true';
  return [
    `# recordSpotCosts: record the closed hours (as Cloud Scheduler does every hour)`,
    `curl -s -X POST ${url('recordSpotCosts')}`,
    `# enforceBudget: a budget alert at 105% of "${SANDBOX_BUDGET.displayName}" (${SANDBOX_BUDGET.amount} USD), pushed as Pub/Sub does;`,
    enforcing
      ? '# VMs stop (COSTGUARD_BUDGET_ENFORCE=true)'
      : '# a dry run: start with COSTGUARD_BUDGET_ENFORCE=true npm start to stop VMs',
    budgetAlert,
    `# enforceLabels: sweep every VM against the label policy`,
    `curl -s -X POST ${url('enforceLabels')} ${json} -d '{}'`,
    `# enforceLabelsOnCreate: a VM is created, then its audit log entry arrives`,
    `curl -s -X POST ${sandbox.url}/_sandbox/compute/instances ${json} -d @fixtures/sandbox/new-vm.json`,
    `curl -s -X POST ${url('enforceLabelsOnCreate')} -H 'content-type: application/cloudevents+json' -d @fixtures/audit/insert-v1-last.json`,
    `# triggerRun: start a run, follow it, list runs as the demo pipelines' invoker (a token as`,
    `# Cloud Run forwards it); the API is described at /openapi.json`,
    `curl -s -X POST ${url('triggerRun')}runs ${json} ${invoker} -d '{"pipeline":"nightly-categories","target":"all"}'`,
    `curl -s ${url('triggerRun')}runs/RUN_ID ${invoker}`,
    `curl -s ${url('triggerRun')}runs ${invoker}`,
    `curl -s ${url('triggerRun')}openapi.json ${invoker}`,
    `# costguard run: package this checkout, run its target on the batch VM, follow the console,`,
    `# bring the results into data/remote_results/RUN_ID (see bin/costguard --help)`,
    `STORAGE_EMULATOR_HOST=${sandbox.hostPort} COSTGUARD_ID_TOKEN='${demoAuthorization()}' \\`,
    `  bin/costguard run --url ${url('triggerRun')} --audience ${DEMO_AUDIENCE} \\`,
    `  --pipeline nightly-categories --target all --bucket costguard-batch-results --poll-seconds 2`,
    `# recordPreemption: Compute preempts a Spot VM (30 s notice on the simulated clock); its system`,
    `# event reaches recordPreemption through the Logging sink and lands in the preemptions table`,
    `curl -s -X POST ${sandbox.url}/_sandbox/compute/preempt ${json} -d '{"project":"data-pipelines","zone":"us-east1-b","name":"etl-nightly-exempt"}'`,
    `curl -s -X POST ${sandbox.url}/_sandbox/clock ${json} -d '{"advanceSeconds":30}'`,
    `curl -s ${sandbox.url}/_sandbox/logging/deliveries`,
    `# enforceSpotCap: a GPU Spot VM joins the research sweep (cost_center=cc-300, cap`,
    `# research-sweeps-daily: 8 USD a day); five simulated hours on, the 10-minute check finds the`,
    `# cap crossed and stops the sweep's low-priority VMs`,
    `curl -s -X POST ${sandbox.url}/_sandbox/compute/instances ${json} -d @fixtures/sandbox/cap-sweep-vm.json`,
    `curl -s -X POST ${sandbox.url}/_sandbox/clock ${json} -d '{"advanceSeconds":18000}'`,
    `curl -s -X POST ${url('enforceSpotCap')}`,
    `# slackActions: a click on "Restart what was stopped" of the last tier message, as the sandbox's`,
    `# Slack app sends it to slackActions; first forged (a wrong signing secret: 401, nothing changes),`,
    `# then signed by the on-call user: the VMs that tier stopped start again and the message says who`,
    `curl -s -X POST ${sandbox.url}/_sandbox/slack/click ${json} -d '{"actionId":"costguard_restart","user":"${SANDBOX_SLACK.actor}","forge":true}'`,
    `curl -s -X POST ${sandbox.url}/_sandbox/slack/click ${json} -d '{"actionId":"costguard_restart","user":"${SANDBOX_SLACK.actor}"}'`,
  ];
}

async function main(): Promise<void> {
  if (args.has('--help')) {
    out(START_USAGE);
    return;
  }
  const sandboxPort = sandboxPortOf(process.env);
  const pace = paceOf(process.env);
  const fleet = loadFleetFixture(repositoryPath('fixtures/fleets/demo.json'));
  const sandbox = await startSandbox({ fleet, host, port: sandboxPort });
  const servers: { close(): Promise<void> }[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (code: number): Promise<void> => {
    stopping ??= Promise.allSettled([...servers.map((s) => s.close()), sandbox.close()]).then(() =>
      process.exit(code),
    );
    return stopping;
  };
  // npm passes SIGINT and SIGTERM on to this process (the script execs node); both stop it all.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(0));
  }
  putSandboxBudget(sandbox);
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

  const urls = new Map<EntryPointName, string>();
  for (const entry of ENTRY_POINTS) {
    const served = await serveTarget(
      entry.name,
      await buildTarget(entry, runtime),
      entryPointPort(sandboxPort, entry.name),
    );
    servers.push(served);
    urls.set(entry.name, served.url);
  }
  // The sandbox's Slack app sends clicks on costguard's buttons to slackActions.
  slackState(sandbox).app.interactivityUrl = urls.get('slackActions');

  // As deploy's Logging sink and the topic's push subscription do: preemptions to recordPreemption,
  // and deploy's resume tick on the same topic, every 5 simulated minutes.
  loggingState(sandbox).sinks.set(PREEMPTION_SINK, {
    pushEndpoint: urls.get('recordPreemption') ?? '',
    topic: PREEMPTION_TOPIC,
  });
  putTopicJob(sandbox, {
    name: RESUME_JOB.name,
    project: config.projects[0] as string,
    topic: PREEMPTION_TOPIC,
    everySeconds: 300,
    data: RESUME_JOB.message,
  });

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
  out(
    `  budget                 ${SANDBOX_BUDGET.displayName}: ${SANDBOX_BUDGET.amount} USD a month over the fleet's projects (budget ${SANDBOX_BUDGET.budgetId})`,
  );
  for (const [name, url] of urls) out(`  ${name.padEnd(22)} ${url}`);
  out();
  out('Call the entry points (from the repository folder):');
  for (const line of callCommands(sandbox, urls)) out(`  ${line}`);
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
    await stop(0);
    return;
  }
  if (pace > 0) {
    setInterval(() => sandbox.clock.advance(pace * 1000), 1000).unref();
    out(`Simulated time now runs at ${pace}x (COSTGUARD_SANDBOX_PACE).`);
  }
  out('Serving; press Ctrl-C to stop.');
}

main().catch((error: unknown) => {
  process.stderr.write(`${errorMessage(error)}\n`);
  process.exit(1);
});

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
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createClients } from '../adapters/clients.js';
import { resolveEndpoints } from '../adapters/endpoints.js';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { commonSettings, readConfig } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { loadFleetFixture } from './fleet.js';
import { startSandbox } from './server.js';
import type { Sandbox } from './sandbox.js';

const args = new Set(process.argv.slice(2));
const host = '127.0.0.1';
const sandboxPort = Number(process.env.COSTGUARD_SANDBOX_PORT ?? 8790);
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** An entry point served locally: its target name, how it is built, and where it listens. */
interface LocalTarget {
  name: string;
  kind: 'http' | 'event';
  build(runtime: Runtime): Promise<functions.HttpFunction | functions.CloudEventFunction>;
  url?: string;
}

const localTargets: LocalTarget[] = [];

async function serve(target: LocalTarget, runtime: Runtime, port: number): Promise<void> {
  const handler = await target.build(runtime);
  if (target.kind === 'http') functions.http(target.name, handler as functions.HttpFunction);
  else functions.cloudEvent(target.name, handler as functions.CloudEventFunction);
  const server = getTestServer(target.name);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  target.url = `http://${host}:${(server.address() as AddressInfo).port}/`;
}

function localEnv(sandbox: Sandbox): Record<string, string> {
  return {
    ...sandbox.env(),
    COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines,research-sandbox',
    COSTGUARD_DATASET: 'costguard',
    COSTGUARD_SLACK_CHANNEL: 'C0COSTGUARD',
    SLACK_BOT_TOKEN: 'xoxb-local-sandbox',
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('COSTGUARD_')) as [string, string][],
    ),
  };
}

async function main(): Promise<void> {
  const fleet = loadFleetFixture(
    new URL('../../fixtures/fleets/demo.json', import.meta.url).pathname,
  );
  const sandbox = await startSandbox({ fleet, host, port: sandboxPort });
  const env = localEnv(sandbox);
  const logger = createLogger({
    minSeverity: process.env.COSTGUARD_LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARNING',
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

  let port = sandboxPort + 1;
  for (const target of localTargets) await serve(target, runtime, port++);

  const running = sandbox.fleet.live().filter((vm) => vm.status === 'RUNNING');
  out('costguard is running locally on the sandbox (no Google credentials needed)');
  out();
  out(`  sandbox        ${sandbox.url}  (Compute, Monitoring, BigQuery on DuckDB, Slack, ...)`);
  out(
    `  fleet          ${sandbox.fleet.live().length} VMs in ${sandbox.fleet.projects.size} projects, ${running.length} running, simulated time ${sandbox.clock.now().toISOString()}`,
  );
  out(`  ledger         dataset ${config.dataset}: ${applied.length} tables and views`);
  for (const target of localTargets) out(`  ${target.name.padEnd(14)} ${target.url ?? ''}`);
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
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

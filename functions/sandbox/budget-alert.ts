/**
 * `npm run budget-alert -- --percent N`: sends the running `npm start` a budget alert for the
 * sandbox's budget, as Cloud Billing publishes it and Pub/Sub pushes it to enforceBudget, and
 * reports what enforceBudget did (VMs stopped, the Slack message).
 */
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { errorMessage } from '../core/errors.js';
import { budgetPubsubMessage } from './demos/budget-notifications.js';
import { SANDBOX_BUDGET } from './demos/budget.js';
import { entryPointPort, localUrl, sandboxPortOf } from './local-ports.js';

export const BUDGET_ALERT_USAGE = `Usage: npm run budget-alert -- --percent N [--forecast N] [--print]
  [--sandbox URL] [--url URL]

Sends the running \`npm start\` a budget alert: the Pub/Sub push body of a Cloud Billing
notification for the sandbox's budget "${SANDBOX_BUDGET.displayName}" (${SANDBOX_BUDGET.amount} USD a month,
billing account ${SANDBOX_BUDGET.billingAccountId}, budget ${SANDBOX_BUDGET.budgetId}),
with spend at N percent of it, at the sandbox's simulated time.

  --percent N     spend so far, in percent of the budget (e.g. 85, 102, 115)
  --forecast N    also say the forecast crosses N percent (forecastThresholdExceeded)
  --print         print the push body and send nothing (to send it yourself with curl)
  --sandbox URL   the sandbox (default http://127.0.0.1:8790, or COSTGUARD_SANDBOX_PORT)
  --url URL       enforceBudget (default: the port npm start gives it after the sandbox's)
  --help          this text`;

const BUDGET_TOPIC = 'projects/costguard-ops/topics/budget-alerts';
const BUDGET_SUBSCRIPTION = 'projects/costguard-ops/subscriptions/budget-alerts-enforce-budget';

export interface BudgetAlertOptions {
  readonly percent: number;
  readonly forecast: number | undefined;
  readonly print: boolean;
  readonly sandboxUrl: string;
  readonly enforceBudgetUrl: string;
}

function percentOf(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 10_000) {
    throw new Error(`${flag} must be a number of percent from 0 to 10000, not '${text}'`);
  }
  return value;
}

export function parseBudgetAlertArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): BudgetAlertOptions | 'help' {
  const { values } = parseArgs({
    args: [...args],
    options: {
      percent: { type: 'string' },
      forecast: { type: 'string' },
      print: { type: 'boolean', default: false },
      sandbox: { type: 'string' },
      url: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (values.percent === undefined) throw new Error('--percent is required');
  const port = sandboxPortOf(env);
  const sandboxUrl = (values.sandbox ?? localUrl(port)).replace(/\/+$/, '');
  if (values.url === undefined && port === 0) {
    throw new Error('with COSTGUARD_SANDBOX_PORT=0, give --sandbox and --url as npm start printed');
  }
  return {
    percent: percentOf('--percent', values.percent),
    forecast: values.forecast === undefined ? undefined : percentOf('--forecast', values.forecast),
    print: values.print,
    sandboxUrl,
    enforceBudgetUrl: values.url ?? localUrl(entryPointPort(port, 'enforceBudget')),
  };
}

/** The push body Pub/Sub sends a push subscription, for the sandbox budget at `percent`. */
export function budgetAlertPushBody(
  percent: number,
  at: Date,
  forecast?: number,
): Record<string, unknown> {
  const message = budgetPubsubMessage({
    ...SANDBOX_BUDGET,
    budgetDisplayName: SANDBOX_BUDGET.displayName,
    budgetAmount: SANDBOX_BUDGET.amount,
    costAmount: Math.round(SANDBOX_BUDGET.amount * percent) / 100,
    publishTime: at.toISOString(),
    ...(forecast !== undefined ? { forecastThresholdExceeded: forecast / 100 } : {}),
    // Each alert is a new message; a repeated one would be a duplicate delivery.
    messageId: String(randomInt(1, 2 ** 47)),
  });
  return { message, subscription: BUDGET_SUBSCRIPTION };
}

interface FleetVm {
  project: string;
  zone: string;
  name: string;
  status: string;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return (await response.json()) as T;
}

async function runningVms(sandboxUrl: string): Promise<Set<string>> {
  const fleet = await getJson<{ instances: FleetVm[] }>(`${sandboxUrl}/_sandbox/fleet`);
  return new Set(
    fleet.instances
      .filter((vm) => vm.status === 'RUNNING')
      .map((vm) => `${vm.project}/${vm.zone}/${vm.name}`),
  );
}

export async function sendBudgetAlert(
  options: BudgetAlertOptions,
  out: (line: string) => void,
): Promise<number> {
  const { now } = await getJson<{ now: string }>(`${options.sandboxUrl}/_sandbox`);
  const body = budgetAlertPushBody(options.percent, new Date(now), options.forecast);
  if (options.print) {
    out(JSON.stringify(body, null, 2));
    return 200;
  }
  const before = await runningVms(options.sandboxUrl);
  const { slackMessages } = await getJson<{ slackMessages: number }>(
    `${options.sandboxUrl}/_sandbox`,
  );
  // The Functions Framework reads the topic from the push endpoint's path, as deployed.
  const endpoint = `${options.enforceBudgetUrl.replace(/\/+$/, '')}/${BUDGET_TOPIC}`;
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  out(
    `budget alert at ${options.percent}% (${(SANDBOX_BUDGET.amount * options.percent) / 100} of ${SANDBOX_BUDGET.amount} USD, simulated time ${now}) -> enforceBudget ${response.status}`,
  );
  const after = await runningVms(options.sandboxUrl);
  const stopped = [...before].filter((vm) => !after.has(vm));
  out(stopped.length > 0 ? `stopped ${stopped.length}: ${stopped.join(', ')}` : 'no VM stopped');
  const messages = await getJson<{ messages: { text: string }[] }>(
    `${options.sandboxUrl}/_sandbox/slack/messages`,
  );
  for (const message of messages.messages.slice(slackMessages)) {
    out(`Slack: ${message.text.split('\n')[0] ?? ''}`);
  }
  return response.status;
}

async function main(): Promise<void> {
  let options: BudgetAlertOptions | 'help';
  try {
    options = parseBudgetAlertArgs(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`budget-alert: ${errorMessage(error)}\n${BUDGET_ALERT_USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${BUDGET_ALERT_USAGE}\n`);
    return;
  }
  const status = await sendBudgetAlert(options, (line) => process.stdout.write(`${line}\n`));
  if (status >= 300) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `budget-alert: ${errorMessage(error)} (is npm start running? see --help)\n`,
    );
    process.exit(1);
  });
}

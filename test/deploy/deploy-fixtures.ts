// Shared by the deploy tests: options on the command line as a user types them, the inputs
// they load from fixtures/deploy, and every command a plan can run (probes and the commands
// each probe answer chooses included).
import type { DeployInputs } from '../../deploy/function-settings.js';
import { loadDeployInputs } from '../../deploy/load-inputs.js';
import { parseDeployOptions } from '../../deploy/options.js';
import type { Command, Plan, ProbeOutcome } from '../../deploy/plan.js';
import { FIXTURES as ALL_FIXTURES, ROOT } from '../support/fixtures.js';

export { ROOT };
export const FIXTURES = `${ALL_FIXTURES}deploy`;
export const FIXTURE_SQL = `${FIXTURES}/sql`;

export const HOST = 'ops-costguard';
export const REGION = 'us-central1';
export const ACCOUNT = '012345-6789AB-CDEF01';
export const BASE_ARGS = ['--project', HOST, '--region', REGION, '--billing-account', ACCOUNT];
export const TOKEN = 'xoxb-000000000000-fixture-token-not-real';

export function deployInputs(extra: string[] = [], sqlRoot = FIXTURE_SQL): DeployInputs {
  return loadDeployInputs(parseDeployOptions([...BASE_ARGS, ...extra]), sqlRoot);
}

/** The full-featured deploy: two governed projects, policies, pipelines, Slack, a budget. */
export const FULL_ARGS = [
  '--projects',
  'ml-train-prod,ml-batch-prod',
  '--budget-amount',
  '750',
  '--slack-channel',
  'C0123456789',
  '--budget-policy',
  `${FIXTURES}/budget-policy.json`,
  '--label-policy',
  `${FIXTURES}/label-policy.json`,
  '--spot-alerts',
  `${FIXTURES}/spot-alerts.json`,
  '--spot-caps',
  `${FIXTURES}/spot-caps.json`,
  '--pipelines',
  `${FIXTURES}/pipelines.json`,
  '--run-invoker',
  'group:ml-platform@example.com',
];

const SAMPLE_POLICY = JSON.stringify({
  bindings: [
    {
      role: `projects/${HOST}/roles/costguardRecorder`,
      members: [`serviceAccount:costguard-recorder@${HOST}.iam.gserviceaccount.com`],
    },
    {
      role: 'roles/bigquery.jobUser',
      members: [`serviceAccount:costguard-budget@${HOST}.iam.gserviceaccount.com`],
    },
  ],
});

/** Answers a probe can get, from "nothing there" to the shapes each describe prints. */
export const PROBE_ANSWERS: ProbeOutcome[] = [
  { ok: false, stdout: '' },
  { ok: true, stdout: '' },
  { ok: true, stdout: 'True\n' },
  { ok: true, stdout: `billingAccounts/${ACCOUNT}/budgets/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n` },
  { ok: true, stdout: 'batch-runner@ml-batch-prod.iam.gserviceaccount.com\n' },
  { ok: true, stdout: SAMPLE_POLICY },
  { ok: true, stdout: TOKEN },
  { ok: true, stdout: 'projects/271828182845/secrets/costguard-slack-bot-token/versions/3\n' },
];

/** Every combination of answers to a probe's `more` commands. */
function moreAnswers(count: number): ProbeOutcome[][] {
  if (count === 0) return [[]];
  return moreAnswers(count - 1).flatMap((rest) => PROBE_ANSWERS.map((a) => [a, ...rest]));
}

/** Every command of a plan: what dry-run prints, each probe, and everything a probe can choose. */
export function everyCommand(plan: Plan): Command[] {
  const commands: Command[] = [];
  for (const step of plan.steps) {
    commands.push(...step.commands);
    if (!step.probe) continue;
    commands.push({ argv: step.probe.argv });
    for (const argv of step.probe.more ?? []) commands.push({ argv });
    for (const answer of PROBE_ANSWERS) {
      for (const more of moreAnswers(step.probe.more?.length ?? 0)) {
        for (const env of [{ SLACK_BOT_TOKEN: TOKEN }, { SLACK_BOT_TOKEN: 'xoxb-other' }]) {
          try {
            commands.push(...step.probe.choose(answer, env, more));
          } catch {
            // A refusal (e.g. no token and no stored secret) is tested on its own.
          }
        }
      }
    }
  }
  return commands;
}

/** `--set-env-vars=^D^K=V D K=V` back into a map. */
export function envVarsOf(argv: readonly string[]): Record<string, string> {
  const flag = argv.find((a) => a.startsWith('--set-env-vars='));
  if (!flag) throw new Error('no --set-env-vars');
  const match = /^--set-env-vars=\^([^^]+)\^(.*)$/s.exec(flag);
  if (!match) throw new Error(`not an escaped list: ${flag}`);
  const [, delimiter, body] = match as unknown as [string, string, string];
  return Object.fromEntries(
    body.split(delimiter).map((item) => {
      const at = item.indexOf('=');
      return [item.slice(0, at), item.slice(at + 1)];
    }),
  );
}

export function flagValue(argv: readonly string[], flag: string): string | undefined {
  return argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

export function flagValues(argv: readonly string[], flag: string): string[] {
  return argv.filter((a) => a.startsWith(`${flag}=`)).map((a) => a.slice(flag.length + 1));
}

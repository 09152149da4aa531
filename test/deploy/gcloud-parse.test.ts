import { migrationFiles } from '../../functions/adapters/bigquery.js';
import { describe, expect, it } from 'vitest';
import { loadPipelines } from '../../deploy/load-inputs.js';
import { parseTeardownOptions } from '../../deploy/options.js';
import { planDeploy } from '../../deploy/plan-deploy.js';
import { planTeardown } from '../../deploy/plan-teardown.js';
import { formatCommand, type Command } from '../../deploy/plan.js';
import {
  bqEnv,
  bqScript,
  gcloudPath,
  isAuthError,
  isolatedEnv,
  isParseError,
  parseCheck,
  parseCheckAll,
  parseCheckGcloudBatch,
} from './cli-parsing.js';
import {
  ACCOUNT,
  deployInputs,
  everyCommand,
  FIXTURES,
  FULL_ARGS,
  HOST,
  REGION,
  ROOT,
} from './deploy-fixtures.js';

// gcloud parses a command by its command path, its flags and the values of typed flags; values
// that only name things (who, which role, which resource) and positional names parse alike.
// Commands that differ only in those are checked once. gcloud's commands all run in one process
// (gcloud-batch.py), bq's each in its own, which keeps the whole check within seconds of CPU.
const NAMING_FLAGS =
  /^--(member|role|display-name|title|description|permissions|project|project_id|zone|region|location|billing-account|filter|format|secret|service-account|destination-run-service|destination-run-region|oidc-service-account-email|trigger-service-account|uri|oidc-token-audience|source|entry-point|schedule|filter-projects|notifications-rule-pubsub-topic)=/;

const VERBS = new Set([
  'create',
  'describe',
  'update',
  'undelete',
  'delete',
  'deploy',
  'enable',
  'list',
  'add',
  'access',
  'add-iam-policy-binding',
  'remove-iam-policy-binding',
  'get-iam-policy',
  'add-invoker-policy-binding',
  'mk',
  'show',
  'query',
  'rm',
]);

function shape(command: Command): string {
  const verb = command.argv.findIndex((w) => VERBS.has(w));
  return command.argv
    .map((w, i) => {
      if (NAMING_FLAGS.test(w)) return w.replace(/=.*/s, '=*');
      // Settings values are opaque to gcloud once the list is split (envVarsFlag is unit-tested).
      if (w.startsWith('--set-env-vars=')) return w.replace(/=[^|;#~!%]*/g, '=*');
      return verb !== -1 && i > verb && !w.startsWith('-') ? '*' : w;
    })
    .join('\u0000');
}

function allCommands(): Command[] {
  const teardownArgs = ['--project', HOST, '--region', REGION];
  const pipelines = loadPipelines(`${FIXTURES}/pipelines.json`, [
    'ml-train-prod',
    'ml-batch-prod',
  ]).bindings;
  const plans = [
    planDeploy(deployInputs()),
    planDeploy(deployInputs(['--enforce', '--budget-amount', '500', '--slack-channel', 'C0123'])),
    planDeploy(deployInputs([...FULL_ARGS, '--enforce'], `${ROOT}sql`)),
    planTeardown({
      options: parseTeardownOptions(teardownArgs),
      pipelines: [],
      sql: migrationFiles(`${ROOT}sql`),
    }),
    planTeardown({
      options: parseTeardownOptions([
        ...teardownArgs,
        '--billing-account',
        ACCOUNT,
        '--projects',
        'ml-train-prod,ml-batch-prod',
        '--delete-data',
      ]),
      pipelines,
    }),
  ];
  const unique = new Map<string, Command>();
  for (const plan of plans) for (const c of everyCommand(plan)) unique.set(shape(c), c);
  return [...unique.values()];
}

const bqAvailable = bqScript() !== undefined;
if (!gcloudPath) console.log('gcloud is not installed: the gcloud parse checks are skipped');
if (!bqAvailable)
  console.log('bq (with its bq.py) is not installed: the bq parse checks are skipped');

describe('every generated command, fed to the real CLI with no credentials', () => {
  const commands = allCommands();

  it('covers deploy, update paths and teardown', () => {
    console.log(`${commands.length} distinct command shapes to check`);
    const verbs = new Set(commands.map((c) => c.argv.slice(1, 4).join(' ')));
    for (const verb of [
      'functions deploy',
      'billing budgets update',
      'iam roles undelete',
      'scheduler jobs update',
      'functions delete',
      'projects remove-iam-policy-binding',
    ]) {
      expect([...verbs].some((v) => v.startsWith(verb))).toBe(true);
    }
  });

  it.skipIf(!gcloudPath)(
    'fails only on authentication for every gcloud command, never on parsing',
    async () => {
      const env = isolatedEnv();
      const gcloud = commands.filter((c) => c.argv[0] === 'gcloud');
      const outcomes = await parseCheckAll(gcloud, env);

      const misparsed = outcomes
        .filter(isParseError)
        .map((o) => `${formatCommand(o.command)}\n  ${o.stderr.trim()}`);
      expect(misparsed).toEqual([]);
      const unexplained = outcomes
        .filter((o) => !isAuthError(o))
        .map((o) => `${formatCommand(o.command)}\n  ${o.stderr.trim()}`);
      expect(unexplained).toEqual([]);
    },
    180_000,
  );

  it.skipIf(!bqAvailable)(
    'fails only on authentication for every bq command, never on parsing',
    async () => {
      const env = bqEnv();
      const bq = commands.filter((c) => c.argv[0] === 'bq');
      const outcomes = await parseCheckAll(bq, env);

      expect(
        outcomes
          .filter(isParseError)
          .map((o) => `${formatCommand(o.command)}\n  ${o.stderr.trim()}`),
      ).toEqual([]);
      expect(outcomes.filter((o) => !isAuthError(o)).map((o) => o.stderr.trim())).toEqual([]);
    },
    120_000,
  );

  it.skipIf(!gcloudPath)(
    'tells a parse error from an authentication error, in-process as gcloud itself does',
    async () => {
      const env = isolatedEnv();
      const bad: Command = {
        argv: ['gcloud', 'functions', 'deploy', 'x', '--gen2', '--no-such-flag'],
      };
      const good: Command = {
        argv: ['gcloud', 'pubsub', 'topics', 'describe', 'x', '--project=my-project-1'],
      };
      const [real, batched] = await Promise.all([
        Promise.all([parseCheck(bad, env), parseCheck(good, env)]),
        parseCheckGcloudBatch([bad, good], env),
      ]);

      for (const [badOutcome, goodOutcome] of [real, batched]) {
        expect(isParseError(badOutcome!)).toBe(true);
        expect(isParseError(goodOutcome!)).toBe(false);
        expect(isAuthError(goodOutcome!)).toBe(true);
      }
      expect(batched.map((o) => o.code)).toEqual(real.map((o) => o.code));
      expect(batched.map((o) => o.stderr.split('\n')[0])).toEqual(
        real.map((o) => o.stderr.split('\n')[0]),
      );
    },
  );
});

import { describe, expect, it } from 'vitest';
import { planDeploy, SINK_WRITER_PLACEHOLDER } from '../../deploy/plan-deploy.js';
import { formatCommand, type Plan } from '../../deploy/plan.js';
import { PlanError, runPlan, type Exec, type ExecRequest } from '../../deploy/run-plan.js';
import { BUDGET_ID_PLACEHOLDER } from '../../deploy/function-settings.js';
import { ACCOUNT, deployInputs, envVarsOf, HOST, TOKEN } from './deploy-fixtures.js';

interface Call {
  argv: readonly string[];
  request: ExecRequest;
}

/** The id Cloud Billing gives the budget a fresh deploy creates. */
const CREATED_BUDGET = 'c0ffee00-0000-4000-8000-000000000001';
/** The writer identity Cloud Logging gives the preemption sink a fresh deploy creates. */
const SINK_WRITER = 'serviceAccount:service-123456789012@gcp-sa-logging.iam.gserviceaccount.com';

/** The secret versions of the Slack token: the first a fresh deploy adds, one from before. */
const versionName = (n: number) =>
  `projects/271828182845/secrets/costguard-slack-bot-token/versions/${n}\n`;

/**
 * A stand-in for gcloud and bq: probes find nothing (a fresh project) or everything (a project
 * deployed before), and actions succeed unless `failures` says otherwise. A budget created and
 * a token stored on a fresh project are found by later probes, as Google Cloud would list them.
 */
function fakeCloud(options: { deployed: boolean; failures?: Map<string, number> }) {
  const calls: Call[] = [];
  let budgetCreated = false;
  let tokenStored = false;
  let sinkCreated = false;
  const exec: Exec = (argv, request) => {
    calls.push({ argv, request });
    const text = argv.join(' ');
    if (!request.capture && text.includes('billing budgets create')) budgetCreated = true;
    if (!request.capture && text.includes('secrets versions add')) tokenStored = true;
    if (!request.capture && text.includes('logging sinks create')) sinkCreated = true;
    if (request.capture && sinkCreated && text.includes('logging sinks describe')) {
      return Promise.resolve({ code: 0, stdout: `${SINK_WRITER}\n` });
    }
    if (request.capture && !options.deployed && budgetCreated && text.includes('budgets list')) {
      return Promise.resolve({
        code: 0,
        stdout: `billingAccounts/${ACCOUNT}/budgets/${CREATED_BUDGET}\n`,
      });
    }
    if (request.capture && !options.deployed && tokenStored && text.includes('versions list')) {
      return Promise.resolve({ code: 0, stdout: versionName(1) });
    }
    if (request.capture) {
      if (!options.deployed) return Promise.resolve({ code: 1, stdout: '' });
      const stdout = text.includes('budgets list')
        ? `billingAccounts/${ACCOUNT}/budgets/b-1\n`
        : text.includes('versions access')
          ? TOKEN
          : text.includes('versions list')
            ? versionName(4)
            : text.includes('roles describe')
              ? '\n'
              : 'found\n';
      return Promise.resolve({ code: 0, stdout });
    }
    const key = argv.slice(0, 4).join(' ');
    const left = options.failures?.get(key) ?? 0;
    if (left > 0) {
      options.failures?.set(key, left - 1);
      return Promise.resolve({ code: 1, stdout: '' });
    }
    return Promise.resolve({ code: 0, stdout: '' });
  };
  return { exec, calls, actions: () => calls.filter((c) => !c.request.capture) };
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  return {
    out,
    err,
    sleeps,
    options: {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      sleep: (ms: number) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
  };
}

const slackPlan = (): Plan => planDeploy(deployInputs(['--slack-channel', 'C0123']));

describe('running a deploy plan', () => {
  it('on a fresh project runs exactly the commands dry-run prints, in order', async () => {
    // Prepare
    const plan = slackPlan();
    const cloud = fakeCloud({ deployed: false });
    const printed = io();
    await runPlan(plan, { exec: cloud.exec, env: {}, dryRun: true, ...printed.options });

    // Act
    const ran = io();
    await runPlan(plan, {
      exec: cloud.exec,
      env: { SLACK_BOT_TOKEN: TOKEN },
      dryRun: false,
      ...ran.options,
    });

    // Assess: enforceBudget is told the id of the budget created a few steps before, and every
    // function mounts the token's first version, stored a few steps before.
    expect(cloud.actions().map((c) => formatCommand({ argv: c.argv }))).toEqual(
      printed.out.map((line) =>
        line
          .replace(BUDGET_ID_PLACEHOLDER, CREATED_BUDGET)
          .replace(SINK_WRITER_PLACEHOLDER, SINK_WRITER),
      ),
    );
    const budgetDeploy = cloud
      .actions()
      .find((c) => c.argv.includes('costguard-enforce-budget') && c.argv.includes('deploy'));
    expect(envVarsOf(budgetDeploy?.argv ?? [])).toMatchObject({
      COSTGUARD_BILLING_ACCOUNT: ACCOUNT,
      COSTGUARD_BUDGET_IDS: CREATED_BUDGET,
    });
    expect(ran.out.at(-1)).toContain('npm run teardown');
  });

  it('on a project deployed before creates nothing again and updates in place', async () => {
    const cloud = fakeCloud({ deployed: true });

    const report = await runPlan(slackPlan(), {
      exec: cloud.exec,
      env: { SLACK_BOT_TOKEN: TOKEN },
      dryRun: false,
      ...io().options,
    });

    const actions = cloud.actions().map((c) => c.argv.slice(1, 4).join(' '));
    expect(actions.filter((a) => / create|undelete|versions add/.test(a))).toEqual([]);
    expect(actions).toEqual(
      expect.arrayContaining([
        'iam roles update',
        'billing budgets update',
        'scheduler jobs update',
        'eventarc triggers update',
        'functions deploy costguard-record-spot-costs',
      ]),
    );
    // The token unchanged: no new version, and every function mounts the stored one.
    const mounts = cloud
      .actions()
      .filter((c) => c.argv.includes('deploy'))
      .map((c) => c.argv.find((a) => a.startsWith('--set-secrets=')));
    expect(new Set(mounts)).toEqual(
      new Set(['--set-secrets=SLACK_BOT_TOKEN=costguard-slack-bot-token:4']),
    );
    expect(report.skipped).toBeGreaterThan(0);
  });

  it('sends the Slack token on stdin only, and prints it nowhere', async () => {
    const cloud = fakeCloud({ deployed: false });
    const printed = io();

    await runPlan(slackPlan(), {
      exec: cloud.exec,
      env: { SLACK_BOT_TOKEN: TOKEN },
      dryRun: false,
      ...printed.options,
    });

    const withStdin = cloud.calls.filter((c) => c.request.stdin !== undefined);
    expect(withStdin.map((c) => [c.argv.slice(1, 4).join(' '), c.request.stdin])).toEqual([
      ['secrets versions add', TOKEN],
    ]);
    expect(cloud.calls.some((c) => c.argv.some((w) => w.includes(TOKEN)))).toBe(false);
    expect([...printed.out, ...printed.err].some((l) => l.includes(TOKEN))).toBe(false);
  });

  it('tries an IAM binding again while a new service account propagates', async () => {
    const failures = new Map([['gcloud projects add-iam-policy-binding ' + HOST, 2]]);
    const cloud = fakeCloud({ deployed: false, failures });
    const printed = io();

    await runPlan(slackPlan(), {
      exec: cloud.exec,
      env: { SLACK_BOT_TOKEN: TOKEN },
      dryRun: false,
      ...printed.options,
      propagationDelayMs: 7,
    });

    expect(printed.sleeps).toEqual([7, 7]);
    expect(printed.out.filter((l) => l.includes('trying again'))).toHaveLength(2);
  });

  it.each([
    {
      case: 'an IAM binding that never propagates',
      key: 'gcloud projects add-iam-policy-binding ' + HOST,
      count: 99,
      message: /after 5 attempts/,
    },
    {
      case: 'a function that fails to deploy',
      key: 'gcloud functions deploy costguard-enforce-budget',
      count: 1,
      message: /Function costguard-enforce-budget.*exited with 1/,
    },
  ])('stops at $case, naming the step and the command', async ({ key, count, message }) => {
    const cloud = fakeCloud({ deployed: false, failures: new Map([[key, count]]) });

    const run = runPlan(slackPlan(), {
      exec: cloud.exec,
      env: { SLACK_BOT_TOKEN: TOKEN },
      dryRun: false,
      ...io().options,
    });

    await expect(run).rejects.toThrow(PlanError);
    await expect(run).rejects.toThrow(message);
    // Nothing after the failing step ran.
    expect(cloud.actions().at(-1)?.argv.slice(0, 4).join(' ')).toBe(key);
    expect(cloud.actions().some((c) => c.argv.includes('scheduler'))).toBe(false);
  });

  it('refuses to add the Slack token when it is not in the environment and none is stored', async () => {
    const cloud = fakeCloud({ deployed: false });

    await expect(
      runPlan(slackPlan(), { exec: cloud.exec, env: {}, dryRun: false, ...io().options }),
    ).rejects.toThrow(/set SLACK_BOT_TOKEN/);
  });

  it('in a dry run prints only commands on stdout and runs nothing', async () => {
    const cloud = fakeCloud({ deployed: false });
    const printed = io();

    await runPlan(slackPlan(), { exec: cloud.exec, env: {}, dryRun: true, ...printed.options });

    expect(cloud.calls).toEqual([]);
    expect(printed.out.length).toBeGreaterThan(30);
    expect(printed.out.every((l) => l.startsWith('gcloud ') || l.startsWith('bq '))).toBe(true);
    expect(printed.err.every((l) => l.startsWith('# '))).toBe(true);
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY_USAGE, deployCli, TEARDOWN_USAGE, teardownCli } from '../../deploy/cli.js';
import { LOOKER_STUDIO_USAGE, lookerStudioCli } from '../../deploy/looker-studio.js';
import { describeDemoDeploy } from '../../functions/sandbox/demos/deploy.js';
import type { Exec } from '../../deploy/run-plan.js';
import {
  ACCOUNT,
  BASE_ARGS,
  FIXTURES,
  FULL_ARGS,
  HOST,
  REGION,
  ROOT,
  TOKEN,
} from './deploy-fixtures.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const ran: string[][] = [];
  const exec: Exec = (argv) => {
    ran.push([...argv]);
    // Every probe finds the resource; Cloud Billing lists the deployed budget by its id.
    const stdout =
      argv.includes('list') && argv.includes('budgets')
        ? 'billingAccounts/012345-6789AB-CDEF01/budgets/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n'
        : '';
    return Promise.resolve({ code: 0, stdout });
  };
  return {
    out,
    err,
    ran,
    io: {
      env: { SLACK_BOT_TOKEN: TOKEN },
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      exec,
    },
  };
}

/** A repository checkout after `npm run build`: compiled functions, SQL, price book, package files. */
function fakeRepository(): string {
  const root = mkdtempSync(join(tmpdir(), 'costguard-repo-'));
  for (const dir of [
    'build/functions/core',
    'build/functions/sandbox',
    'fixtures/pricing',
    'docs',
  ]) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  writeFileSync(join(root, 'docs/openapi.json'), '{"openapi":"3.1.0"}\n');
  writeFileSync(join(root, 'build/functions/index.js'), 'export const targets = [];\n');
  writeFileSync(join(root, 'build/functions/core/config.js'), 'export {};\n');
  writeFileSync(join(root, 'build/functions/sandbox/server.js'), 'export {};\n');
  writeFileSync(join(root, 'fixtures/pricing/price-book.json'), '{}\n');
  cpSync(join(FIXTURES, 'sql'), join(root, 'sql'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(root, 'package-lock.json'));
  return root;
}

const shellcheck = (() => {
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!shellcheck) console.log('shellcheck is not installed: the dry-run script check is skipped');

describe('npm run deploy -- --dry-run', () => {
  it.each([
    { case: 'the minimum', args: [] },
    { case: '--enforce', args: ['--enforce'] },
    {
      case: '--budget-amount and --slack-channel',
      args: ['--budget-amount', '750', '--slack-channel', 'C0123'],
    },
    { case: 'everything', args: FULL_ARGS },
  ])('with $case prints one gcloud or bq command per line and runs nothing', async ({ args }) => {
    const { out, err, ran, io } = capture();

    const code = await deployCli([...BASE_ARGS, ...args, '--dry-run'], io);

    expect(code).toBe(0);
    expect(ran).toEqual([]);
    expect(out.length).toBeGreaterThan(30);
    expect(out.filter((l) => !/^(gcloud|bq) /.test(l))).toEqual([]);
    expect(err.at(-1)).toBe('# Dry run: nothing was changed.');
    expect([...out, ...err].some((l) => l.includes(TOKEN))).toBe(false);
  });

  it('prints the same plan every time (a pure function of the options)', async () => {
    const first = capture();
    const second = capture();

    await deployCli([...BASE_ARGS, ...FULL_ARGS, '--dry-run'], first.io);
    await deployCli([...BASE_ARGS, ...FULL_ARGS, '--dry-run'], second.io);

    expect(second.out).toEqual(first.out);
  });

  it.skipIf(!shellcheck)('prints a plan that is a clean shell script', () => {
    // Prepare: the real command line, as a user runs it.
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'deploy/deploy.ts', ...BASE_ARGS, ...FULL_ARGS, '--dry-run'],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SLACK_BOT_TOKEN: TOKEN } },
    );
    expect(result.status).toBe(0);
    const script = join(mkdtempSync(join(tmpdir(), 'costguard-plan-')), 'plan.sh');
    // BigQuery quotes identifiers in backticks, which single quotes keep literal, as intended.
    writeFileSync(
      script,
      `#!/usr/bin/env bash\n# shellcheck disable=SC2016\nset -euo pipefail\n${result.stdout}`,
    );

    // Act
    const check = spawnSync('shellcheck', ['--shell=bash', script], { encoding: 'utf8' });

    // Assess
    expect(check.stdout).toBe('');
    expect(check.status).toBe(0);
    expect(result.stdout).not.toContain(TOKEN);
  });
});

/** A pipelines file with one batch VM pipeline in the host project and these invokers. */
function pipelinesInvokedBy(invokers: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'costguard-pipelines-'));
  const file = join(dir, 'pipelines.json');
  writeFileSync(
    file,
    JSON.stringify({
      nightly: {
        executor: 'vm',
        project: HOST,
        zone: 'us-east1-b',
        instance: 'batch-runner',
        bucket: 'ml-batch-results',
        targets: ['all'],
        invokers,
      },
    }),
  );
  return file;
}

describe('npm run deploy with wrong options', () => {
  it.each([
    {
      args: [...BASE_ARGS, '--pipelines', pipelinesInvokedBy(['domain:example.com'])],
      message: /nightly\.invokers\.0: a whole domain may not invoke a pipeline/,
    },
    {
      args: [...BASE_ARGS, '--pipelines', pipelinesInvokedBy(["group:ml team'@example.com"])],
      message: /nightly\.invokers\.0: a principal such as user:ana@example.com, group:/,
    },
    { args: ['--region', REGION, '--billing-account', ACCOUNT], message: /--project is required/ },
    {
      args: ['--project', 'Bad_Project', '--region', REGION, '--billing-account', ACCOUNT],
      message: /--project: expected a Google Cloud project id/,
    },
    {
      args: ['--project', HOST, '--region', 'mars', '--billing-account', ACCOUNT],
      message: /--region: expected a region/,
    },
    {
      args: ['--project', HOST, '--region', REGION, '--billing-account', 'nope'],
      message: /--billing-account: expected a billing account id/,
    },
    {
      args: [...BASE_ARGS, '--budget-amount', 'ten'],
      message: /--budget-amount: expected an amount/,
    },
    {
      args: [...BASE_ARGS, '--run-invoker', 'ana@example.com'],
      message: /--run-invoker: expected a principal/,
    },
    {
      args: [...BASE_ARGS, '--run-invoker', 'domain:example.com'],
      message: /--run-invoker: a whole domain may not invoke triggerRun/,
    },
    {
      args: [...BASE_ARGS, '--projects', 'ok-project,NOT OK'],
      message: /--projects: expected a comma-separated list/,
    },
    { args: [...BASE_ARGS, '--colour', 'blue'], message: /Unknown option '--colour'/ },
    {
      args: [...BASE_ARGS, '--budget-policy', `${FIXTURES}/missing.json`],
      message: /--budget-policy .*missing.json: cannot be read \(ENOENT\)/,
    },
    {
      args: [...BASE_ARGS, '--budget-policy', `${FIXTURES}/label-policy.json`],
      message: /--budget-policy .*COSTGUARD_BUDGET_POLICY/,
    },
    {
      args: [...BASE_ARGS, '--pipelines', `${FIXTURES}/pipelines.json`],
      message: /pipelines must run in governed projects.*nightly-features uses ml-batch-prod/,
    },
  ])('$args is refused with one line naming the option', async ({ args, message }) => {
    const { err, ran, io } = capture();

    const code = await deployCli([...args, '--dry-run'], io);

    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
    expect(err[0]?.split('\n')).toHaveLength(1);
    expect(ran).toEqual([]);
  });
});

describe('npm run deploy for real', () => {
  it('builds, stages the source and then runs the plan against it', async () => {
    // Prepare: a repository with build output, as `npm run build` leaves it.
    const root = fakeRepository();
    const { out, ran, io } = capture();

    // Act
    const code = await deployCli([...BASE_ARGS, '--source', 'build/function-source'], {
      ...io,
      root,
    });

    // Assess
    expect(code).toBe(0);
    expect(ran[0]).toEqual(['npm', 'run', 'build', '--silent']);
    expect(out[1]).toMatch(/^Staged \d+ files \(\d+ KiB\) into build\/function-source$/);
    expect(existsSync(join(root, 'build/function-source/build/functions/index.js'))).toBe(true);
    expect(ran.filter((a) => a[1] === 'functions' && a[2] === 'deploy')).toHaveLength(6);
    expect(out.at(-1)).toContain('npm run teardown');
  });

  it('stops before touching the project when the build fails', async () => {
    const { ran, err, io } = capture();

    const code = await deployCli(BASE_ARGS, {
      ...io,
      root: fakeRepository(),
      exec: (argv) => {
        ran.push([...argv]);
        return Promise.resolve({ code: argv[0] === 'npm' ? 2 : 0, stdout: '' });
      },
    });

    expect(code).toBe(1);
    expect(err[0]).toContain('npm run build exited with 2');
    expect(ran).toEqual([['npm', 'run', 'build', '--silent']]);
  });

  it('reports a failing command with its step and exit code, and how to resume', async () => {
    const { err, io } = capture();

    const code = await teardownCli(
      ['--project', HOST, '--region', REGION, '--billing-account', ACCOUNT],
      {
        ...io,
        exec: (argv, request) =>
          Promise.resolve({
            code: request.capture ? 0 : argv.includes('scheduler') ? 1 : 0,
            stdout: 'x',
          }),
      },
    );

    expect(code).toBe(1);
    expect(err[0]).toMatch(
      /Cloud Scheduler job costguard-record-spot-costs: `gcloud scheduler jobs delete costguard-record-spot-costs .*` exited with 1/,
    );
    expect(err[1]).toContain('run the same command again');
  });
});

describe('npm run teardown -- --dry-run', () => {
  it('prints every removal, one gcloud or bq command per line', async () => {
    const { out, ran, io } = capture();

    const code = await teardownCli(
      [
        '--project',
        HOST,
        '--region',
        REGION,
        '--billing-account',
        ACCOUNT,
        '--delete-data',
        '--dry-run',
      ],
      io,
    );

    expect(code).toBe(0);
    expect(ran).toEqual([]);
    expect(out.filter((l) => !/^(gcloud|bq) /.test(l))).toEqual([]);
    expect(out).toContain(`bq --project_id=${HOST} rm -r -f -d ${HOST}:costguard`);
  });
});

describe('the demo', () => {
  it('summarises the deploy plan without running anything', async () => {
    const lines: string[] = [];

    await describeDemoDeploy((l) => lines.push(l));

    expect(lines[0]).toMatch(/^Deploy: \d+ steps, \d+ gcloud and \d+ bq commands/);
    expect(lines[1]).toContain('npm run deploy -- --project costguard-demo');
  });
});

describe('settings checked before anything is created', () => {
  it('names every bad setting at once, each with its option, and runs nothing', async () => {
    const { err, ran, io } = capture();

    const code = await deployCli(
      [
        ...BASE_ARGS,
        '--budget-policy',
        `${FIXTURES}/label-policy.json`,
        '--label-policy',
        `${FIXTURES}/missing.json`,
        '--spot-alerts',
        `${FIXTURES}/budget-policy.json`,
        '--spot-caps',
        `${FIXTURES}/spot-alerts.json`,
        '--pipelines',
        `${FIXTURES}/pipelines.json`,
        '--dry-run',
      ],
      io,
    );

    expect(code).toBe(2);
    const lines = err[0]?.split('\n') ?? [];
    expect(lines[0]).toBe('costguard: 5 settings are wrong:');
    expect(lines.slice(1).map((line) => line.trim().split(' ')[0])).toEqual([
      '--budget-policy',
      '--label-policy',
      '--spot-alerts',
      '--spot-caps',
      '--pipelines',
    ]);
    expect(lines[2]).toMatch(/missing\.json: cannot be read \(ENOENT\)/);
    expect(lines[4]).toMatch(/spot-alerts\.json: /);
    expect(lines[5]).toMatch(/pipelines must run in governed projects/);
    expect(ran).toEqual([]);
  });

  it('names every bad option at once, one line each', async () => {
    const { err, ran, io } = capture();

    const code = await deployCli(
      [
        '--project',
        HOST,
        '--region',
        'central',
        '--billing-account',
        'my-account',
        '--budget-amount',
        'lots',
        '--run-invoker',
        'domain:example.com',
        '--billing-export',
        'billing.export',
        '--dry-run',
      ],
      io,
    );

    expect(code).toBe(2);
    expect(err[0]?.split('\n')).toEqual([
      'costguard: 5 settings are wrong:',
      '  --run-invoker: a whole domain may not invoke triggerRun (got "domain:example.com"); name users, groups or service accounts',
      '  --region: expected a region such as us-central1; got "central"',
      '  --billing-account: expected a billing account id such as 012345-6789AB-CDEF01; got "my-account"',
      '  --budget-amount: expected an amount such as 500 or 500USD (in the billing account currency); got "lots"',
      '  --billing-export: expected PROJECT.DATASET.TABLE, e.g. my-billing.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01; got "billing.export"',
    ]);
    expect(ran).toEqual([]);
  });
});

describe('--help', () => {
  it.each([
    { case: 'deploy', cli: deployCli, usage: DEPLOY_USAGE },
    { case: 'teardown', cli: teardownCli, usage: TEARDOWN_USAGE },
    { case: 'looker-studio', cli: lookerStudioCli, usage: LOOKER_STUDIO_USAGE },
  ])('$case prints its usage on stdout, runs nothing and exits 0', async ({ cli, usage }) => {
    const { out, err, ran, io } = capture();

    const code = await cli(['--help'], io);

    expect(code).toBe(0);
    expect(out).toEqual([usage]);
    expect(err).toEqual([]);
    expect(ran).toEqual([]);
  });
});

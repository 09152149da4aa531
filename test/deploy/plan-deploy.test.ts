import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrationFiles } from '../../functions/adapters/bigquery.js';
import { readConfig } from '../../functions/core/config.js';
import { repositoryPath } from '../../functions/core/repository-path.js';
import { budgetEntrySettings } from '../../functions/budget/entry.js';
import { capEntrySettings } from '../../functions/caps/entry.js';
import { commonSettings } from '../../functions/core/config.js';
import { labelEntrySettings } from '../../functions/labels/entry.js';
import { recorderSettings } from '../../functions/recorder/settings.js';
import { readTriggerRunConfig } from '../../functions/runs/config.js';
import { planDeploy } from '../../deploy/plan-deploy.js';
import type { Command, Plan, Step } from '../../deploy/plan.js';
import { SERVICES } from '../../deploy/resources.js';
import {
  ACCOUNT,
  deployInputs,
  envVarsOf,
  everyCommand,
  FIXTURES,
  flagValue,
  flagValues,
  FULL_ARGS,
  HOST,
  REGION,
  ROOT,
  TOKEN,
} from './deploy-fixtures.js';

const words = (c: Command) => c.argv.join(' ');
const commandsOf = (plan: Plan) => plan.steps.flatMap((s) => s.commands);
const find = (plan: Plan, ...parts: string[]) =>
  commandsOf(plan).filter((c) => parts.every((p) => c.argv.includes(p)));
const functionDeploy = (plan: Plan, name: string) => {
  const [command] = find(plan, 'functions', 'deploy', name);
  if (!command) throw new Error(`${name} is not deployed`);
  return command.argv;
};
const stepTitled = (plan: Plan, text: string): Step => {
  const step = plan.steps.find((s) => s.title.includes(text));
  if (!step?.probe) throw new Error(`no probed step "${text}"`);
  return step;
};

describe('the deploy plan', () => {
  it('starts by enabling every API the functions and their triggers use', () => {
    // Act
    const plan = planDeploy(deployInputs());

    // Assess
    const [first] = commandsOf(plan);
    expect(first?.argv.slice(0, 3)).toEqual(['gcloud', 'services', 'enable']);
    expect(first?.argv).toEqual(expect.arrayContaining([...SERVICES, `--project=${HOST}`]));
  });

  it('runs every command through gcloud or bq, as argv words', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    const commands = everyCommand(plan);
    expect(commands.length).toBeGreaterThan(commandsOf(plan).length);
    for (const command of commands) {
      expect(['gcloud', 'bq']).toContain(command.argv[0]);
      expect(command.argv.every((w) => typeof w === 'string' && w.length > 0)).toBe(true);
    }
  });

  it('creates one service account per function plus the scheduler and Eventarc identities', () => {
    const basic = planDeploy(deployInputs());
    const full = planDeploy(deployInputs(FULL_ARGS));

    const accounts = (plan: Plan) => find(plan, 'service-accounts', 'create').map((c) => c.argv[4]);
    expect(accounts(basic)).toEqual([
      'costguard-recorder',
      'costguard-budget',
      'costguard-spot-cap',
      'costguard-labels',
      'costguard-labels-on-create',
      'costguard-preemptions',
      'costguard-scheduler',
      'costguard-events',
    ]);
    // triggerRun exists only with pipelines to run.
    expect(accounts(full)).toContain('costguard-runs');
    expect(find(basic, 'functions', 'deploy', 'costguard-trigger-run')).toEqual([]);
  });

  it.each([
    {
      role: 'costguardRecorder',
      granted: ['compute.instances.list', 'monitoring.timeSeries.list'],
      never: [],
    },
    {
      role: 'costguardBudgetEnforcer',
      granted: ['compute.instances.list', 'compute.instances.stop'],
      never: [
        'compute.instances.get',
        'compute.instances.setLabels',
        'compute.instances.delete',
        'compute.instances.start',
      ],
    },
    // FULL_ARGS deploys a report-only label policy in a dry run.
    {
      role: 'costguardLabelEnforcer',
      granted: ['compute.instances.list', 'compute.instances.get'],
      never: [
        'compute.instances.setLabels',
        'compute.instances.stop',
        'compute.instances.delete',
        'compute.instances.setMetadata',
      ],
    },
    {
      role: 'costguardRunVm',
      granted: [
        'compute.instances.get',
        'compute.instances.setMetadata',
        'compute.instances.setLabels',
        'compute.instances.start',
        'compute.instances.stop',
      ],
      never: ['compute.instances.list', 'compute.instances.delete'],
    },
  ])('custom role $role grants $granted and never $never', ({ role, granted, never }) => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    const creates = find(plan, 'roles', 'create', role);
    expect(creates.length).toBeGreaterThan(0);
    for (const create of creates) {
      const permissions = flagValue(create.argv, '--permissions')?.split(',') ?? [];
      expect(permissions).toEqual(expect.arrayContaining(granted));
      for (const p of never) expect(permissions).not.toContain(p);
    }
  });

  it.each([
    { policies: 'labels everywhere', args: [], budget: false, cap: false, labels: false },
    {
      policies: 'a budget policy of tags',
      args: ['--budget-policy', `${FIXTURES}/budget-policy-tags.json`],
      budget: true,
      cap: false,
      labels: false,
    },
    {
      policies: 'a Spot cap of tags',
      args: ['--spot-caps', `${FIXTURES}/spot-caps-tags.json`],
      budget: false,
      cap: true,
      labels: false,
    },
    {
      policies: 'a label policy exempting by tag',
      args: ['--label-policy', `${FIXTURES}/label-policy-tags.json`],
      budget: false,
      cap: false,
      labels: true,
    },
  ])('lets an enforcer read VM tags only under $policies', ({ args, budget, cap, labels }) => {
    const plan = planDeploy(deployInputs([...FULL_ARGS, ...args]));

    const readsTags = (role: string) =>
      find(plan, 'roles', 'create', role).map((c) =>
        (flagValue(c.argv, '--permissions') ?? '')
          .split(',')
          .includes('compute.instances.listEffectiveTags'),
      );
    expect(readsTags('costguardBudgetEnforcer')).toEqual([budget, budget]);
    expect(readsTags('costguardSpotCapEnforcer')).toEqual([cap, cap]);
    expect(readsTags('costguardLabelEnforcer')).toEqual([labels, labels]);
    // slackActions' Approve plans a budget's or cap's tier again, with its tags.
    expect(readsTags('costguardSlackResponder')).toEqual([budget || cap, budget || cap]);
  });

  it('defines the enforcer roles in every governed project and the run roles where pipelines run', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    const projectsOf = (role: string) =>
      find(plan, 'roles', 'create', role).map((c) => flagValue(c.argv, '--project'));
    expect(projectsOf('costguardBudgetEnforcer')).toEqual(['ml-train-prod', 'ml-batch-prod']);
    expect(projectsOf('costguardRunVm')).toEqual(['ml-batch-prod']);
    expect(projectsOf('costguardRunJob')).toEqual(['ml-batch-prod']);
  });

  const LABEL_READ = [
    'compute.instances.get',
    'compute.instances.list',
    'compute.machineTypes.list',
    'resourcemanager.projects.get',
  ];
  const LABEL_WRITE = ['compute.instances.setLabels', 'compute.zoneOperations.get'];
  it.each([
    { action: 'report', enforce: true, expected: LABEL_READ },
    { action: 'fix', enforce: true, expected: [...LABEL_READ, ...LABEL_WRITE] },
    { action: 'mark', enforce: true, expected: [...LABEL_READ, ...LABEL_WRITE] },
    {
      action: 'stop',
      enforce: true,
      expected: [...LABEL_READ, ...LABEL_WRITE, 'compute.instances.stop'],
    },
    { action: 'stop', enforce: false, expected: LABEL_READ },
  ])(
    'gives the label enforcers only what a $action policy needs (enforcing: $enforce)',
    ({ action, enforce, expected }) => {
      // Prepare: the fixture policy with its action changed.
      const policy = JSON.parse(readFileSync(`${FIXTURES}/label-policy.json`, 'utf8')) as object;
      const file = join(mkdtempSync(join(tmpdir(), 'costguard-policy-')), 'labels.json');
      writeFileSync(file, JSON.stringify({ ...policy, action }));

      // Act
      const plan = planDeploy(
        deployInputs(['--label-policy', file, ...(enforce ? ['--enforce'] : [])]),
      );

      // Assess: the role is created (or, on a project deployed before, updated) with exactly these.
      const step = stepTitled(
        plan,
        'Custom role projects/ops-costguard/roles/costguardLabelEnforcer',
      );
      const [create] = step.commands;
      const [update] = step.probe?.choose({ ok: true, stdout: '\n' }, {}) ?? [];
      for (const command of [create, update]) {
        expect(
          flagValue(command?.argv ?? [], '--permissions')
            ?.split(',')
            .sort(),
        ).toEqual([...expected].sort());
      }
    },
  );

  it('binds the run trigger on its batch VMs, its Cloud Run job and its buckets, not the project', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));
    const runs = `--member=serviceAccount:costguard-runs@${HOST}.iam.gserviceaccount.com`;

    // Its ledger tables are bound with bq, and checked below.
    const bindings = commandsOf(plan).filter(
      (c) =>
        c.argv[0] === 'gcloud' &&
        c.argv.includes('add-iam-policy-binding') &&
        c.argv.includes(runs),
    );
    const targets = bindings.map((c) => {
      const at = c.argv.indexOf('add-iam-policy-binding');
      return `${c.argv.slice(1, at).join(' ')} ${c.argv[at + 1]} ${flagValue(c.argv, '--role')}`;
    });
    expect(targets).toEqual([
      `projects ${HOST} roles/bigquery.jobUser`,
      `secrets costguard-slack-bot-token roles/secretmanager.secretAccessor`,
      'projects ml-batch-prod projects/ml-batch-prod/roles/costguardRunObserver',
      'compute instances batch-runner projects/ml-batch-prod/roles/costguardRunVm',
      'iam service-accounts VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
      'compute instances batch-report projects/ml-batch-prod/roles/costguardRunVm',
      'iam service-accounts VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
      'run jobs embeddings-job projects/ml-batch-prod/roles/costguardRunJob',
      'storage buckets gs://ml-batch-results roles/storage.objectViewer',
      'storage buckets gs://ml-embeddings-out roles/storage.objectViewer',
    ]);
    // Two pipelines share one bucket: it is bound once.
    expect(bindings.filter((c) => c.argv.includes('gs://ml-batch-results'))).toHaveLength(1);
    expect(
      bindings.some(
        (c) => flagValue(c.argv, '--role')?.endsWith('costguardRunVm') && c.argv[1] === 'projects',
      ),
    ).toBe(false);
  });

  it('binds each function that acts on runs on every candidate VM of a pipeline, as on a single VM', () => {
    // Prepare: one pipeline with two candidate VMs.
    const file = join(mkdtempSync(join(tmpdir(), 'costguard-pipelines-')), 'pipelines.json');
    writeFileSync(
      file,
      JSON.stringify({
        zonal: {
          executor: 'vm',
          project: 'ml-batch-prod',
          candidates: [
            { zone: 'us-east1-b', instance: 'batch-b' },
            { zone: 'us-east1-c', instance: 'batch-c' },
          ],
          bucket: 'ml-batch-results',
          targets: ['all'],
          invokers: ['user:ana@example.com'],
        },
      }),
    );

    // Act
    const plan = planDeploy(deployInputs([...FULL_ARGS, '--pipelines', file]));

    // Assess
    const onVms = commandsOf(plan)
      .filter(
        (c) =>
          c.argv[0] === 'gcloud' &&
          c.argv.slice(1, 3).join(' ') === 'compute instances' &&
          c.argv.includes('add-iam-policy-binding'),
      )
      .map((c) => `${c.argv[4]} ${flagValue(c.argv, '--zone')} ${flagValue(c.argv, '--role')}`);
    expect(onVms).toEqual(
      // slackActions is not deployed here (no Slack actors).
      ['costguardRunVm', 'costguardRunResumer'].flatMap((role) => [
        `batch-b us-east1-b projects/ml-batch-prod/roles/${role}`,
        `batch-c us-east1-c projects/ml-batch-prod/roles/${role}`,
      ]),
    );
    expect(
      plan.steps.filter((s) => /may act as the service account of VM batch-[bc]/.test(s.title)),
    ).toHaveLength(4);
  });

  it('lets recordPreemption only start, stop and set the metadata of its batch VMs, never label them', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));
    const preemptions = `--member=serviceAccount:costguard-preemptions@${HOST}.iam.gserviceaccount.com`;

    const targets = commandsOf(plan)
      .filter(
        (c) =>
          c.argv[0] === 'gcloud' &&
          c.argv.includes('add-iam-policy-binding') &&
          c.argv.includes(preemptions) &&
          c.argv[1] !== 'secrets',
      )
      .map((c) => {
        const at = c.argv.indexOf('add-iam-policy-binding');
        return `${c.argv.slice(1, at).join(' ')} ${c.argv[at + 1]} ${flagValue(c.argv, '--role')}`;
      })
      .filter((t) => !t.startsWith('projects ml-train-prod') && !t.startsWith(`projects ${HOST}`));
    const resumer = commandsOf(plan).find(
      (c) => c.argv.includes('create') && c.argv.includes('costguardRunResumer'),
    );

    expect(targets).toEqual([
      'projects ml-batch-prod projects/ml-batch-prod/roles/costguardPreemptionRecorder',
      'projects ml-batch-prod projects/ml-batch-prod/roles/costguardResumeObserver',
      'compute instances batch-runner projects/ml-batch-prod/roles/costguardRunResumer',
      'iam service-accounts VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
      'compute instances batch-report projects/ml-batch-prod/roles/costguardRunResumer',
      'iam service-accounts VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
      // Only VM pipelines resume: the Cloud Run job's bucket is not its.
      'storage buckets gs://ml-batch-results roles/storage.objectViewer',
    ]);
    expect(
      flagValue(resumer?.argv ?? [], '--permissions')
        ?.split(',')
        .sort(),
    ).toEqual([
      'compute.instances.get',
      'compute.instances.setMetadata',
      'compute.instances.start',
      // Its tick stops a run past its deadline whose VM Compute did not stop.
      'compute.instances.stop',
    ]);
  });

  it('lets a deployed slackActions cancel runs: stop and set metadata on the batch VMs, cancel on the Cloud Run job, never start or label', () => {
    const targetsOf = (args: string[]) => {
      const plan = planDeploy(deployInputs(args));
      const slack = `--member=serviceAccount:costguard-slack-actions@${HOST}.iam.gserviceaccount.com`;
      return {
        plan,
        targets: commandsOf(plan)
          .filter(
            (c) =>
              c.argv[0] === 'gcloud' &&
              c.argv.includes('add-iam-policy-binding') &&
              c.argv.includes(slack) &&
              c.argv[1] !== 'secrets',
          )
          .map((c) => {
            const at = c.argv.indexOf('add-iam-policy-binding');
            return `${c.argv.slice(1, at).join(' ')} ${c.argv[at + 1]} ${flagValue(c.argv, '--role')}`;
          })
          .filter(
            (t) => !t.startsWith('projects ml-train-prod') && !t.startsWith(`projects ${HOST}`),
          ),
      };
    };

    const { plan, targets } = targetsOf([...FULL_ARGS, '--slack-actors', 'S0OPS']);
    const canceller = commandsOf(plan).find(
      (c) => c.argv.includes('create') && c.argv.includes('costguardRunCanceller'),
    );

    expect(targets).toEqual([
      'projects ml-batch-prod projects/ml-batch-prod/roles/costguardSlackResponder',
      'projects ml-batch-prod projects/ml-batch-prod/roles/costguardRunObserver',
      'compute instances batch-runner projects/ml-batch-prod/roles/costguardRunCanceller',
      'iam service-accounts VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
      'compute instances batch-report projects/ml-batch-prod/roles/costguardRunCanceller',
      'iam service-accounts VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
      'run jobs embeddings-job projects/ml-batch-prod/roles/costguardRunJob',
      'storage buckets gs://ml-batch-results roles/storage.objectViewer',
      'storage buckets gs://ml-embeddings-out roles/storage.objectViewer',
    ]);
    expect(
      flagValue(canceller?.argv ?? [], '--permissions')
        ?.split(',')
        .sort(),
    ).toEqual(['compute.instances.get', 'compute.instances.setMetadata', 'compute.instances.stop']);
    // The run service behind Cancel run reads the same pipelines as the run trigger.
    const pipelines = envVarsOf(functionDeploy(plan, 'costguard-trigger-run')).COSTGUARD_PIPELINES;
    expect(pipelines).toBeTruthy();
    expect(envVarsOf(functionDeploy(plan, 'costguard-slack-actions')).COSTGUARD_PIPELINES).toBe(
      pipelines,
    );

    // Without pipelines there is nothing to cancel: no run roles and no pipelines setting.
    const alone = targetsOf(['--slack-channel', 'C0123', '--slack-actors', 'S0OPS']);
    expect(alone.targets.filter((t) => !t.includes('costguardSlackResponder'))).toEqual([]);
    expect(
      envVarsOf(functionDeploy(alone.plan, 'costguard-slack-actions')).COSTGUARD_PIPELINES,
    ).toBeUndefined();
  });

  it('reads each batch VM service account at run time before granting actAs on it', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));
    const step = stepTitled(plan, 'act as the service account of VM batch-runner');

    const chosen = step.probe?.choose(
      { ok: true, stdout: 'runner@ml-batch-prod.iam.gserviceaccount.com\n' },
      {},
    );
    expect(chosen?.map((c) => c.argv.slice(1, 5))).toEqual([
      [
        'iam',
        'service-accounts',
        'add-iam-policy-binding',
        'runner@ml-batch-prod.iam.gserviceaccount.com',
      ],
    ]);
    expect(flagValue(chosen?.[0]?.argv ?? [], '--role')).toBe('roles/iam.serviceAccountUser');
    // A VM without a service account needs no actAs; a missing VM stops the deploy.
    expect(step.probe?.choose({ ok: true, stdout: '\n' }, {})).toEqual([]);
    expect(() => step.probe?.choose({ ok: false, stdout: '' }, {})).toThrow(
      /batch-runner was not found/,
    );
  });

  it('refuses a batch VM that runs as the default Compute service account, saying how to give it its own', () => {
    const step = stepTitled(
      planDeploy(deployInputs(FULL_ARGS)),
      'act as the service account of VM batch-runner',
    );

    expect(() =>
      step.probe?.choose(
        { ok: true, stdout: '271828182845-compute@developer.gserviceaccount.com\n' },
        {},
      ),
    ).toThrow(
      /runs as the default Compute service account .*gcloud iam service-accounts create batch-runner-runner --project=ml-batch-prod.*gcloud compute instances set-service-account batch-runner --zone=us-east1-b/,
    );
  });

  it('gives each account its BigQuery job role and roles on its own ledger tables only, never the dataset', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS, repositoryPath('sql')));
    const tableRoles = (account: string) =>
      commandsOf(plan)
        .filter(
          (c) =>
            c.argv[0] === 'bq' &&
            c.argv.includes('add-iam-policy-binding') &&
            c.argv.includes(
              `--member=serviceAccount:costguard-${account}@${HOST}.iam.gserviceaccount.com`,
            ),
        )
        .map((c) => `${c.argv.at(-1)} ${flagValue(c.argv, '--role')?.split('/').pop()}`);

    expect(tableRoles('runs')).toEqual(
      [
        'cap_runs costguardLedgerReader',
        // A start choosing among candidate VMs reads the recent preemption rates.
        'preemption_events costguardLedgerReader',
        'preemption_rate_daily costguardLedgerReader',
        'preemptions costguardLedgerReader',
        'run_costs costguardLedgerReader',
        'runs costguardLedgerReader',
        'spot_cost_hours costguardLedgerReader',
        'spot_costs costguardLedgerReader',
        'runs costguardLedgerAppender',
      ].map((t) => `${HOST}:costguard.${t}`),
    );
    // Only the enforcers write the enforcement history; the run trigger cannot even read it.
    const writers = ['recorder', 'budget', 'spot-cap', 'labels', 'labels-on-create', 'runs'].filter(
      (a) =>
        tableRoles(a).some((t) => /enforcement_actions costguardLedger(Appender|Loader)/.test(t)),
    );
    expect(writers).toEqual(['budget', 'spot-cap']);
    expect(tableRoles('recorder')).toContain(`${HOST}:costguard.spot_costs costguardLedgerLoader`);
    expect(find(plan, '--role=roles/bigquery.jobUser')).toHaveLength(7);
    expect(commandsOf(plan).some((c) => c.argv.some((a) => a.startsWith('GRANT')))).toBe(false);
    expect(commandsOf(plan).some((c) => c.argv.includes('--role=roles/bigquery.dataEditor'))).toBe(
      false,
    );
  });

  it('creates the ledger roles with exactly read, append and load rights', () => {
    const plan = planDeploy(deployInputs());
    const permissions = (id: string) =>
      flagValue(
        commandsOf(plan).find((c) => c.argv.includes('create') && c.argv.includes(id))?.argv ?? [],
        '--permissions',
      );

    expect(permissions('costguardLedgerReader')).toBe('bigquery.tables.getData');
    expect(permissions('costguardLedgerAppender')).toBe('bigquery.tables.updateData');
    expect(permissions('costguardLedgerLoader')).toBe(
      'bigquery.tables.update,bigquery.tables.updateData',
    );
  });

  it('revokes the dataset-wide Data Editor an earlier deploy granted, and nothing when there is none', () => {
    const step = stepTitled(planDeploy(deployInputs()), 'on the whole dataset');
    const recorder = `costguard-recorder@${HOST}.iam.gserviceaccount.com`;

    const earlier = step.probe?.choose(
      { ok: true, stdout: JSON.stringify({ access: [{ role: 'WRITER', userByEmail: recorder }] }) },
      {},
    );
    expect(earlier?.map((c) => c.argv.at(-1))).toEqual([
      `REVOKE \`roles/bigquery.dataEditor\` ON SCHEMA \`${HOST}\`.costguard FROM "serviceAccount:${recorder}"`,
    ]);
    expect(step.probe?.choose({ ok: true, stdout: '{"access": []}' }, {})).toEqual([]);
  });

  it('grants Billing Account Viewer on the billing account to the budget function only', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    const billing = find(plan, 'billing', 'accounts', 'add-iam-policy-binding');
    expect(billing.map(words)).toEqual([
      `gcloud billing accounts add-iam-policy-binding ${ACCOUNT} --member=serviceAccount:costguard-budget@${HOST}.iam.gserviceaccount.com --role=roles/billing.viewer --format=none --quiet`,
    ]);
  });

  it('grants Billing Account Viewer to the cap function on the accounts of the budgets its caps follow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'costguard-caps-'));
    const caps = join(dir, 'caps.json');
    const budget = (account: string) => `billingAccounts/${account}/budgets/9b2c6e1a`;
    const cap = (name: string, account: string) => ({
      name,
      period: 'budget',
      budget: budget(account),
      amount: 100,
      currency: 'USD',
      tiers: [{ at: 1, stop: ['low'] }],
    });
    writeFileSync(
      caps,
      JSON.stringify([
        cap('a-cap', ACCOUNT),
        cap('b-cap', '0A1B2C-3D4E5F-6A7B8C'),
        cap('c-cap', ACCOUNT),
      ]),
    );
    const plan = planDeploy(deployInputs(['--spot-caps', caps]));

    const billing = find(plan, 'billing', 'accounts', 'add-iam-policy-binding')
      .filter((c) => c.argv.some((a) => a.includes('costguard-spot-cap@')))
      .map((c) => c.argv[4]);
    expect(billing).toEqual([ACCOUNT, '0A1B2C-3D4E5F-6A7B8C']);
  });

  it('applies the ledger migration file by file, tables then views, with names bound', () => {
    const plan = planDeploy(deployInputs());

    const queries = find(plan, 'query', '--use_legacy_sql=false').filter(
      (c) => !c.argv.at(-1)?.startsWith('GRANT'),
    );
    expect(queries.map((q) => q.argv.slice(0, 3))).toEqual([
      ['bq', `--project_id=${HOST}`, '--location=US'],
      ['bq', `--project_id=${HOST}`, '--location=US'],
    ]);
    expect(queries[0]?.argv.at(-1)).toContain('CREATE TABLE IF NOT EXISTS `costguard.spot_costs`');
    expect(queries[1]?.argv.at(-1)).toContain('FROM `ops-costguard.costguard.spot_costs`');
    expect(queries.some((q) => q.argv.at(-1)?.includes('${'))).toBe(false);
  });

  it('migrates every file of the repository sql/ folder in name order', () => {
    const root = `${ROOT}sql`;
    const plan = planDeploy(deployInputs([], root));

    const titles = plan.steps
      .filter((s) => s.title.startsWith('Ledger migration'))
      .map((s) => s.title);
    expect(titles).toEqual(migrationFiles(root).map((f) => `Ledger migration: sql/${f.name}`));
  });

  it('creates the dataset in the chosen location only when it is missing', () => {
    const plan = planDeploy(deployInputs(['--dataset', 'spend_ledger', '--bq-location', 'EU']));
    const step = stepTitled(plan, 'BigQuery dataset');

    expect(step.commands.map(words)).toEqual([
      `bq --project_id=${HOST} --location=EU mk --dataset --description=costguard ledger: Spot VM costs, enforcement decisions, label checks and runs ${HOST}:spend_ledger`,
    ]);
    expect(step.probe?.choose({ ok: true, stdout: '' }, {})).toEqual([]);
  });
});

describe('the budget', () => {
  it.each([
    { case: 'the default policy', args: [], percents: ['0.8', '1', '1.1'] },
    {
      case: 'a policy file',
      args: ['--budget-policy', `${FIXTURES}/budget-policy.json`],
      percents: ['0.5', '0.9', '1.2'],
    },
  ])('alerts at the tiers of $case', ({ args, percents }) => {
    const plan = planDeploy(deployInputs(args));

    const [create] = find(plan, 'billing', 'budgets', 'create');
    expect(flagValues(create?.argv ?? [], '--threshold-rule')).toEqual(
      percents.map((p) => `percent=${p}`),
    );
  });

  it.each([
    { case: 'no amount: last period', args: [], flag: '--last-period-amount' },
    { case: 'an amount', args: ['--budget-amount', '750'], flag: '--budget-amount=750' },
    {
      case: 'an amount with its currency',
      args: ['--budget-amount', '1200.50EUR'],
      flag: '--budget-amount=1200.50EUR',
    },
  ])('is created with $case', ({ args, flag }) => {
    const plan = planDeploy(deployInputs(args));

    const [create] = find(plan, 'billing', 'budgets', 'create');
    expect(create?.argv).toContain(flag);
    expect(create?.argv).toEqual(
      expect.arrayContaining([
        `--billing-account=${ACCOUNT}`,
        `--display-name=costguard-${HOST}`,
        `--filter-projects=projects/${HOST}`,
        `--notifications-rule-pubsub-topic=projects/${HOST}/topics/costguard-budget-alerts`,
      ]),
    );
  });

  it('covers every governed project', () => {
    const plan = planDeploy(deployInputs(['--projects', 'ml-train-prod,ml-batch-prod']));

    const [create] = find(plan, 'billing', 'budgets', 'create');
    expect(flagValue(create?.argv ?? [], '--filter-projects')).toBe(
      'projects/ml-train-prod,projects/ml-batch-prod',
    );
  });

  it('is updated in place when one with its name exists, replacing its thresholds', () => {
    const plan = planDeploy(deployInputs(['--budget-amount', '750']));
    const step = stepTitled(plan, 'Budget costguard-');

    const [update] =
      step.probe?.choose(
        { ok: true, stdout: `billingAccounts/${ACCOUNT}/budgets/0f1e2d3c-4b5a\n` },
        {},
      ) ?? [];
    expect(update?.argv.slice(0, 5)).toEqual([
      'gcloud',
      'billing',
      'budgets',
      'update',
      '0f1e2d3c-4b5a',
    ]);
    expect(update?.argv).toEqual(
      expect.arrayContaining([
        '--budget-amount=750',
        '--clear-threshold-rules',
        '--add-threshold-rule=percent=0.8',
        '--add-threshold-rule=percent=1.1',
      ]),
    );
    // Without --budget-amount an existing budget keeps the amount it has.
    const keep = stepTitled(planDeploy(deployInputs()), 'Budget costguard-');
    const [kept] =
      keep.probe?.choose({ ok: true, stdout: 'billingAccounts/A/budgets/b1' }, {}) ?? [];
    expect(kept?.argv.some((w) => w.includes('amount'))).toBe(false);
    expect(step.probe?.choose({ ok: true, stdout: '' }, {}).map(words)[0]).toContain(
      'budgets create',
    );
  });
});

describe('budget notifications', () => {
  const AGENT = 'serviceAccount:billing-budget-alert@system.gserviceaccount.com';
  const BUDGET = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

  it('may be published only by Cloud Billing: any other publisher found on the topic is removed', () => {
    // Prepare: a topic someone opened to a user, a group (as admin) and everyone in a domain.
    const step = stepTitled(planDeploy(deployInputs()), 'may publish to costguard-budget-alerts');
    const policy = JSON.stringify({
      bindings: [
        { role: 'roles/pubsub.publisher', members: [AGENT, 'user:mallory@example.com'] },
        { role: 'roles/pubsub.admin', members: ['group:everyone@example.com'] },
        { role: 'roles/pubsub.subscriber', members: ['domain:example.com'] },
        { role: 'roles/pubsub.editor', members: ['domain:example.com'] },
      ],
    });

    // Act
    const chosen = step.probe?.choose({ ok: true, stdout: policy }, {}).map(words) ?? [];

    // Assess: the publishers go, the subscriber stays, the agent keeps its grant.
    const topic = 'gcloud pubsub topics remove-iam-policy-binding costguard-budget-alerts';
    expect(chosen).toEqual([
      `${topic} --project=${HOST} --member=user:mallory@example.com --role=roles/pubsub.publisher --format=none --quiet`,
      `${topic} --project=${HOST} --member=group:everyone@example.com --role=roles/pubsub.admin --format=none --quiet`,
      `${topic} --project=${HOST} --member=domain:example.com --role=roles/pubsub.editor --format=none --quiet`,
    ]);
    // On a fresh topic the agent is granted publish, and nothing else is.
    expect(step.commands.map(words)).toEqual([
      `gcloud pubsub topics add-iam-policy-binding costguard-budget-alerts --project=${HOST} --member=${AGENT} --role=roles/pubsub.publisher --format=none --quiet`,
    ]);
    expect(step.probe?.choose({ ok: true, stdout: '{}' }, {}).map(words)).toEqual(
      step.commands.map(words),
    );
  });

  it('come only from the deployed billing account and budget, which enforceBudget is told', () => {
    const plan = planDeploy(deployInputs());
    const step = stepTitled(plan, 'Function costguard-enforce-budget');

    const [deploy] =
      step.probe?.choose(
        { ok: true, stdout: `billingAccounts/${ACCOUNT}/budgets/${BUDGET}\n` },
        {},
      ) ?? [];

    expect(step.probe?.argv.join(' ')).toContain(
      `billing budgets list --billing-account=${ACCOUNT}`,
    );
    expect(envVarsOf(deploy?.argv ?? [])).toMatchObject({
      COSTGUARD_BILLING_ACCOUNT: ACCOUNT,
      COSTGUARD_BUDGET_IDS: BUDGET,
    });
    expect(() => step.probe?.choose({ ok: true, stdout: '' }, {})).toThrow(
      `Budget costguard-${HOST} was not found on billing account ${ACCOUNT}`,
    );
  });
});

describe('the functions', () => {
  it.each([
    {
      name: 'costguard-record-spot-costs',
      target: 'recordSpotCosts',
      memory: '1Gi',
      timeout: '540s',
      max: '1',
      trigger: ['--trigger-http'],
      retry: false,
    },
    {
      name: 'costguard-enforce-budget',
      target: 'enforceBudget',
      memory: '1Gi',
      timeout: '540s',
      max: '1',
      trigger: [
        '--trigger-topic=costguard-budget-alerts',
        `--trigger-service-account=costguard-events@${HOST}.iam.gserviceaccount.com`,
      ],
      retry: true,
    },
    {
      name: 'costguard-enforce-spot-cap',
      target: 'enforceSpotCap',
      memory: '1Gi',
      timeout: '540s',
      max: '1',
      trigger: ['--trigger-http'],
      retry: false,
    },
    {
      name: 'costguard-enforce-labels',
      target: 'enforceLabels',
      memory: '1Gi',
      timeout: '540s',
      max: '1',
      trigger: ['--trigger-http'],
      retry: false,
    },
    {
      name: 'costguard-enforce-labels-on-create',
      target: 'enforceLabelsOnCreate',
      memory: '512Mi',
      timeout: '120s',
      max: '10',
      trigger: [
        '--trigger-event-filters=type=google.cloud.audit.log.v1.written',
        '--trigger-event-filters=serviceName=compute.googleapis.com',
        '--trigger-event-filters=methodName=v1.compute.instances.insert',
        '--trigger-location=global',
      ],
      retry: true,
    },
    {
      name: 'costguard-record-preemption',
      target: 'recordPreemption',
      memory: '512Mi',
      timeout: '120s',
      max: '10',
      trigger: [
        '--trigger-topic=costguard-preemptions',
        `--trigger-service-account=costguard-events@${HOST}.iam.gserviceaccount.com`,
      ],
      retry: true,
    },
    {
      name: 'costguard-trigger-run',
      target: 'triggerRun',
      memory: '512Mi',
      timeout: '120s',
      max: '5',
      trigger: ['--trigger-http'],
      retry: false,
    },
  ])(
    '$name runs $target with $memory, $timeout, max $max instances',
    ({ name, target, memory, timeout, max, trigger, retry }) => {
      const argv = functionDeploy(planDeploy(deployInputs(FULL_ARGS)), name);

      expect(argv).toEqual(
        expect.arrayContaining([
          '--gen2',
          '--runtime=nodejs22',
          `--project=${HOST}`,
          `--region=${REGION}`,
          '--source=build/function-source',
          `--entry-point=${target}`,
          `--memory=${memory}`,
          `--timeout=${timeout}`,
          `--max-instances=${max}`,
          '--no-allow-unauthenticated',
          ...trigger,
        ]),
      );
      expect(argv.includes('--retry')).toBe(retry);
      expect(flagValue(argv, '--service-account')).toMatch(
        /^costguard-[a-z-]+@ops-costguard\.iam\.gserviceaccount\.com$/,
      );
    },
  );

  it.each([
    { case: 'without --enforce', args: [], budgetEnforce: 'false', labelsDryRun: 'true' },
    { case: 'with --enforce', args: ['--enforce'], budgetEnforce: 'true', labelsDryRun: 'false' },
  ])('keep enforcement in dry-run $case', ({ args, budgetEnforce, labelsDryRun }) => {
    const plan = planDeploy(deployInputs(args));

    expect(
      envVarsOf(functionDeploy(plan, 'costguard-enforce-budget')).COSTGUARD_BUDGET_ENFORCE,
    ).toBe(budgetEnforce);
    expect(
      envVarsOf(functionDeploy(plan, 'costguard-enforce-spot-cap')).COSTGUARD_SPOT_CAPS_ENFORCE,
    ).toBe(budgetEnforce);
    for (const name of ['costguard-enforce-labels', 'costguard-enforce-labels-on-create']) {
      expect(envVarsOf(functionDeploy(plan, name)).COSTGUARD_LABELS_DRY_RUN).toBe(labelsDryRun);
    }
  });

  it('get the common settings, with the host project holding the ledger', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    for (const name of [
      'costguard-record-spot-costs',
      'costguard-enforce-budget',
      'costguard-trigger-run',
    ]) {
      const env = envVarsOf(functionDeploy(plan, name));
      expect(env).toMatchObject({
        COSTGUARD_PROJECTS: 'ml-train-prod,ml-batch-prod',
        COSTGUARD_LEDGER_PROJECT: HOST,
        COSTGUARD_DATASET: 'costguard',
        COSTGUARD_BQ_LOCATION: 'US',
        COSTGUARD_SLACK_CHANNEL: 'C0123456789',
      });
    }
  });

  it('refuse a Spot cap over a project that is not governed, before anything runs', () => {
    expect(() =>
      deployInputs(['--projects', 'ml-train-prod', '--spot-caps', `${FIXTURES}/spot-caps.json`]),
    ).toThrow(/^--spot-caps .*spot-caps\.json: projects outside --projects: ml-batch-prod$/);
  });

  it('are each given settings their own entry point accepts', () => {
    // Prepare: what the platform would hand each function, the Slack token included.
    const plan = planDeploy(deployInputs(FULL_ARGS));
    const envOf = (name: string) => ({
      ...envVarsOf(functionDeploy(plan, name)),
      SLACK_BOT_TOKEN: TOKEN,
    });

    // Act
    const budget = readConfig(budgetEntrySettings, envOf('costguard-enforce-budget'));
    const labels = readConfig(labelEntrySettings, envOf('costguard-enforce-labels'));
    const recorder = readConfig(
      { ...commonSettings, ...recorderSettings },
      envOf('costguard-record-spot-costs'),
    );
    const runs = readTriggerRunConfig(envOf('costguard-trigger-run'));
    const caps = readConfig(capEntrySettings, envOf('costguard-enforce-spot-cap'));

    // Assess
    expect(budget.policy.tiers.map((t) => t.at)).toEqual([0.5, 0.9, 1.2]);
    expect(budget.enforce).toBe(false);
    expect(labels.dryRun).toBe(true);
    expect(Object.keys(labels.policy.labels ?? {})).toEqual([
      'team',
      'app',
      'cost_center',
      'priority',
    ]);
    expect(recorder.alerts.overallPerHour).toBe(40);
    expect(recorder.settleMinutes).toBe(10);
    expect(caps.caps.map((c) => [c.name, c.scope, c.amount])).toEqual([
      [
        'batch-daily',
        { projects: ['ml-batch-prod'], label: { key: 'team', value: 'vision' } },
        120,
      ],
    ]);
    expect(caps.enforce).toBe(false);
    expect([...runs.runs.pipelines.keys()]).toEqual([
      'nightly-features',
      'weekly-report',
      'embeddings',
    ]);
    expect(runs.runs.publicUrl).toBe(
      `https://${REGION}-${HOST}.cloudfunctions.net/costguard-trigger-run`,
    );
  });

  it.each([
    { case: 'with --slack-channel', args: ['--slack-channel', 'C0123456789'], mounted: true },
    { case: 'without', args: [], mounted: false },
  ])('mount the Slack token from Secret Manager only $case', ({ args, mounted }) => {
    const plan = planDeploy(deployInputs(args));

    for (const name of ['costguard-record-spot-costs', 'costguard-enforce-labels-on-create']) {
      const argv = functionDeploy(plan, name);
      expect(argv).toContain(
        mounted ? '--set-secrets=SLACK_BOT_TOKEN=costguard-slack-bot-token:1' : '--clear-secrets',
      );
      expect(argv.some((a) => a.includes(':latest'))).toBe(false);
      expect(Object.keys(envVarsOf(argv))).not.toContain('SLACK_BOT_TOKEN');
    }
    expect(find(plan, 'secrets', 'create').length).toBe(args.length > 0 ? 1 : 0);
  });

  it('pins the Slack token to the version that is newest at deploy time, and refuses without one', () => {
    const plan = planDeploy(deployInputs(['--slack-channel', 'C0123456789']));
    const recorder = stepTitled(plan, 'Function costguard-record-spot-costs');
    const budget = stepTitled(plan, 'Function costguard-enforce-budget');
    const version = {
      ok: true,
      stdout: 'projects/271828182845/secrets/costguard-slack-bot-token/versions/7\n',
    };
    const budgets = {
      ok: true,
      stdout: `billingAccounts/${ACCOUNT}/budgets/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n`,
    };

    expect(recorder.probe?.argv).toEqual([
      'gcloud',
      'secrets',
      'versions',
      'list',
      'costguard-slack-bot-token',
      `--project=${HOST}`,
      '--filter=state:ENABLED',
      '--sort-by=~createTime',
      '--limit=1',
      '--format=value(name)',
    ]);
    expect(recorder.probe?.choose(version, {})[0]?.argv).toContain(
      '--set-secrets=SLACK_BOT_TOKEN=costguard-slack-bot-token:7',
    );
    // enforceBudget reads its budget's id first, then the token's version.
    expect(budget.probe?.more).toEqual([recorder.probe?.argv]);
    const [deployBudget] = budget.probe?.choose(budgets, {}, [version]) ?? [];
    expect(deployBudget?.argv).toContain(
      '--set-secrets=SLACK_BOT_TOKEN=costguard-slack-bot-token:7',
    );
    expect(envVarsOf(deployBudget?.argv ?? [])).toMatchObject({
      COSTGUARD_BUDGET_IDS: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    });
    expect(() => recorder.probe?.choose({ ok: false, stdout: '' }, {})).toThrow(
      /costguard-slack-bot-token has no enabled version/,
    );
  });

  it('enables the Cloud Identity API only when a pipeline names an invoker group', () => {
    const enabled = (plan: ReturnType<typeof planDeploy>) =>
      find(plan, 'services', 'enable').flatMap((c) => c.argv);

    expect(enabled(planDeploy(deployInputs(FULL_ARGS)))).toContain('cloudidentity.googleapis.com');
    expect(enabled(planDeploy(deployInputs()))).not.toContain('cloudidentity.googleapis.com');
  });

  it('may be invoked only by the scheduler, Eventarc, the run invokers and each pipeline invoker', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    const invokers = find(plan, 'add-invoker-policy-binding').map(
      (c) => `${c.argv[3]} ${flagValue(c.argv, '--member')}`,
    );
    expect(invokers).toEqual([
      `costguard-record-spot-costs serviceAccount:costguard-scheduler@${HOST}.iam.gserviceaccount.com`,
      `costguard-enforce-budget serviceAccount:costguard-events@${HOST}.iam.gserviceaccount.com`,
      `costguard-enforce-spot-cap serviceAccount:costguard-scheduler@${HOST}.iam.gserviceaccount.com`,
      `costguard-enforce-labels serviceAccount:costguard-scheduler@${HOST}.iam.gserviceaccount.com`,
      `costguard-enforce-labels-on-create serviceAccount:costguard-events@${HOST}.iam.gserviceaccount.com`,
      `costguard-record-preemption serviceAccount:costguard-events@${HOST}.iam.gserviceaccount.com`,
      'costguard-trigger-run group:ml-platform@example.com',
      'costguard-trigger-run user:ana@example.com',
      'costguard-trigger-run serviceAccount:ci@ml-batch-prod.iam.gserviceaccount.com',
      'costguard-trigger-run user:ben@example.com',
      'costguard-trigger-run group:ml-team@example.com',
    ]);
  });

  it('give triggerRun the audiences a caller token may carry: its URL and the gcloud CLI', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    expect(envVarsOf(functionDeploy(plan, 'costguard-trigger-run')).COSTGUARD_RUNS_AUDIENCES).toBe(
      `https://${REGION}-${HOST}.cloudfunctions.net/costguard-trigger-run,32555940559.apps.googleusercontent.com`,
    );
  });
});

describe('the Slack token', () => {
  const step = () =>
    stepTitled(planDeploy(deployInputs(['--slack-channel', 'C0123'])), 'Slack bot token from');

  it('goes to Secret Manager on stdin and never appears in a command', () => {
    const [add] = step().commands;

    expect(add?.argv).toEqual([
      'gcloud',
      'secrets',
      'versions',
      'add',
      'costguard-slack-bot-token',
      `--project=${HOST}`,
      '--data-file=-',
      '--quiet',
    ]);
    expect(add?.stdinFrom).toBe('SLACK_BOT_TOKEN');
  });

  it.each([
    {
      case: 'the stored token is the same',
      stored: { ok: true, stdout: TOKEN },
      token: TOKEN,
      versions: 0,
    },
    {
      case: 'the stored token differs',
      stored: { ok: true, stdout: 'xoxb-old' },
      token: TOKEN,
      versions: 1,
    },
    { case: 'nothing is stored yet', stored: { ok: false, stdout: '' }, token: TOKEN, versions: 1 },
    {
      case: 'the token is not in the environment but one is stored',
      stored: { ok: true, stdout: 'xoxb-old' },
      token: undefined,
      versions: 0,
    },
  ])('adds a version only when needed: $case', ({ stored, token, versions }) => {
    expect(step().probe?.choose(stored, { SLACK_BOT_TOKEN: token })).toHaveLength(versions);
  });

  it('is required when nothing is stored yet', () => {
    expect(() => step().probe?.choose({ ok: false, stdout: '' }, {})).toThrow(
      /set SLACK_BOT_TOKEN/,
    );
  });
});

describe('triggers', () => {
  it('route beta-API instance inserts to the label check through a second audit-log trigger', () => {
    const plan = planDeploy(deployInputs());
    const step = stepTitled(plan, 'Eventarc trigger costguard-instance-insert-beta');

    expect(step.commands[0]?.argv).toEqual(
      expect.arrayContaining([
        '--location=global',
        '--destination-run-service=costguard-enforce-labels-on-create',
        `--destination-run-region=${REGION}`,
        '--event-filters=methodName=beta.compute.instances.insert',
        `--service-account=costguard-events@${HOST}.iam.gserviceaccount.com`,
      ]),
    );
    expect(step.probe?.choose({ ok: true, stdout: 'x' }, {})[0]?.argv.slice(1, 4)).toEqual([
      'eventarc',
      'triggers',
      'update',
    ]);
  });

  it.each([
    { job: 'costguard-record-spot-costs', schedule: '10 * * * *', deadline: '540s' },
    { job: 'costguard-enforce-labels', schedule: '0 */6 * * *', deadline: '540s' },
    { job: 'costguard-enforce-spot-cap', schedule: '*/10 * * * *', deadline: '540s' },
  ])(
    'schedule $job at $schedule with an OIDC token for the function URL',
    ({ job, schedule, deadline }) => {
      const plan = planDeploy(deployInputs());
      const [create] = find(plan, 'scheduler', 'create', job);
      const url = `https://${REGION}-${HOST}.cloudfunctions.net/${job}`;

      expect(create?.argv).toEqual(
        expect.arrayContaining([
          `--schedule=${schedule}`,
          `--uri=${url}`,
          `--oidc-token-audience=${url}`,
          `--oidc-service-account-email=costguard-scheduler@${HOST}.iam.gserviceaccount.com`,
          `--attempt-deadline=${deadline}`,
          '--http-method=POST',
        ]),
      );
      const step = stepTitled(plan, `Cloud Scheduler job ${job}`);
      expect(step.probe?.choose({ ok: true, stdout: 'x' }, {})[0]?.argv.slice(1, 5)).toEqual([
        'scheduler',
        'jobs',
        'update',
        'http',
      ]);
    },
  );
});

describe('running the plan again', () => {
  it.each([
    {
      case: 'a service account',
      title: 'Service account costguard-recorder',
      found: { ok: true, stdout: 'x@y' },
      verbs: [],
    },
    {
      case: 'the topic',
      title: 'Pub/Sub topic',
      found: { ok: true, stdout: 'projects/p/topics/t' },
      verbs: [],
    },
    {
      case: 'the secret',
      title: 'Secret costguard-slack-bot-token',
      found: { ok: true, stdout: 'projects/p/secrets/s' },
      verbs: [],
    },
    {
      case: 'a custom role',
      title: 'costguardRecorder',
      found: { ok: true, stdout: '' },
      verbs: ['update'],
    },
    {
      case: 'a deleted custom role',
      title: 'costguardRecorder',
      found: { ok: true, stdout: 'True' },
      verbs: ['undelete', 'update'],
    },
    {
      case: 'a missing custom role',
      title: 'costguardRecorder',
      found: { ok: false, stdout: '' },
      verbs: ['create'],
    },
  ])('converges for $case', ({ title, found, verbs }) => {
    const step = stepTitled(planDeploy(deployInputs(['--slack-channel', 'C1'])), title);

    expect(step.probe?.choose(found, {}).map((c) => c.argv[3])).toEqual(verbs);
  });

  it('lists the summary a user needs: enforcement state, run URL with curl, Looker Studio, teardown', () => {
    const plain = planDeploy(deployInputs());
    const full = planDeploy(deployInputs([...FULL_ARGS, '--enforce']));

    expect(plain.summary.join('\n')).toContain('dry-run');
    expect(plain.summary.join('\n')).toContain('Run trigger: not deployed');
    const summary = full.summary.join('\n');
    expect(summary).toContain('Enforcement is ON');
    expect(summary).toContain(
      `Run trigger: https://${REGION}-${HOST}.cloudfunctions.net/costguard-trigger-run`,
    );
    expect(summary).toContain(
      `'{"pipeline":"nightly-features","target":"features"}' https://${REGION}-${HOST}.cloudfunctions.net/costguard-trigger-run/runs`,
    );
    expect(summary).toContain('ds.ds9.tableId=spot_cost_hours');
    expect(summary).toContain(
      `npm run teardown -- --project ${HOST} --region ${REGION} --billing-account ${ACCOUNT} --projects ml-train-prod,ml-batch-prod --pipelines`,
    );
  });
});

describe('the reconciliation with the Cloud Billing export', () => {
  const EXPORT = 'billing-admin.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01';

  it('points billing_export at the export table right after its stand-in, before the views that read it, only when given', () => {
    const without = planDeploy(deployInputs());
    const plan = planDeploy(deployInputs(['--billing-export', EXPORT], repositoryPath('sql')));

    expect(without.steps.some((s) => s.title.includes('Cloud Billing export'))).toBe(false);
    const step = plan.steps.find(
      (s) => s.title === `Reconcile with the Cloud Billing export ${EXPORT}`,
    );
    const titles = plan.steps.map((s) => s.title);
    const standIn = titles.indexOf('Ledger migration: sql/views/70_billing_export.sql');
    expect(standIn).toBeGreaterThan(0);
    expect(plan.steps.indexOf(step as Step)).toBe(standIn + 1);
    expect(titles.indexOf('Ledger migration: sql/views/71_billing_reconciliation.sql')).toBe(
      standIn + 2,
    );
    const sql = step?.commands[0]?.argv.at(-1) ?? '';
    expect(step?.commands[0]?.argv.slice(0, 5)).toEqual([
      'bq',
      `--project_id=${HOST}`,
      '--location=US',
      'query',
      '--use_legacy_sql=false',
    ]);
    expect(sql).toMatch(/^CREATE OR REPLACE VIEW `costguard\.billing_export` AS/);
    expect(sql).toContain(`FROM \`${EXPORT}\``);
  });

  it.each(['billing_export.table', 'Bad.dataset.table', 'p-1.d.t; DROP TABLE x'])(
    'refuses %j',
    (table) => {
      expect(() => deployInputs(['--billing-export', table])).toThrow(
        /--billing-export: expected PROJECT\.DATASET\.TABLE/,
      );
    },
  );
});

describe('slackActions', () => {
  const SLACK_ARGS = ['--slack-channel', 'C0123', '--slack-actors', 'S0OPS,C0FINOPS'];
  const found = (version: string) => ({
    ok: true,
    stdout: `projects/123/secrets/costguard-slack-signing-secret/versions/${version}\n`,
  });

  it('is deployed only when --slack-actors names who may act', () => {
    const names = (args: string[]) =>
      find(planDeploy(deployInputs(args)), 'functions', 'deploy').map((c) => c.argv[3]);

    expect(names(['--slack-channel', 'C0123'])).not.toContain('costguard-slack-actions');
    expect(names(SLACK_ARGS)).toContain('costguard-slack-actions');
  });

  it('is public, since the Slack signature is its authentication, and no one is given invoker', () => {
    const plan = planDeploy(deployInputs(SLACK_ARGS));

    const argv = functionDeploy(plan, 'costguard-slack-actions');
    expect(argv).toContain('--allow-unauthenticated');
    expect(argv).not.toContain('--no-allow-unauthenticated');
    expect(functionDeploy(plan, 'costguard-enforce-budget')).toContain(
      '--no-allow-unauthenticated',
    );
    expect(
      find(plan, 'add-invoker-policy-binding').filter((c) =>
        c.argv.includes('costguard-slack-actions'),
      ),
    ).toEqual([]);
    expect(envVarsOf(argv)).toMatchObject({
      COSTGUARD_SLACK_ACTOR_GROUPS: 'S0OPS',
      COSTGUARD_SLACK_ACTOR_CHANNELS: 'C0FINOPS',
    });
  });

  it('mounts the signing secret pinned to the newest enabled version, never latest', () => {
    const step = stepTitled(
      planDeploy(deployInputs(SLACK_ARGS)),
      'Function costguard-slack-actions',
    );

    // The token's version is read first, then the signing secret's.
    const [command] = step.probe?.choose(found('4'), {}, [found('7')]) ?? [];

    expect(step.probe?.argv).toEqual(
      expect.arrayContaining(['versions', 'list', 'costguard-slack-bot-token']),
    );
    expect(step.probe?.more).toEqual([
      expect.arrayContaining(['versions', 'list', 'costguard-slack-signing-secret']),
    ]);
    expect(flagValue(command?.argv ?? [], '--set-secrets')).toBe(
      'SLACK_BOT_TOKEN=costguard-slack-bot-token:4,SLACK_SIGNING_SECRET=costguard-slack-signing-secret:7',
    );
    expect(() => step.probe?.choose(found('4'), {}, [{ ok: true, stdout: '' }])).toThrow(
      /costguard-slack-signing-secret has no enabled version/,
    );
  });

  it('stores the signing secret from $SLACK_SIGNING_SECRET on stdin, readable by slackActions alone', () => {
    const plan = planDeploy(deployInputs(SLACK_ARGS));

    const add = stepTitled(plan, "Slack app's signing secret from").commands[0];
    expect(add?.argv).toEqual([
      'gcloud',
      'secrets',
      'versions',
      'add',
      'costguard-slack-signing-secret',
      `--project=${HOST}`,
      '--data-file=-',
      '--quiet',
    ]);
    expect(add?.stdinFrom).toBe('SLACK_SIGNING_SECRET');
    const readers = find(plan, 'add-iam-policy-binding', 'costguard-slack-signing-secret').map(
      (c) => flagValue(c.argv, '--member'),
    );
    expect(readers).toEqual([
      `serviceAccount:costguard-slack-actions@${HOST}.iam.gserviceaccount.com`,
    ]);
  });

  it('refuses --slack-actors without --slack-channel', () => {
    expect(() => deployInputs(['--slack-actors', 'S0OPS'])).toThrow(/--slack-channel/);
  });
});

describe('preemption events', () => {
  it('reach recordPreemption through a Logging sink per governed project, since Eventarc audit log triggers do not carry System Event logs', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    const sinks = find(plan, 'logging', 'sinks', 'create', 'costguard-preemptions').map(words);
    expect(sinks).toEqual(
      ['ml-train-prod', 'ml-batch-prod'].map(
        (p) =>
          `gcloud logging sinks create costguard-preemptions pubsub.googleapis.com/projects/${HOST}/topics/costguard-preemptions --project=${p} --log-filter=logName="projects/${p}/logs/cloudaudit.googleapis.com%2Fsystem_event" AND protoPayload.methodName="compute.instances.preempted" --quiet`,
      ),
    );
    expect(find(plan, 'pubsub', 'topics', 'create', 'costguard-preemptions')).toHaveLength(1);
    expect(find(plan, 'eventarc', 'triggers', 'create').map(words).join('\n')).not.toContain(
      'preempted',
    );
  });

  it('are published only by each sink writer, read when the sink exists', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));
    const step = stepTitled(plan, 'The costguard-preemptions sink of ml-train-prod may publish');
    const writer = 'serviceAccount:service-1@gcp-sa-logging.iam.gserviceaccount.com';

    const chosen = step.probe?.choose({ ok: true, stdout: `${writer}\n` }, {}) ?? [];

    expect(chosen.map(words)).toEqual([
      `gcloud pubsub topics add-iam-policy-binding costguard-preemptions --project=${HOST} --member=${writer} --role=roles/pubsub.publisher --format=none --quiet`,
    ]);
    expect(step.probe?.choose({ ok: false, stdout: '' }, {})).toEqual([]);
  });
});

describe('instance inserts beyond the host project', () => {
  it("reach enforceLabelsOnCreate through a Logging sink of each other governed project's Admin Activity inserts, a topic and a Pub/Sub trigger", () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));

    const sinks = find(plan, 'logging', 'sinks', 'create', 'costguard-instance-inserts').map(words);
    expect(sinks).toEqual(
      ['ml-train-prod', 'ml-batch-prod'].map(
        (p) =>
          `gcloud logging sinks create costguard-instance-inserts pubsub.googleapis.com/projects/${HOST}/topics/costguard-instance-inserts --project=${p} --log-filter=logName="projects/${p}/logs/cloudaudit.googleapis.com%2Factivity" AND protoPayload.serviceName="compute.googleapis.com" AND protoPayload.methodName=("v1.compute.instances.insert" OR "beta.compute.instances.insert") --quiet`,
      ),
    );
    expect(find(plan, 'pubsub', 'topics', 'create', 'costguard-instance-inserts')).toHaveLength(1);
    const trigger = stepTitled(plan, 'Eventarc trigger costguard-instance-insert-sinks');
    expect(trigger.commands.map(words)).toEqual([
      `gcloud eventarc triggers create costguard-instance-insert-sinks --location=${REGION} --project=${HOST} --destination-run-service=costguard-enforce-labels-on-create --destination-run-region=${REGION} --service-account=costguard-events@${HOST}.iam.gserviceaccount.com --transport-topic=projects/${HOST}/topics/costguard-instance-inserts --event-filters=type=google.cloud.pubsub.topic.v1.messagePublished --quiet`,
    ]);
    // A trigger's transport topic is fixed: a re-deploy updates the rest only.
    const update = trigger.probe?.choose({ ok: true, stdout: 'name\n' }, {}) ?? [];
    expect(update.map(words).join('\n')).not.toContain('--transport-topic');
  });

  it('lets each sink writer publish to the topic, read when the sink exists', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));
    const step = stepTitled(
      plan,
      'The costguard-instance-inserts sink of ml-batch-prod may publish',
    );
    const writer = 'serviceAccount:service-2@gcp-sa-logging.iam.gserviceaccount.com';

    const chosen = step.probe?.choose({ ok: true, stdout: `${writer}\n` }, {}) ?? [];

    expect(chosen.map(words)).toEqual([
      `gcloud pubsub topics add-iam-policy-binding costguard-instance-inserts --project=${HOST} --member=${writer} --role=roles/pubsub.publisher --format=none --quiet`,
    ]);
  });

  it('adds no sink, topic or trigger when the host project is the only one governed: Eventarc sees it', () => {
    const plan = planDeploy(deployInputs(['--projects', HOST]));

    const all = plan.steps.flatMap((s) => s.commands.map(words)).join('\n');

    expect(all).not.toContain('costguard-instance-inserts');
    expect(all).not.toContain('costguard-instance-insert-sinks');
    expect(all).toContain('costguard-instance-insert-beta');
  });
});

describe('the resume tick', () => {
  const withoutResume = (): string[] => {
    const pipelines = JSON.parse(readFileSync(`${FIXTURES}/pipelines.json`, 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    for (const p of Object.values(pipelines)) delete p.resume;
    const file = join(mkdtempSync(join(tmpdir(), 'costguard-pipelines-')), 'pipelines.json');
    writeFileSync(file, JSON.stringify(pipelines));
    return FULL_ARGS.map((arg) => (arg === `${FIXTURES}/pipelines.json` ? file : arg));
  };

  it('publishes {"task":"resume-runs"} to the preemptions topic every 5 minutes when a pipeline resumes', () => {
    const plan = planDeploy(deployInputs(FULL_ARGS));
    const step = stepTitled(plan, 'Cloud Scheduler job costguard-resume-runs');

    expect(step.commands.map(words)).toEqual([
      `gcloud scheduler jobs create pubsub costguard-resume-runs --location=${REGION} --project=${HOST} --schedule=*/5 * * * * --time-zone=Etc/UTC --topic=costguard-preemptions --message-body={"task":"resume-runs"} --description=costguard: resumes preempted runs whose backoff is over --quiet`,
    ]);
    expect(step.probe?.choose({ ok: true, stdout: 'x' }, {})[0]?.argv.slice(1, 5)).toEqual([
      'scheduler',
      'jobs',
      'update',
      'pubsub',
    ]);
  });

  it.each([
    { case: 'no pipeline', args: [] as string[] },
    { case: 'pipelines that do not resume', args: withoutResume() },
  ])('is not created with $case', ({ args }) => {
    const plan = planDeploy(deployInputs(args));

    expect(find(plan, 'scheduler', 'costguard-resume-runs')).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { migrationFiles } from '../../functions/adapters/bigquery.js';
import { repositoryPath } from '../../functions/core/repository-path.js';
import { loadPipelines } from '../../deploy/load-inputs.js';
import { parseTeardownOptions } from '../../deploy/options.js';
import { planTeardown } from '../../deploy/plan-teardown.js';
import type { Plan } from '../../deploy/plan.js';
import { ACCOUNT, FIXTURES, HOST, REGION } from './deploy-fixtures.js';

const BASE = ['--project', HOST, '--region', REGION];
const pipelines = () =>
  loadPipelines(`${FIXTURES}/pipelines.json`, ['ml-train-prod', 'ml-batch-prod']).bindings;
const teardown = (extra: string[] = [], withPipelines = false): Plan =>
  planTeardown({
    options: parseTeardownOptions([...BASE, ...extra]),
    pipelines: withPipelines ? pipelines() : [],
  });
const lines = (plan: Plan) => plan.steps.flatMap((s) => s.commands.map((c) => c.argv.join(' ')));
const indexOf = (plan: Plan, text: string) => lines(plan).findIndex((l) => l.includes(text));

describe('the teardown plan', () => {
  it('with the dataset kept, removes only costguard ledger roles from each table, read from its policy', () => {
    const plan = planTeardown({
      options: parseTeardownOptions(BASE),
      pipelines: [],
      sql: migrationFiles(repositoryPath('sql')),
    });
    const step = plan.steps.find((s) => s.title.endsWith('on costguard.enforcement_actions'));
    const budget = `serviceAccount:costguard-budget@${HOST}.iam.gserviceaccount.com`;
    const policy = {
      bindings: [
        { role: `projects/${HOST}/roles/costguardLedgerAppender`, members: [budget] },
        { role: 'roles/bigquery.dataViewer', members: [budget, 'group:finops@example.com'] },
      ],
    };

    const removals = step?.probe?.choose({ ok: true, stdout: JSON.stringify(policy) }, {});

    expect(step?.probe?.argv).toEqual([
      'bq',
      `--project_id=${HOST}`,
      'get-iam-policy',
      '--format=json',
      `${HOST}:costguard.enforcement_actions`,
    ]);
    expect(removals?.map((c) => c.argv.join(' '))).toEqual([
      `bq --project_id=${HOST} remove-iam-policy-binding --member=${budget} --role=projects/${HOST}/roles/costguardLedgerAppender ${HOST}:costguard.enforcement_actions`,
    ]);
    expect(
      lines(plan).some(
        (l) => l === `gcloud iam roles delete costguardLedgerReader --project=${HOST} --quiet`,
      ),
    ).toBe(true);
  });

  it("removes the insert routing: each governed project's sink, the topic and the Pub/Sub trigger", () => {
    const plan = teardown(['--projects', 'ml-train-prod,ml-batch-prod']);

    const removed = lines(plan).filter((l) => l.includes('costguard-instance-insert'));

    expect(removed).toEqual([
      `gcloud eventarc triggers delete costguard-instance-insert-beta --location=global --project=${HOST} --quiet`,
      `gcloud eventarc triggers delete costguard-instance-insert-sinks --location=${REGION} --project=${HOST} --quiet`,
      'gcloud logging sinks delete costguard-instance-inserts --project=ml-train-prod --quiet',
      'gcloud logging sinks delete costguard-instance-inserts --project=ml-batch-prod --quiet',
      `gcloud pubsub topics delete costguard-instance-inserts --project=${HOST} --quiet`,
    ]);
  });

  it('removes what calls the functions first, then the functions, then their identities', () => {
    const plan = teardown(['--billing-account', ACCOUNT]);

    const order = [
      'scheduler jobs delete costguard-record-spot-costs',
      'eventarc triggers delete costguard-instance-insert-beta',
      'functions delete costguard-enforce-budget',
      'billing budgets delete',
      'pubsub topics delete costguard-budget-alerts',
      'secrets delete costguard-slack-bot-token',
      'projects remove-iam-policy-binding',
      'iam roles delete costguardBudgetEnforcer',
      'iam service-accounts delete costguard-budget@',
    ].map((text) => indexOf(plan, text));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('deletes each of the eight functions, whether or not triggerRun and slackActions were deployed', () => {
    const deletes = lines(teardown()).filter((l) => l.startsWith('gcloud functions delete'));

    expect(deletes.map((l) => l.split(' ')[3])).toEqual([
      'costguard-record-spot-costs',
      'costguard-enforce-budget',
      'costguard-enforce-spot-cap',
      'costguard-enforce-labels',
      'costguard-enforce-labels-on-create',
      'costguard-record-preemption',
      'costguard-trigger-run',
      'costguard-slack-actions',
    ]);
    expect(deletes.every((l) => l.includes('--gen2') && l.includes(`--region=${REGION}`))).toBe(
      true,
    );
  });

  it.each([
    { case: 'without --delete-data', args: [], present: 'REVOKE', absent: 'rm -r -f -d' },
    {
      case: 'with --delete-data',
      args: ['--delete-data'],
      present: 'rm -r -f -d',
      absent: 'REVOKE',
    },
  ])('keeps or deletes the ledger dataset $case', ({ args, present, absent }) => {
    const plan = teardown(args);

    expect(lines(plan).some((l) => l.includes(present))).toBe(true);
    expect(lines(plan).some((l) => l.includes(absent))).toBe(false);
  });

  it('deletes the resume tick job, found by its name, with the scheduled jobs before any function', () => {
    const plan = teardown();
    const step = plan.steps.find((s) => s.title === 'Cloud Scheduler job costguard-resume-runs');

    expect(step?.probe?.argv.join(' ')).toBe(
      `gcloud scheduler jobs describe costguard-resume-runs --location=${REGION} --project=${HOST} --format=value(name)`,
    );
    expect(indexOf(plan, 'scheduler jobs delete costguard-resume-runs')).toBeGreaterThanOrEqual(0);
    expect(indexOf(plan, 'scheduler jobs delete costguard-resume-runs')).toBeLessThan(
      indexOf(plan, 'functions delete costguard-record-preemption'),
    );
  });

  it('revokes dataset access only from the accounts that hold it', () => {
    const step = teardown().steps.find((s) => s.title.startsWith('Keep dataset'));

    const held = JSON.stringify({
      access: [{ role: 'WRITER', userByEmail: `costguard-labels@${HOST}.iam.gserviceaccount.com` }],
    });
    const [revoke] = step?.probe?.choose({ ok: true, stdout: held }, {}) ?? [];
    expect(revoke?.argv.at(-1)).toBe(
      `REVOKE \`roles/bigquery.dataEditor\` ON SCHEMA \`${HOST}\`.costguard FROM "serviceAccount:costguard-labels@${HOST}.iam.gserviceaccount.com"`,
    );
    expect(step?.probe?.choose({ ok: true, stdout: '{"access":[]}' }, {})).toEqual([]);
    expect(step?.probe?.choose({ ok: false, stdout: '' }, {})).toEqual([]);
  });

  it('removes the budget, found by its name, only when given the billing account', () => {
    const without = teardown();
    const withAccount = teardown(['--billing-account', ACCOUNT]);

    expect(lines(without).some((l) => l.includes('budgets'))).toBe(false);
    expect(without.summary.join('\n')).toContain('give --billing-account');
    const step = withAccount.steps.find((s) => s.title.startsWith('Budget'));
    const chosen = step?.probe?.choose(
      { ok: true, stdout: `billingAccounts/${ACCOUNT}/budgets/b-1\n` },
      {},
    );
    expect(chosen?.map((c) => c.argv.join(' '))).toEqual([
      `gcloud billing budgets delete b-1 --billing-account=${ACCOUNT} --quiet`,
    ]);
  });

  it('removes only the project bindings a costguard account actually holds', () => {
    const step = teardown().steps.find((s) =>
      s.title.startsWith(`Project roles of costguard's service accounts in ${HOST}`),
    );
    const policy = JSON.stringify({
      bindings: [
        {
          role: 'roles/bigquery.jobUser',
          members: [
            `serviceAccount:costguard-budget@${HOST}.iam.gserviceaccount.com`,
            'user:ana@example.com',
          ],
        },
        {
          role: 'roles/owner',
          members: [`serviceAccount:costguard-budget@${HOST}.iam.gserviceaccount.com`],
        },
        {
          role: `projects/${HOST}/roles/costguardRecorder`,
          members: [`serviceAccount:costguard-recorder@${HOST}.iam.gserviceaccount.com`],
        },
      ],
    });

    const removals =
      step?.probe?.choose({ ok: true, stdout: policy }, {}).map((c) => c.argv.join(' ')) ?? [];

    expect(removals).toEqual([
      `gcloud projects remove-iam-policy-binding ${HOST} --member=serviceAccount:costguard-recorder@${HOST}.iam.gserviceaccount.com --role=projects/${HOST}/roles/costguardRecorder --all --format=none --quiet`,
      `gcloud projects remove-iam-policy-binding ${HOST} --member=serviceAccount:costguard-budget@${HOST}.iam.gserviceaccount.com --role=roles/bigquery.jobUser --all --format=none --quiet`,
    ]);
  });

  it('with the pipelines file, removes the per-VM, per-job and per-bucket bindings', () => {
    const plan = teardown([], true);

    const unbinds = lines(plan).filter(
      (l) => l.includes('remove-iam-policy-binding') && l.includes('costguard-runs@'),
    );
    expect(unbinds.map((l) => l.split(' ').slice(1, 5).join(' '))).toEqual(
      expect.arrayContaining([
        'compute instances remove-iam-policy-binding batch-runner',
        'compute instances remove-iam-policy-binding batch-report',
        'run jobs remove-iam-policy-binding embeddings-job',
        'storage buckets remove-iam-policy-binding gs://ml-batch-results',
        'storage buckets remove-iam-policy-binding gs://ml-embeddings-out',
      ]),
    );
    expect(lines(plan).filter((l) => l.includes('iam roles delete costguardRunVm'))).toHaveLength(
      2,
    );
  });

  it("with the pipelines file, removes slackActions' cancel bindings on each VM, its service account, job and bucket, and its role", () => {
    const plan = teardown([], true);

    const unbinds = lines(plan).filter(
      (l) => l.includes('remove-iam-policy-binding') && l.includes('costguard-slack-actions@'),
    );
    expect(
      unbinds
        .filter((l) => l.startsWith('gcloud ') && !l.startsWith('gcloud projects'))
        .map((l) => `${l.split(' ').slice(1, 5).join(' ')} ${l.match(/--role=(\S+)/)?.[1]}`),
    ).toEqual([
      'compute instances remove-iam-policy-binding batch-runner projects/ml-batch-prod/roles/costguardRunCanceller',
      'compute instances remove-iam-policy-binding batch-report projects/ml-batch-prod/roles/costguardRunCanceller',
      'run jobs remove-iam-policy-binding embeddings-job projects/ml-batch-prod/roles/costguardRunJob',
      'storage buckets remove-iam-policy-binding gs://ml-batch-results roles/storage.objectViewer',
      'storage buckets remove-iam-policy-binding gs://ml-embeddings-out roles/storage.objectViewer',
      // actAs on each VM's service account, read at teardown time.
      'iam service-accounts remove-iam-policy-binding VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
      'iam service-accounts remove-iam-policy-binding VM_SERVICE_ACCOUNT roles/iam.serviceAccountUser',
    ]);
    expect(lines(plan).some((l) => l.includes('iam roles delete costguardRunCanceller'))).toBe(
      true,
    );
  });

  it.each([
    { case: 'present', found: { ok: true, stdout: 'x' }, count: 1 },
    { case: 'already gone', found: { ok: false, stdout: '' }, count: 0 },
  ])('deletes a resource only when it is $case', ({ found, count }) => {
    const step = teardown().steps.find((s) => s.title.startsWith('Pub/Sub topic'));

    expect(step?.probe?.choose(found, {})).toHaveLength(count);
  });
});

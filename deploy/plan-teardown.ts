import type { PipelineBinding } from './function-settings.js';
import { getPolicy, removeBinding, rolesHeld, type IamResource } from './iam-steps.js';
import type { TeardownOptions } from './options.js';
import {
  ALL_ROLES,
  BIGQUERY_DATA_EDITOR,
  BIGQUERY_JOB_USER,
  BILLING_VIEWER,
  customRoleName,
  EVENT_RECEIVER,
  OBJECT_VIEWER,
  PROJECT_ROLES,
  ROLES,
  SERVICE_ACCOUNT_USER,
} from './permissions.js';
import { bq, gcloud, type Command, type Plan, type Step } from './plan.js';
import {
  AUDIT_TRIGGER_LOCATION,
  BETA_INSERT_TRIGGER,
  budgetDisplayName,
  BUDGET_TOPIC,
  EVENTS_ACCOUNT,
  FUNCTIONS,
  functionSpec,
  member,
  SCHEDULER_ACCOUNT,
  serviceAccountEmail,
  SLACK_SECRET,
  VM_SERVICE_ACCOUNT_PLACEHOLDER,
} from './resources.js';

/**
 * The teardown plan: everything deploy creates, in reverse order, each removed only if it is
 * there (so teardown can be run again, or after a partial deploy). The ledger dataset stays
 * unless `--delete-data`; then only the functions' access to it is revoked.
 */
export interface TeardownInputs {
  readonly options: TeardownOptions;
  readonly pipelines: readonly PipelineBinding[];
}

function deleteIfPresent(title: string, describe: string[], remove: Command): Step {
  return {
    title,
    commands: [remove],
    probe: { argv: describe, choose: (found) => (found.ok ? [remove] : []) },
  };
}

/** Removes `principal`'s bindings of `roles` on a resource, reading its policy first. */
function unbindStep(
  title: string,
  resource: IamResource,
  principal: string,
  roles: readonly string[],
): Step {
  return {
    title,
    commands: roles.map((role) => removeBinding(resource, principal, role)),
    probe: {
      argv: getPolicy(resource),
      choose: (policy) => {
        const held = rolesHeld(policy, principal);
        return roles
          .filter((r) => held.includes(r))
          .map((r) => removeBinding(resource, principal, r));
      },
    },
  };
}

export function planTeardown({ options, pipelines }: TeardownInputs): Plan {
  const { project, region, projects, dataset, billingAccount } = options;
  const accounts = [...FUNCTIONS.map((f) => f.account), SCHEDULER_ACCOUNT, EVENTS_ACCOUNT];
  const emails = accounts.map((a) => serviceAccountEmail(a, project));
  const runs = member(serviceAccountEmail(functionSpec('triggerRun').account, project));
  const roleProjects = [...new Set([...projects, ...pipelines.map((p) => p.project)])];

  const steps: Step[] = [
    ...FUNCTIONS.filter((f) => f.trigger.kind === 'scheduled').map((f) => {
      const job = f.trigger.kind === 'scheduled' ? f.trigger.job : f.name;
      const where = [job, `--location=${region}`, `--project=${project}`];
      return deleteIfPresent(
        `Cloud Scheduler job ${job}`,
        ['gcloud', 'scheduler', 'jobs', 'describe', ...where, '--format=value(name)'],
        gcloud('scheduler', 'jobs', 'delete', ...where, '--quiet'),
      );
    }),
    (() => {
      const where = [
        BETA_INSERT_TRIGGER,
        `--location=${AUDIT_TRIGGER_LOCATION}`,
        `--project=${project}`,
      ];
      return deleteIfPresent(
        `Eventarc trigger ${BETA_INSERT_TRIGGER}`,
        ['gcloud', 'eventarc', 'triggers', 'describe', ...where, '--format=value(name)'],
        gcloud('eventarc', 'triggers', 'delete', ...where, '--quiet'),
      );
    })(),
    ...FUNCTIONS.map((f) => {
      const where = [f.name, '--gen2', `--region=${region}`, `--project=${project}`];
      return deleteIfPresent(
        `Function ${f.name} (${f.target}) and its trigger`,
        ['gcloud', 'functions', 'describe', ...where, '--format=value(name)'],
        gcloud('functions', 'delete', ...where, '--quiet'),
      );
    }),
  ];

  if (billingAccount) {
    const remove = (id: string) =>
      gcloud('billing', 'budgets', 'delete', id, `--billing-account=${billingAccount}`, '--quiet');
    steps.push({
      title: `Budget ${budgetDisplayName(project)} on ${billingAccount}`,
      commands: [remove('BUDGET_ID')],
      note: 'the budget id is looked up by display name at run time',
      probe: {
        argv: [
          'gcloud',
          'billing',
          'budgets',
          'list',
          `--billing-account=${billingAccount}`,
          `--filter=displayName=${budgetDisplayName(project)}`,
          '--format=value(name)',
        ],
        choose: (found) =>
          found.ok
            ? found.stdout
                .split('\n')
                .map((line) => line.trim().split('/').pop())
                .filter((id): id is string => !!id)
                .map(remove)
            : [],
      },
    });
    steps.push(
      unbindStep(
        `Billing Account Viewer of the budget function on ${billingAccount}`,
        { kind: 'billing-account', account: billingAccount },
        member(serviceAccountEmail(functionSpec('enforceBudget').account, project)),
        [BILLING_VIEWER],
      ),
    );
  }

  steps.push(
    deleteIfPresent(
      `Pub/Sub topic ${BUDGET_TOPIC}`,
      [
        'gcloud',
        'pubsub',
        'topics',
        'describe',
        BUDGET_TOPIC,
        `--project=${project}`,
        '--format=value(name)',
      ],
      gcloud('pubsub', 'topics', 'delete', BUDGET_TOPIC, `--project=${project}`, '--quiet'),
    ),
    deleteIfPresent(
      `Secret ${SLACK_SECRET}`,
      [
        'gcloud',
        'secrets',
        'describe',
        SLACK_SECRET,
        `--project=${project}`,
        '--format=value(name)',
      ],
      gcloud('secrets', 'delete', SLACK_SECRET, `--project=${project}`, '--quiet'),
    ),
  );

  for (const pipeline of pipelines) {
    if (pipeline.vm) {
      const { zone, instance } = pipeline.vm;
      steps.push(
        unbindStep(
          `triggerRun's role on VM ${pipeline.project}/${zone}/${instance}`,
          { kind: 'instance', project: pipeline.project, zone, instance },
          runs,
          [customRoleName(pipeline.project, ROLES.runVm)],
        ),
      );
    }
    if (pipeline.job) {
      steps.push(
        unbindStep(
          `triggerRun's role on Cloud Run job ${pipeline.job.name}`,
          {
            kind: 'run-job',
            project: pipeline.project,
            region: pipeline.job.region,
            job: pipeline.job.name,
          },
          runs,
          [customRoleName(pipeline.project, ROLES.runJob)],
        ),
      );
    }
  }
  const buckets = new Map(pipelines.flatMap((p) => (p.bucket ? [[p.bucket, p] as const] : [])));
  for (const [bucket, pipeline] of buckets) {
    steps.push(
      unbindStep(
        `triggerRun's read access to gs://${bucket}`,
        { kind: 'bucket', project: pipeline.project, bucket },
        runs,
        [OBJECT_VIEWER],
      ),
    );
  }

  const datasetName = `${project}:${dataset}`;
  if (options.deleteData) {
    steps.push(
      deleteIfPresent(
        `BigQuery dataset ${datasetName} with every table, view and row (--delete-data)`,
        ['bq', `--project_id=${project}`, 'show', '--format=none', datasetName],
        bq(`--project_id=${project}`, 'rm', '-r', '-f', '-d', datasetName),
      ),
    );
  } else {
    const revoke = (granted: readonly string[]) =>
      bq(
        `--project_id=${project}`,
        `--location=${options.bqLocation}`,
        'query',
        '--use_legacy_sql=false',
        `REVOKE \`${BIGQUERY_DATA_EDITOR}\` ON SCHEMA \`${project}\`.${dataset} FROM ${granted
          .map((e) => `"${member(e)}"`)
          .join(', ')}`,
      );
    const functionEmails = FUNCTIONS.map((f) => serviceAccountEmail(f.account, project));
    steps.push({
      title: `Keep dataset ${datasetName} (give --delete-data to delete it); revoke the functions' access to it`,
      commands: [revoke(functionEmails)],
      probe: {
        argv: ['bq', `--project_id=${project}`, 'show', '--format=json', datasetName],
        choose: (found) => {
          const granted = found.ok ? functionEmails.filter((e) => found.stdout.includes(e)) : [];
          return granted.length > 0 ? [revoke(granted)] : [];
        },
      },
    });
  }

  // Project bindings go before the accounts: a deleted account's bindings linger as `deleted:`.
  for (const p of [...new Set([project, ...roleProjects])]) {
    steps.push(projectUnbindStep(p, options, pipelines));
  }
  for (const pipeline of pipelines.filter((p) => p.vm)) {
    steps.push({
      title: `triggerRun's actAs on the service account of VM ${pipeline.vm?.instance}`,
      note: 'removed from the service account the VM runs as, read at run time',
      commands: [
        removeBinding(
          {
            kind: 'service-account',
            project: pipeline.project,
            email: VM_SERVICE_ACCOUNT_PLACEHOLDER,
          },
          runs,
          SERVICE_ACCOUNT_USER,
        ),
      ],
      probe: {
        argv: [
          'gcloud',
          'compute',
          'instances',
          'describe',
          pipeline.vm?.instance ?? '',
          `--zone=${pipeline.vm?.zone ?? ''}`,
          `--project=${pipeline.project}`,
          '--format=value(serviceAccounts[0].email)',
        ],
        choose: (found) => {
          const email = found.ok ? found.stdout.trim() : '';
          return email
            ? [
                removeBinding(
                  { kind: 'service-account', project: pipeline.project, email },
                  runs,
                  SERVICE_ACCOUNT_USER,
                ),
              ]
            : [];
        },
      },
    });
  }
  for (const p of roleProjects) {
    for (const role of ALL_ROLES) {
      const remove = gcloud('iam', 'roles', 'delete', role.id, `--project=${p}`, '--quiet');
      steps.push({
        title: `Custom role ${customRoleName(p, role)}`,
        commands: [remove],
        probe: {
          argv: [
            'gcloud',
            'iam',
            'roles',
            'describe',
            role.id,
            `--project=${p}`,
            '--format=value(deleted)',
          ],
          choose: (found) =>
            found.ok && found.stdout.trim().toLowerCase() !== 'true' ? [remove] : [],
        },
      });
    }
  }
  for (const email of emails) {
    steps.push(
      deleteIfPresent(
        `Service account ${email}`,
        [
          'gcloud',
          'iam',
          'service-accounts',
          'describe',
          email,
          `--project=${project}`,
          '--format=value(email)',
        ],
        gcloud('iam', 'service-accounts', 'delete', email, `--project=${project}`, '--quiet'),
      ),
    );
  }

  const summary = [
    `costguard is removed from ${project} (${region}).`,
    options.deleteData
      ? `The ledger dataset ${datasetName} is deleted.`
      : `The ledger dataset ${datasetName} is kept; remove it with --delete-data.`,
    ...(billingAccount ? [] : ['The budget is kept: give --billing-account to remove it.']),
    'Enabled APIs stay enabled, and the build images Cloud Functions keeps in Artifact Registry (gcf-artifacts) stay.',
  ];
  return { steps, summary };
}

/** The project-level bindings deploy makes in `p`: role by principal. */
export function projectGrants(
  p: string,
  options: TeardownOptions,
  pipelines: readonly PipelineBinding[],
): Array<{ principal: string; role: string }> {
  const { project, projects } = options;
  const grants: Array<{ principal: string; role: string }> = [];
  for (const f of FUNCTIONS) {
    const principal = member(serviceAccountEmail(f.account, project));
    if (projects.includes(p)) {
      for (const role of PROJECT_ROLES[f.target])
        grants.push({ principal, role: customRoleName(p, role) });
    }
    if (p === project) grants.push({ principal, role: BIGQUERY_JOB_USER });
  }
  if (p === project) {
    grants.push({
      principal: member(serviceAccountEmail(EVENTS_ACCOUNT, project)),
      role: EVENT_RECEIVER,
    });
  }
  if (pipelines.some((pipeline) => pipeline.project === p)) {
    grants.push({
      principal: member(serviceAccountEmail(functionSpec('triggerRun').account, project)),
      role: customRoleName(p, ROLES.runObserver),
    });
  }
  return grants;
}

/**
 * One read of the project's policy; then every binding of a costguard account to a costguard
 * role is removed, including ones a changed deploy may have left behind.
 */
function projectUnbindStep(
  p: string,
  options: TeardownOptions,
  pipelines: readonly PipelineBinding[],
): Step {
  const resource: IamResource = { kind: 'project', project: p };
  const accounts = [...FUNCTIONS.map((f) => f.account), SCHEDULER_ACCOUNT, EVENTS_ACCOUNT];
  const principals = accounts.map((a) => member(serviceAccountEmail(a, options.project)));
  const roles = [
    ...ALL_ROLES.map((role) => customRoleName(p, role)),
    ...(p === options.project ? [BIGQUERY_JOB_USER, EVENT_RECEIVER] : []),
  ];
  return {
    title: `Project roles of costguard's service accounts in ${p}`,
    commands: projectGrants(p, options, pipelines).map((g) =>
      removeBinding(resource, g.principal, g.role),
    ),
    probe: {
      argv: getPolicy(resource),
      choose: (policy) =>
        principals.flatMap((principal) => {
          const held = rolesHeld(policy, principal);
          return roles
            .filter((r) => held.includes(r))
            .map((r) => removeBinding(resource, principal, r));
        }),
    },
  };
}

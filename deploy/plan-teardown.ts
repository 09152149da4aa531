/**
 * The teardown plan: everything deploy creates, in reverse order, each removed only if it is
 * there (so teardown can be run again, or after a partial deploy). The ledger dataset stays
 * unless `--delete-data`; then only the functions' access to it is revoked.
 */

import { pipelineBuckets, pipelineProjects, type PipelineBinding } from './function-settings.js';
import { getPolicy, removeBinding, rolesHeld, type IamResource } from './iam-steps.js';
import { ALL_LEDGER_ROLES, ledgerGrants } from './ledger-access.js';
import type { TeardownOptions } from './options.js';
import {
  ALL_ROLES,
  batchVmRole,
  BIGQUERY_DATA_EDITOR,
  BIGQUERY_JOB_USER,
  BILLING_VIEWER,
  customRoleName,
  EVENT_RECEIVER,
  OBJECT_VIEWER,
  projectGrants,
  ROLES,
  SERVICE_ACCOUNT_USER,
  type CustomRole,
} from './permissions.js';
import {
  bq,
  bqQuery,
  gcloud,
  type Command,
  type Plan,
  type ProbeOutcome,
  type Step,
} from './plan.js';
import {
  eventarcTriggerArgs,
  budgetIds,
  customRoleState,
  describeEventarcTrigger,
  describeCustomRole,
  describeSchedulerJob,
  describeSecret,
  describeServiceAccount,
  describeSink,
  describeTopic,
  describeVmServiceAccount,
  listBudgets,
  schedulerJobArgs,
  showDataset,
} from './probes.js';
import {
  ALL_ACCOUNTS,
  AUDIT_TRIGGER_LOCATION,
  BETA_INSERT_TRIGGER,
  budgetDisplayName,
  BUDGET_TOPIC,
  PREEMPTION_SINK,
  PREEMPTION_TOPIC,
  INSERT_SINK,
  INSERT_TOPIC,
  INSERT_TOPIC_TRIGGER,
  RESUME_JOB,
  FUNCTIONS,
  functionSpec,
  member,
  serviceAccountEmail,
  SLACK_SECRET,
  SLACK_SIGNING_SECRET,
  VM_SERVICE_ACCOUNT_PLACEHOLDER,
} from './resources.js';

export interface TeardownInputs {
  readonly options: TeardownOptions;
  readonly pipelines: readonly PipelineBinding[];
  /** The migration, whose views say which tables a function's reads reach. */
  readonly sql?: ReadonlyArray<{ readonly sql: string }>;
}

function deleteIfPresent(title: string, describe: readonly string[], remove: Command): Step {
  return {
    title,
    commands: [remove],
    probe: { argv: describe, choose: (found) => (found.ok ? [remove] : []) },
  };
}

/** The removals of those of `roles` that `principal` holds in a policy the probe read. */
function heldRemovals(
  policy: ProbeOutcome,
  resource: IamResource,
  principal: string,
  roles: readonly string[],
): Command[] {
  const held = rolesHeld(policy, principal);
  return roles.filter((r) => held.includes(r)).map((r) => removeBinding(resource, principal, r));
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
      choose: (policy) => heldRemovals(policy, resource, principal, roles),
    },
  };
}

function customRoleDeleteStep(p: string, role: CustomRole): Step {
  const remove = gcloud('iam', 'roles', 'delete', role.id, `--project=${p}`, '--quiet');
  return {
    title: `Custom role ${customRoleName(p, role)}`,
    commands: [remove],
    probe: {
      argv: describeCustomRole(role, p),
      choose: (found) => (customRoleState(found) === 'present' ? [remove] : []),
    },
  };
}

/**
 * With the dataset kept, every table a function was given a role on loses the bindings of
 * costguard's accounts to costguard's ledger roles, read from the table's own policy.
 */
function ledgerUnbindSteps(
  options: TeardownOptions,
  sql: ReadonlyArray<{ readonly sql: string }>,
): Step[] {
  const { project, dataset } = options;
  const grants = FUNCTIONS.flatMap((f) =>
    ledgerGrants(f.target, sql).map((g) => ({
      ...g,
      principal: member(serviceAccountEmail(f.account, project)),
    })),
  );
  const tables = [...new Set(grants.map((g) => g.table))].sort();
  const principals = FUNCTIONS.map((f) => member(serviceAccountEmail(f.account, project)));
  const roles = ALL_LEDGER_ROLES.map((role) => customRoleName(project, role));
  return tables.map((table) => {
    const resource: IamResource = { kind: 'table', project, dataset, table };
    return {
      title: `Ledger roles of costguard's service accounts on ${dataset}.${table}`,
      commands: grants
        .filter((g) => g.table === table)
        .map((g) => removeBinding(resource, g.principal, customRoleName(project, g.role))),
      probe: {
        argv: getPolicy(resource),
        choose: (policy) =>
          principals.flatMap((principal) => heldRemovals(policy, resource, principal, roles)),
      },
    };
  });
}

export function planTeardown({ options, pipelines, sql = [] }: TeardownInputs): Plan {
  const { project, region, projects, dataset, billingAccount } = options;
  const emails = ALL_ACCOUNTS.map((a) => serviceAccountEmail(a, project));
  const runs = member(serviceAccountEmail(functionSpec('triggerRun').account, project));
  const roleProjects = [...new Set([...projects, ...pipelineProjects(pipelines)])];
  const scheduledJobs = [
    ...FUNCTIONS.flatMap((f) => (f.trigger.kind === 'scheduled' ? [f.trigger.job] : [])),
    RESUME_JOB.name,
  ];

  const steps: Step[] = [
    ...scheduledJobs.map((job) =>
      deleteIfPresent(
        `Cloud Scheduler job ${job}`,
        describeSchedulerJob(job, region, project),
        gcloud('scheduler', 'jobs', 'delete', ...schedulerJobArgs(job, region, project), '--quiet'),
      ),
    ),
    ...[
      { name: BETA_INSERT_TRIGGER, location: AUDIT_TRIGGER_LOCATION },
      { name: INSERT_TOPIC_TRIGGER, location: region },
    ].map(({ name, location }) =>
      deleteIfPresent(
        `Eventarc trigger ${name}`,
        describeEventarcTrigger(name, location, project),
        gcloud(
          'eventarc',
          'triggers',
          'delete',
          ...eventarcTriggerArgs(name, location, project),
          '--quiet',
        ),
      ),
    ),
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
        argv: listBudgets(billingAccount, project),
        choose: (found) => (found.ok ? budgetIds(found.stdout).map(remove) : []),
      },
    });
    // The cap enforcer holds it where its caps follow a budget of this account.
    for (const target of ['enforceBudget', 'enforceSpotCap'] as const) {
      steps.push(
        unbindStep(
          `Billing Account Viewer of ${target} on ${billingAccount}`,
          { kind: 'billing-account', account: billingAccount },
          member(serviceAccountEmail(functionSpec(target).account, project)),
          [BILLING_VIEWER],
        ),
      );
    }
  }

  // Every governed project may hold either sink (the host holds an insert sink only if it was
  // once governed beside another host); a sink that is absent is skipped.
  for (const sink of [PREEMPTION_SINK, INSERT_SINK]) {
    for (const p of projects) {
      steps.push(
        deleteIfPresent(
          `Logging sink ${sink} in ${p}`,
          describeSink(sink, p),
          gcloud('logging', 'sinks', 'delete', sink, `--project=${p}`, '--quiet'),
        ),
      );
    }
  }
  steps.push(
    ...[PREEMPTION_TOPIC, INSERT_TOPIC].map((topic) =>
      deleteIfPresent(
        `Pub/Sub topic ${topic}`,
        describeTopic(project, topic),
        gcloud('pubsub', 'topics', 'delete', topic, `--project=${project}`, '--quiet'),
      ),
    ),
    deleteIfPresent(
      `Pub/Sub topic ${BUDGET_TOPIC}`,
      describeTopic(project),
      gcloud('pubsub', 'topics', 'delete', BUDGET_TOPIC, `--project=${project}`, '--quiet'),
    ),
    ...[SLACK_SECRET, SLACK_SIGNING_SECRET].map((secret) =>
      deleteIfPresent(
        `Secret ${secret}`,
        describeSecret(project, secret),
        gcloud('secrets', 'delete', secret, `--project=${project}`, '--quiet'),
      ),
    ),
  );

  const preemptions = member(
    serviceAccountEmail(functionSpec('recordPreemption').account, project),
  );
  const slack = member(serviceAccountEmail(functionSpec('slackActions').account, project));
  // The functions that act on pipeline runs; recordPreemption never touches Cloud Run jobs.
  const actors = [
    ['triggerRun', runs],
    ['recordPreemption', preemptions],
    ['slackActions', slack],
  ] as const;
  for (const pipeline of pipelines) {
    for (const { zone, instance } of pipeline.vms ?? []) {
      for (const [who, principal] of actors) {
        steps.push(
          unbindStep(
            `${who}'s role on VM ${pipeline.project}/${zone}/${instance}`,
            { kind: 'instance', project: pipeline.project, zone, instance },
            principal,
            [customRoleName(pipeline.project, batchVmRole(who))],
          ),
        );
      }
    }
    if (pipeline.job) {
      const job = pipeline.job;
      for (const [who, principal] of actors.filter(([who]) => who !== 'recordPreemption')) {
        steps.push(
          unbindStep(
            `${who}'s role on Cloud Run job ${job.name}`,
            { kind: 'run-job', project: pipeline.project, region: job.region, job: job.name },
            principal,
            [customRoleName(pipeline.project, ROLES.runJob)],
          ),
        );
      }
    }
  }
  for (const { bucket, project: bucketProject } of pipelineBuckets(pipelines)) {
    for (const [who, principal] of actors) {
      steps.push(
        unbindStep(
          `${who}'s read access to gs://${bucket}`,
          { kind: 'bucket', project: bucketProject, bucket },
          principal,
          [OBJECT_VIEWER],
        ),
      );
    }
  }

  const datasetName = `${project}:${dataset}`;
  if (options.deleteData) {
    steps.push(
      deleteIfPresent(
        `BigQuery dataset ${datasetName} with every table, view and row (--delete-data)`,
        showDataset(project, dataset, 'none'),
        bq(`--project_id=${project}`, 'rm', '-r', '-f', '-d', datasetName),
      ),
    );
  } else {
    const revoke = (granted: readonly string[]) =>
      bqQuery(
        project,
        options.bqLocation,
        `REVOKE \`${BIGQUERY_DATA_EDITOR}\` ON SCHEMA \`${project}\`.${dataset} FROM ${granted
          .map((e) => `"${member(e)}"`)
          .join(', ')}`,
      );
    const functionEmails = FUNCTIONS.map((f) => serviceAccountEmail(f.account, project));
    steps.push({
      title: `Keep dataset ${datasetName} (give --delete-data to delete it); revoke the functions' access to it`,
      commands: [revoke(functionEmails)],
      probe: {
        argv: showDataset(project, dataset, 'json'),
        choose: (found) => {
          const granted = found.ok ? functionEmails.filter((e) => found.stdout.includes(e)) : [];
          return granted.length > 0 ? [revoke(granted)] : [];
        },
      },
    });
    steps.push(...ledgerUnbindSteps(options, sql));
  }

  // Project bindings go before the accounts: a deleted account's bindings linger as `deleted:`.
  for (const p of [...new Set([project, ...roleProjects])]) {
    steps.push(projectUnbindStep(p, options, pipelines));
  }
  for (const pipeline of pipelines) {
    const pairs = (pipeline.vms ?? []).flatMap((vm) =>
      actors.map(([who, principal]) => [who, principal, vm] as const),
    );
    for (const [who, principal, vm] of pairs) {
      steps.push({
        title: `${who}'s actAs on the service account of VM ${vm.instance}`,
        note: 'removed from the service account the VM runs as, read at run time',
        commands: [
          removeBinding(
            {
              kind: 'service-account',
              project: pipeline.project,
              email: VM_SERVICE_ACCOUNT_PLACEHOLDER,
            },
            principal,
            SERVICE_ACCOUNT_USER,
          ),
        ],
        probe: {
          argv: describeVmServiceAccount(pipeline.project, vm.zone, vm.instance),
          choose: (found) => {
            const email = found.ok ? found.stdout.trim() : '';
            return email
              ? [
                  removeBinding(
                    { kind: 'service-account', project: pipeline.project, email },
                    principal,
                    SERVICE_ACCOUNT_USER,
                  ),
                ]
              : [];
          },
        },
      });
    }
  }

  for (const p of roleProjects) {
    for (const role of ALL_ROLES) steps.push(customRoleDeleteStep(p, role));
  }
  for (const role of ALL_LEDGER_ROLES) steps.push(customRoleDeleteStep(project, role));
  for (const email of emails) {
    steps.push(
      deleteIfPresent(
        `Service account ${email}`,
        describeServiceAccount(email, project),
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
  const principals = ALL_ACCOUNTS.map((a) => member(serviceAccountEmail(a, options.project)));
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
        principals.flatMap((principal) => heldRemovals(policy, resource, principal, roles)),
    },
  };
}

/**
 * The read-only commands deploy and teardown ask a project with before they act, one per kind
 * of resource, and what their answers mean; both plans look for a resource the same way.
 */

import type { CustomRole } from './permissions.js';
import type { ProbeOutcome } from './plan.js';
import { budgetDisplayName, BUDGET_TOPIC, SLACK_SECRET } from './resources.js';

export function describeServiceAccount(email: string, project: string): string[] {
  return [
    'gcloud',
    'iam',
    'service-accounts',
    'describe',
    email,
    `--project=${project}`,
    '--format=value(email)',
  ];
}

export function describeCustomRole(role: CustomRole, project: string): string[] {
  return [
    'gcloud',
    'iam',
    'roles',
    'describe',
    role.id,
    `--project=${project}`,
    '--format=value(deleted)',
  ];
}

/** A deleted custom role keeps its id for 7 days, and cannot be created again meanwhile. */
export function customRoleState(found: ProbeOutcome): 'missing' | 'deleted' | 'present' {
  if (!found.ok) return 'missing';
  return found.stdout.trim().toLowerCase() === 'true' ? 'deleted' : 'present';
}

export function describeTopic(project: string, topic = BUDGET_TOPIC): string[] {
  return [
    'gcloud',
    'pubsub',
    'topics',
    'describe',
    topic,
    `--project=${project}`,
    '--format=value(name)',
  ];
}

/** A Logging sink's writer identity (`serviceAccount:…`), which must publish to its topic. */
export function describeSink(sink: string, project: string): string[] {
  return [
    'gcloud',
    'logging',
    'sinks',
    'describe',
    sink,
    `--project=${project}`,
    '--format=value(writerIdentity)',
  ];
}

export function describeSecret(project: string, secret: string = SLACK_SECRET): string[] {
  return ['gcloud', 'secrets', 'describe', secret, `--project=${project}`, '--format=value(name)'];
}

/**
 * The newest enabled version of a secret, `projects/N/secrets/S/versions/V` (`latest` may name a
 * disabled version, which a function cannot mount).
 */
export function latestSecretVersion(project: string, secret: string): string[] {
  return [
    'gcloud',
    'secrets',
    'versions',
    'list',
    secret,
    `--project=${project}`,
    '--filter=state:ENABLED',
    '--sort-by=~createTime',
    '--limit=1',
    '--format=value(name)',
  ];
}

/** The version number in `latestSecretVersion`'s answer, if it printed one. */
export function secretVersionOf(found: ProbeOutcome): string | undefined {
  return found.ok ? /\/versions\/(\d+)\s*$/.exec(found.stdout)?.[1] : undefined;
}

/** The words that name a scheduler job in its create, update, describe and delete commands. */
export function schedulerJobArgs(job: string, region: string, project: string): string[] {
  return [job, `--location=${region}`, `--project=${project}`];
}

export function describeSchedulerJob(job: string, region: string, project: string): string[] {
  return [
    'gcloud',
    'scheduler',
    'jobs',
    'describe',
    ...schedulerJobArgs(job, region, project),
    '--format=value(name)',
  ];
}

/** The words that name an Eventarc trigger in its create, update and delete commands. */
export function eventarcTriggerArgs(trigger: string, location: string, project: string): string[] {
  return [trigger, `--location=${location}`, `--project=${project}`];
}

export function describeEventarcTrigger(
  trigger: string,
  location: string,
  project: string,
): string[] {
  return [
    'gcloud',
    'eventarc',
    'triggers',
    'describe',
    ...eventarcTriggerArgs(trigger, location, project),
    '--format=value(name)',
  ];
}

/** Budgets are found by display name; their ids are read from the answer with budgetIds. */
export function listBudgets(billingAccount: string, project: string): string[] {
  return [
    'gcloud',
    'billing',
    'budgets',
    'list',
    `--billing-account=${billingAccount}`,
    `--filter=displayName=${budgetDisplayName(project)}`,
    '--format=value(name)',
  ];
}

/** The ids in `billingAccounts/A/budgets/ID` lines, in the order listed. */
export function budgetIds(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().split('/').pop())
    .filter((id): id is string => !!id);
}

export function showDataset(project: string, dataset: string, format: 'none' | 'json'): string[] {
  return ['bq', `--project_id=${project}`, 'show', `--format=${format}`, `${project}:${dataset}`];
}

export function describeVmServiceAccount(
  project: string,
  zone: string,
  instance: string,
): string[] {
  return [
    'gcloud',
    'compute',
    'instances',
    'describe',
    instance,
    `--zone=${zone}`,
    `--project=${project}`,
    '--format=value(serviceAccounts[0].email)',
  ];
}

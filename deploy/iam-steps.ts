/**
 * IAM commands shared by deploy and teardown. Adding a binding that exists is a no-op, so deploy
 * adds without asking; removing one that does not exist is an error, so teardown reads the
 * policy first (`get-iam-policy --format=json`) and removes only what is there.
 */

import { gcloud, type Command, type ProbeOutcome } from './plan.js';

export type IamResource =
  | { readonly kind: 'project'; readonly project: string }
  | { readonly kind: 'billing-account'; readonly account: string }
  | { readonly kind: 'secret'; readonly project: string; readonly secret: string }
  | { readonly kind: 'bucket'; readonly project: string; readonly bucket: string }
  | {
      readonly kind: 'instance';
      readonly project: string;
      readonly zone: string;
      readonly instance: string;
    }
  | {
      readonly kind: 'run-job';
      readonly project: string;
      readonly region: string;
      readonly job: string;
    }
  | { readonly kind: 'service-account'; readonly project: string; readonly email: string }
  | { readonly kind: 'topic'; readonly project: string; readonly topic: string }
  | {
      readonly kind: 'table';
      readonly project: string;
      readonly dataset: string;
      readonly table: string;
    };

/** A BigQuery table's or view's own policy is read and written with bq, not gcloud. */
function bqTable(
  resource: Extract<IamResource, { kind: 'table' }>,
  verb: string,
  ...flags: string[]
): string[] {
  const { project, dataset, table } = resource;
  return ['bq', `--project_id=${project}`, verb, ...flags, `${project}:${dataset}.${table}`];
}

function resourceArgs(resource: Exclude<IamResource, { kind: 'table' }>): {
  group: string[];
  args: string[];
} {
  switch (resource.kind) {
    case 'project':
      return { group: ['projects'], args: [resource.project] };
    case 'billing-account':
      return { group: ['billing', 'accounts'], args: [resource.account] };
    case 'secret':
      return { group: ['secrets'], args: [resource.secret, `--project=${resource.project}`] };
    case 'bucket':
      return {
        group: ['storage', 'buckets'],
        args: [`gs://${resource.bucket}`, `--project=${resource.project}`],
      };
    case 'instance':
      return {
        group: ['compute', 'instances'],
        args: [resource.instance, `--zone=${resource.zone}`, `--project=${resource.project}`],
      };
    case 'run-job':
      return {
        group: ['run', 'jobs'],
        args: [resource.job, `--region=${resource.region}`, `--project=${resource.project}`],
      };
    case 'service-account':
      return {
        group: ['iam', 'service-accounts'],
        args: [resource.email, `--project=${resource.project}`],
      };
    case 'topic':
      return {
        group: ['pubsub', 'topics'],
        args: [resource.topic, `--project=${resource.project}`],
      };
  }
}

/**
 * The billing-account, Cloud Run job and Pub/Sub topic policy commands take neither
 * `--condition` nor `--all`; the others need them, or a policy with conditions makes them prompt.
 */
function takesConditions(resource: Exclude<IamResource, { kind: 'table' }>): boolean {
  return (
    resource.kind !== 'billing-account' && resource.kind !== 'run-job' && resource.kind !== 'topic'
  );
}

export function addBinding(resource: IamResource, principal: string, role: string): Command {
  if (resource.kind === 'table') {
    return {
      argv: bqTable(resource, 'add-iam-policy-binding', `--member=${principal}`, `--role=${role}`),
      retryUntilPropagated: true,
    };
  }
  const { group, args } = resourceArgs(resource);
  return {
    ...gcloud(
      ...group,
      'add-iam-policy-binding',
      ...args,
      `--member=${principal}`,
      `--role=${role}`,
      ...(takesConditions(resource) ? ['--condition=None'] : []),
      '--format=none',
      '--quiet',
    ),
    retryUntilPropagated: true,
  };
}

export function removeBinding(resource: IamResource, principal: string, role: string): Command {
  if (resource.kind === 'table') {
    return {
      argv: bqTable(
        resource,
        'remove-iam-policy-binding',
        `--member=${principal}`,
        `--role=${role}`,
      ),
    };
  }
  const { group, args } = resourceArgs(resource);
  return gcloud(
    ...group,
    'remove-iam-policy-binding',
    ...args,
    `--member=${principal}`,
    `--role=${role}`,
    ...(takesConditions(resource) ? ['--all'] : []),
    '--format=none',
    '--quiet',
  );
}

export function getPolicy(resource: IamResource): string[] {
  if (resource.kind === 'table') return bqTable(resource, 'get-iam-policy', '--format=json');
  const { group, args } = resourceArgs(resource);
  return ['gcloud', ...group, 'get-iam-policy', ...args, '--format=json'];
}

export interface PolicyBinding {
  readonly role: string;
  readonly members: readonly string[];
}

/** The bindings of a policy printed by `get-iam-policy --format=json` (none when unreadable). */
export function bindingsOf(outcome: ProbeOutcome): PolicyBinding[] {
  if (!outcome.ok) return [];
  let policy: unknown;
  try {
    policy = JSON.parse(outcome.stdout);
  } catch {
    return [];
  }
  const bindings = (policy as { bindings?: Array<{ role?: unknown; members?: unknown }> } | null)
    ?.bindings;
  return (Array.isArray(bindings) ? bindings : []).flatMap((b) =>
    typeof b.role === 'string' && Array.isArray(b.members)
      ? [{ role: b.role, members: b.members.filter((m): m is string => typeof m === 'string') }]
      : [],
  );
}

/** The roles `principal` holds in a policy printed by `get-iam-policy --format=json`. */
export function rolesHeld(outcome: ProbeOutcome, principal: string): string[] {
  return bindingsOf(outcome)
    .filter((b) => b.members.includes(principal))
    .map((b) => b.role);
}

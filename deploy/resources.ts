/**
 * What costguard creates in a project, by name: the functions (docs/architecture.md's public
 * target names), their service accounts and custom roles, and the topic, secret, scheduler jobs and
 * trigger around them. Deploy and teardown both derive every name from here.
 */
import type { EntryPointName } from '../functions/entry-points.js';

export type Target = EntryPointName;

export type Trigger =
  | { readonly kind: 'scheduled'; readonly schedule: string; readonly job: string }
  | { readonly kind: 'budget-topic' }
  | { readonly kind: 'instance-inserts' }
  /** A Logging sink per governed project routes the preemption system events to a topic. */
  | { readonly kind: 'preemption-sink' }
  | { readonly kind: 'http-api' }
  /** Public: Slack's signed interactivity requests, authenticated by their signature. */
  | { readonly kind: 'slack-interactivity' };

export interface FunctionSpec {
  readonly target: Target;
  /** The gen2 function (and its Cloud Run service) name. */
  readonly name: string;
  /** The service account id (the part before `@`), 6 to 30 characters. */
  readonly account: string;
  readonly trigger: Trigger;
  readonly memory: string;
  readonly timeoutSeconds: number;
  readonly maxInstances: number;
  /** Event functions only: redeliver on a thrown (transient) error. */
  readonly retry: boolean;
}

/**
 * Memory follows the measurements (deploy/measure-cold-import.ts, test/bench/recorder.ts): once a
 * target has loaded its client libraries and created its clients, before any work, the process
 * holds about 180-190 MiB RSS; the recorder peaks at 225-255 MiB for 10,000 VMs in all. So
 * no function gets less than 512 MiB, and the fleet-wide ones (the recorder, the budget enforcer
 * and the label sweep) get 1 GiB, which on gen2 also buys them more CPU for large fleets. Event
 * functions may run at most 540 s; sweeps of large fleets get all of it.
 */
export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    target: 'recordSpotCosts',
    name: 'costguard-record-spot-costs',
    account: 'costguard-recorder',
    // Ten minutes after the hour: Monitoring's uptime samples for the closed hour have landed.
    trigger: { kind: 'scheduled', schedule: '10 * * * *', job: 'costguard-record-spot-costs' },
    memory: '1Gi',
    timeoutSeconds: 540,
    maxInstances: 1,
    retry: false,
  },
  {
    target: 'enforceBudget',
    name: 'costguard-enforce-budget',
    account: 'costguard-budget',
    trigger: { kind: 'budget-topic' },
    memory: '1Gi',
    timeoutSeconds: 540,
    // One notification at a time: two overlapping deliveries must not both pick VMs to stop.
    maxInstances: 1,
    retry: true,
  },
  {
    target: 'enforceSpotCap',
    name: 'costguard-enforce-spot-cap',
    account: 'costguard-spot-cap',
    // Every 10 minutes: a cap acts within one period of its crossing, not a billing day later.
    trigger: { kind: 'scheduled', schedule: '*/10 * * * *', job: 'costguard-enforce-spot-cap' },
    memory: '1Gi',
    timeoutSeconds: 540,
    // One run at a time: two overlapping runs must not both pick VMs to stop.
    maxInstances: 1,
    retry: false,
  },
  {
    target: 'enforceLabels',
    name: 'costguard-enforce-labels',
    account: 'costguard-labels',
    trigger: { kind: 'scheduled', schedule: '0 */6 * * *', job: 'costguard-enforce-labels' },
    memory: '1Gi',
    timeoutSeconds: 540,
    maxInstances: 1,
    retry: false,
  },
  {
    target: 'enforceLabelsOnCreate',
    name: 'costguard-enforce-labels-on-create',
    account: 'costguard-labels-on-create',
    trigger: { kind: 'instance-inserts' },
    memory: '512Mi',
    timeoutSeconds: 120,
    maxInstances: 10,
    retry: true,
  },
  {
    target: 'recordPreemption',
    name: 'costguard-record-preemption',
    account: 'costguard-preemptions',
    trigger: { kind: 'preemption-sink' },
    memory: '512Mi',
    timeoutSeconds: 120,
    maxInstances: 10,
    retry: true,
  },
  {
    target: 'triggerRun',
    name: 'costguard-trigger-run',
    account: 'costguard-runs',
    trigger: { kind: 'http-api' },
    memory: '512Mi',
    timeoutSeconds: 120,
    maxInstances: 5,
    retry: false,
  },
  {
    target: 'slackActions',
    name: 'costguard-slack-actions',
    account: 'costguard-slack-actions',
    trigger: { kind: 'slack-interactivity' },
    memory: '512Mi',
    // Slack waits 3 s for the reply; the work is done before it, so a minute is ample.
    timeoutSeconds: 60,
    // One click at a time: a click delivered twice is found in the ledger, not acted on twice.
    maxInstances: 1,
    retry: false,
  },
];

export function functionSpec(target: Target): FunctionSpec {
  const spec = FUNCTIONS.find((f) => f.target === target);
  if (!spec) throw new Error(`No function spec for ${target}`);
  return spec;
}

/** Cloud Scheduler's identity: run.invoker on the scheduled functions, nothing else. */
export const SCHEDULER_ACCOUNT = 'costguard-scheduler';
/** Eventarc's identity for the budget topic and audit-log triggers. */
export const EVENTS_ACCOUNT = 'costguard-events';
/** Every service account costguard creates in the host project. */
export const ALL_ACCOUNTS: readonly string[] = [
  ...FUNCTIONS.map((f) => f.account),
  SCHEDULER_ACCOUNT,
  EVENTS_ACCOUNT,
];
export const BUDGET_TOPIC = 'costguard-budget-alerts';
/**
 * Preemptions are System Event audit logs, which Eventarc's audit log triggers do not carry
 * (they take Admin Activity and Data Access logs): a Logging sink in each governed project sends
 * them to this topic, and recordPreemption is triggered by the topic.
 */
export const PREEMPTION_TOPIC = 'costguard-preemptions';
export const PREEMPTION_SINK = 'costguard-preemptions';
/**
 * The Cloud Scheduler job that publishes the resume tick to the preemptions topic: a run whose
 * backoff after a preemption is over starts its next attempt within one period, with no one
 * reading it. Created when a VM pipeline resumes; Cloud Scheduler's own service agent publishes
 * to a topic of its project, so the job needs no identity of its own.
 */
export const RESUME_JOB = {
  name: 'costguard-resume-runs',
  schedule: '*/5 * * * *',
  message: '{"task":"resume-runs"}',
} as const;

/** The sink's filter: the system event log's preemption entries of one project. */
export function preemptionLogFilter(project: string): string {
  return [
    `logName="projects/${project}/logs/cloudaudit.googleapis.com%2Fsystem_event"`,
    'protoPayload.methodName="compute.instances.preempted"',
  ].join(' AND ');
}
/**
 * Eventarc's audit log triggers see only the project they are in, so instance inserts of the
 * other governed projects reach enforceLabelsOnCreate through a Logging sink in each of them,
 * this topic, and an Eventarc Pub/Sub trigger on it.
 */
export const INSERT_TOPIC = 'costguard-instance-inserts';
export const INSERT_SINK = 'costguard-instance-inserts';
export const INSERT_TOPIC_TRIGGER = 'costguard-instance-insert-sinks';

/** The sink's filter: the Admin Activity log's instance inserts (v1 and beta) of one project. */
export function insertLogFilter(project: string): string {
  return [
    `logName="projects/${project}/logs/cloudaudit.googleapis.com%2Factivity"`,
    'protoPayload.serviceName="compute.googleapis.com"',
    `protoPayload.methodName=(${INSERT_METHODS.map((m) => `"${m}"`).join(' OR ')})`,
  ].join(' AND ');
}

/** A Logging sink in each of some projects, publishing the entries it selects to one topic. */
export interface LogRoute {
  readonly sink: string;
  readonly topic: string;
  readonly filter: (project: string) => string;
  /** What the sink carries, for step titles. */
  readonly what: string;
}

export const PREEMPTION_ROUTE: LogRoute = {
  sink: PREEMPTION_SINK,
  topic: PREEMPTION_TOPIC,
  filter: preemptionLogFilter,
  what: 'preemption system events',
};
export const INSERT_ROUTE: LogRoute = {
  sink: INSERT_SINK,
  topic: INSERT_TOPIC,
  filter: insertLogFilter,
  what: 'instance insert audit logs',
};

/** The governed projects whose inserts need a sink: all but the host, which Eventarc sees. */
export function insertSinkProjects(scope: {
  readonly project: string;
  readonly projects: readonly string[];
}): string[] {
  return scope.projects.filter((p) => p !== scope.project);
}
export const SLACK_SECRET = 'costguard-slack-bot-token';
/** The Slack app's signing secret, which slackActions checks every request against. */
export const SLACK_SIGNING_SECRET = 'costguard-slack-signing-secret';
/**
 * A Slack secret's version on a fresh project, where deploy adds its first: what dry-run
 * prints (a real run reads the newest enabled version, and gcloud takes only numbers there).
 */
export const FIRST_SECRET_VERSION = '1';
/** The function's own trigger takes v1 inserts; this one takes the beta API's. */
export const BETA_INSERT_TRIGGER = 'costguard-instance-insert-beta';
/** Cloud Audit Logs triggers in `global` receive the events of every region. */
export const AUDIT_TRIGGER_LOCATION = 'global';
export const INSERT_METHODS = ['v1.compute.instances.insert', 'beta.compute.instances.insert'];
export const RUNTIME = 'nodejs22';
/** What dry-run prints where a batch VM's service account is read at run time. */
export const VM_SERVICE_ACCOUNT_PLACEHOLDER = 'VM_SERVICE_ACCOUNT';

export function serviceAccountEmail(account: string, project: string): string {
  return `${account}@${project}.iam.gserviceaccount.com`;
}

export function member(email: string): string {
  return `serviceAccount:${email}`;
}

export function budgetDisplayName(project: string): string {
  return `costguard-${project}`;
}

/** A gen2 function's URL; Cloud Scheduler's OIDC token names it as its audience. */
export function functionUrl(name: string, project: string, region: string): string {
  return `https://${region}-${project}.cloudfunctions.net/${name}`;
}

/** Enabled only when a pipeline names an invoker group. */
export const CLOUD_IDENTITY_SERVICE = 'cloudidentity.googleapis.com';

export const SERVICES = [
  'artifactregistry.googleapis.com',
  'bigquery.googleapis.com',
  'billingbudgets.googleapis.com',
  'cloudbilling.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'cloudscheduler.googleapis.com',
  'compute.googleapis.com',
  'eventarc.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'storage.googleapis.com',
];

/**
 * Least privilege, by function. Predefined roles are broader than any of these functions needs
 * (compute.instanceAdmin can delete disks; the enforcer only lists, reads and stops VMs), so each
 * gets a custom role of exactly the permissions its code calls. Waiting on a Compute operation
 * (zoneOperations.wait) needs compute.zoneOperations.get; every capability prices VMs, which
 * reads machine types (the Cloud Billing Catalog itself needs no role).
 */

import { actionIncludes, type LabelAction } from '../functions/labels/label-policy.js';
import type { DeployInputs, PipelineBinding } from './function-settings.js';
import {
  EVENTS_ACCOUNT,
  FUNCTIONS,
  functionSpec,
  member,
  serviceAccountEmail,
  type FunctionSpec,
  type Target,
} from './resources.js';

export interface CustomRole {
  readonly id: string;
  readonly title: string;
  readonly permissions: readonly string[];
}

// Shapes are read with machineTypes.aggregatedList, which needs list only.
const MACHINE_TYPES = ['compute.machineTypes.list'];
/** List and stop VMs; many stops in one zone are confirmed with one wait and one list of their operations. */
const STOP_AND_CONFIRM = [
  'compute.instances.list',
  'compute.instances.stop',
  'compute.zoneOperations.get',
  'compute.zoneOperations.list',
  ...MACHINE_TYPES,
];

export const ROLES = {
  recorder: {
    id: 'costguardRecorder',
    title: 'costguard cost recorder',
    permissions: [
      'compute.instances.list',
      ...MACHINE_TYPES,
      'monitoring.timeSeries.list',
      // The preemption backstop: one aggregated list of each project's preemption operations
      // (globalOperations.aggregatedList needs compute.globalOperations.list, as the Compute API
      // reference's IAM section says; no zoneOperations permission), and the preempted VM.
      'compute.globalOperations.list',
      'compute.instances.get',
    ],
  },
  preemptionRecorder: {
    id: 'costguardPreemptionRecorder',
    title: 'costguard preemption recorder',
    // The backstop's list of preemption operations is the recorder's, not this function's.
    permissions: ['compute.instances.get', ...MACHINE_TYPES],
  },
  budgetEnforcer: {
    id: 'costguardBudgetEnforcer',
    title: 'costguard budget enforcer',
    permissions: [
      ...STOP_AND_CONFIRM,
      // A budget names its projects by number; the enforcer maps them to ids.
      'resourcemanager.projects.get',
    ],
  },
  capEnforcer: {
    id: 'costguardSpotCapEnforcer',
    title: 'costguard Spot cap enforcer',
    permissions: STOP_AND_CONFIRM,
  },
  labelEnforcer: {
    id: 'costguardLabelEnforcer',
    title: 'costguard label enforcer',
    permissions: [
      'compute.instances.get',
      'compute.instances.list',
      'compute.instances.setLabels',
      'compute.instances.stop',
      'compute.zoneOperations.get',
      ...MACHINE_TYPES,
      // Labels can be derived from the project's own labels.
      'resourcemanager.projects.get',
    ],
  },
  slackResponder: {
    id: 'costguardSlackResponder',
    title: 'costguard Slack actions',
    permissions: [
      // Restart what a tier stopped; exempt a VM until a date (its labels); approve a tier's
      // stops (requested only: the enforcer's next run confirms them).
      'compute.instances.get',
      'compute.instances.setLabels',
      'compute.instances.start',
      'compute.instances.stop',
      'compute.zoneOperations.get',
    ],
  },
  /** Bound on each batch VM only, never on the project. */
  runVm: {
    id: 'costguardRunVm',
    title: 'costguard run trigger on its batch VM',
    permissions: [
      'compute.instances.get',
      // GET /runs/{runId}/log reads the VM's console.
      'compute.instances.getSerialPortOutput',
      'compute.instances.setLabels',
      'compute.instances.setMetadata',
      'compute.instances.setScheduling',
      'compute.instances.start',
      'compute.instances.stop',
    ],
  },
  /** Operations are not instance resources: waiting on them and finding preemptions is per project. */
  runObserver: {
    id: 'costguardRunObserver',
    title: 'costguard run trigger operations reader',
    permissions: ['compute.zoneOperations.get', 'compute.zoneOperations.list', ...MACHINE_TYPES],
  },
  /**
   * Bound on each batch VM only, for recordPreemption: the next attempt of a preempted run is a
   * start with the attempt in the VM's metadata; the run's labels and scheduling stay as set. Its
   * tick looks at every active run as a reader does, so a run past its deadline whose VM Compute
   * did not stop (no maxRunDuration) is stopped.
   */
  runResumer: {
    id: 'costguardRunResumer',
    title: 'costguard preempted run resumer on its batch VM',
    permissions: [
      'compute.instances.get',
      'compute.instances.setMetadata',
      'compute.instances.start',
      'compute.instances.stop',
    ],
  },
  /**
   * Bound on each batch VM only, for slackActions' *Cancel run*: the claim is marked as stopping
   * in the VM's metadata, the VM stopped, and the run's keys taken back.
   */
  runCanceller: {
    id: 'costguardRunCanceller',
    title: 'costguard Slack run cancel on its batch VM',
    permissions: [
      'compute.instances.get',
      'compute.instances.setMetadata',
      'compute.instances.stop',
    ],
  },
  /**
   * recordPreemption waits on the start it makes, and its tick finds the preemption of a stopped
   * run VM whose event was lost in the zone's operations.
   */
  resumeObserver: {
    id: 'costguardResumeObserver',
    title: 'costguard preempted run resumer operations reader',
    permissions: ['compute.zoneOperations.get', 'compute.zoneOperations.list', ...MACHINE_TYPES],
  },
  /** Bound on each Cloud Run job only. */
  runJob: {
    id: 'costguardRunJob',
    title: 'costguard run trigger on its Cloud Run job',
    permissions: [
      'run.executions.cancel',
      'run.executions.get',
      'run.executions.list',
      'run.jobs.get',
      'run.jobs.run',
      // Every execution passes its run id and target as environment overrides.
      'run.jobs.runWithOverrides',
      // An execution whose task was retried: each retry is an attempt of the run.
      'run.tasks.list',
    ],
  },
} as const satisfies Record<string, CustomRole>;

/**
 * The label enforcers' role as the policy acts: reading only to report (or in a dry run),
 * setLabels (and waiting on it) to fix or mark, stop as well to stop. Deploy updates the role in
 * place, so re-deploying after a policy change takes permissions away as well as adding them.
 */
export function labelEnforcerRole(action: LabelAction): CustomRole {
  const writes = actionIncludes(action, 'fix');
  return {
    ...ROLES.labelEnforcer,
    permissions: ROLES.labelEnforcer.permissions.filter((p) => {
      if (p === 'compute.instances.stop') return actionIncludes(action, 'stop');
      if (p === 'compute.instances.setLabels' || p === 'compute.zoneOperations.get') return writes;
      return true;
    }),
  };
}

/**
 * Reading a VM's effective tags (Resource Manager `effectiveTags.list` on a Compute instance),
 * for an enforcer whose policy takes priorities or exemptions from tags, and for no other.
 */
export const READ_VM_TAGS = 'compute.instances.listEffectiveTags';

function withTagReads(role: CustomRole, readsTags: boolean): CustomRole {
  return readsTags ? { ...role, permissions: [...role.permissions, READ_VM_TAGS] } : role;
}

/** A governed-project role as the deployed policies need it. */
export function roleForPolicy(
  role: CustomRole,
  policies: Pick<DeployInputs, 'labelAction' | 'readsTags'>,
): CustomRole {
  switch (role.id) {
    case ROLES.labelEnforcer.id:
      return withTagReads(labelEnforcerRole(policies.labelAction), policies.readsTags.labels);
    case ROLES.budgetEnforcer.id:
      return withTagReads(role, policies.readsTags.budget);
    case ROLES.capEnforcer.id:
      return withTagReads(role, policies.readsTags.caps);
    // Approve plans a tier's stops again, with the tags where a policy takes priorities from them.
    case ROLES.slackResponder.id:
      return withTagReads(role, policies.readsTags.budget || policies.readsTags.caps);
    default:
      return role;
  }
}

/** The custom roles each function's account holds in every governed project. */
export const PROJECT_ROLES: Readonly<Record<Target, readonly CustomRole[]>> = {
  recordSpotCosts: [ROLES.recorder],
  enforceBudget: [ROLES.budgetEnforcer],
  enforceSpotCap: [ROLES.capEnforcer],
  enforceLabels: [ROLES.labelEnforcer],
  enforceLabelsOnCreate: [ROLES.labelEnforcer],
  recordPreemption: [ROLES.preemptionRecorder],
  // The run trigger's roles are bound per pipeline (its VM, job, bucket and project).
  triggerRun: [],
  slackActions: [ROLES.slackResponder],
};

/** Roles that exist in every governed project; the run trigger's only where a pipeline runs. */
export const GOVERNED_PROJECT_ROLES: readonly CustomRole[] = [
  ...new Set(Object.values(PROJECT_ROLES).flat()),
];
export const PIPELINE_PROJECT_ROLES: readonly CustomRole[] = [
  ROLES.runVm,
  ROLES.runObserver,
  ROLES.runJob,
  ROLES.runResumer,
  ROLES.resumeObserver,
  ROLES.runCanceller,
];

/** The functions that act on pipeline runs: each is bound on the pipelines' resources. */
export type RunActor = 'triggerRun' | 'recordPreemption' | 'slackActions';

/** The role each function that acts on runs holds on a pipeline's batch VM. */
export function batchVmRole(who: RunActor): CustomRole {
  return {
    triggerRun: ROLES.runVm,
    recordPreemption: ROLES.runResumer,
    slackActions: ROLES.runCanceller,
  }[who];
}
export const ALL_ROLES: readonly CustomRole[] = [
  ...GOVERNED_PROJECT_ROLES,
  ...PIPELINE_PROJECT_ROLES,
];

export function customRoleName(project: string, role: CustomRole): string {
  return `projects/${project}/roles/${role.id}`;
}

/** Every function writes the ledger: jobs in the host project, data in the dataset only. */
export const BIGQUERY_JOB_USER = 'roles/bigquery.jobUser';
export const BIGQUERY_DATA_EDITOR = 'roles/bigquery.dataEditor';
/** getBudget needs billing.budgets.get on the billing account; Billing Account Viewer has it. */
export const BILLING_VIEWER = 'roles/billing.viewer';
export const SECRET_ACCESSOR = 'roles/secretmanager.secretAccessor';
export const EVENT_RECEIVER = 'roles/eventarc.eventReceiver';
export const OBJECT_VIEWER = 'roles/storage.objectViewer';
/**
 * Cloud Billing publishes budget notifications as this Google-managed identity; on the budget
 * topic it alone may publish, since whoever can publish there decides what enforcement sees.
 */
export const BUDGET_PUBLISHER = 'serviceAccount:billing-budget-alert@system.gserviceaccount.com';
export const PUBSUB_PUBLISHER = 'roles/pubsub.publisher';
/** Predefined roles that carry pubsub.topics.publish when bound on a topic. */
export const TOPIC_PUBLISHING_ROLES: readonly string[] = [
  PUBSUB_PUBLISHER,
  'roles/pubsub.editor',
  'roles/pubsub.admin',
  'roles/editor',
  'roles/owner',
];
/** setMetadata on a VM that runs as a service account also needs actAs on that account. */
export const SERVICE_ACCOUNT_USER = 'roles/iam.serviceAccountUser';

/** A role a costguard account holds on a project: what deploy binds and teardown removes. */
export interface ProjectGrant {
  readonly project: string;
  readonly principal: string;
  readonly role: string;
}

/** The host project (`--project`) and the governed projects (`--projects`). */
export interface DeployScope {
  readonly project: string;
  readonly projects: readonly string[];
}

/** A function's custom roles in every governed project, then BigQuery Job User in the host. */
export function functionProjectGrants(spec: FunctionSpec, scope: DeployScope): ProjectGrant[] {
  const principal = member(serviceAccountEmail(spec.account, scope.project));
  return [
    ...scope.projects.flatMap((p) =>
      PROJECT_ROLES[spec.target].map((role) => ({
        project: p,
        principal,
        role: customRoleName(p, role),
      })),
    ),
    { project: scope.project, principal, role: BIGQUERY_JOB_USER },
  ];
}

/** Eventarc's identity receives the events of its triggers in the host project. */
export function eventReceiverGrant(host: string): ProjectGrant {
  return {
    project: host,
    principal: member(serviceAccountEmail(EVENTS_ACCOUNT, host)),
    role: EVENT_RECEIVER,
  };
}

/**
 * The run trigger waits on operations and reads machine types where a pipeline runs; so does
 * slackActions, whose cancel first refreshes the run as the trigger does (a stopped VM's
 * preemption is looked up in the zone's operations) and prices it.
 */
export function runObserverGrant(
  host: string,
  p: string,
  target: RunActor = 'triggerRun',
): ProjectGrant {
  return {
    project: p,
    principal: member(serviceAccountEmail(functionSpec(target).account, host)),
    role: customRoleName(
      p,
      target === 'recordPreemption' ? ROLES.resumeObserver : ROLES.runObserver,
    ),
  };
}

/** Every project-level binding deploy makes in `p`, for any function it may have deployed. */
export function projectGrants(
  p: string,
  scope: DeployScope,
  pipelines: readonly PipelineBinding[],
): ProjectGrant[] {
  return [
    ...FUNCTIONS.flatMap((f) => functionProjectGrants(f, scope)).filter((g) => g.project === p),
    ...(p === scope.project ? [eventReceiverGrant(scope.project)] : []),
    ...(pipelines.some((pipeline) => pipeline.project === p)
      ? [runObserverGrant(scope.project, p), runObserverGrant(scope.project, p, 'slackActions')]
      : []),
    ...(pipelines.some((pipeline) => pipeline.project === p && pipeline.vms)
      ? [runObserverGrant(scope.project, p, 'recordPreemption')]
      : []),
  ];
}

/**
 * The environment each function is deployed with. Variable names come from the capabilities'
 * own settings specs, so a renamed setting cannot silently drift from what deploy sets. A
 * capability with new settings adds one entry to TARGET_SETTINGS.
 */

import { budgetSettings, type SheddingPolicy } from '../functions/budget/policy.js';
import { trustedBudgetSettings } from '../functions/budget/trusted-budgets.js';
import { capSettings } from '../functions/caps/cap-policy.js';
import { commonSettings } from '../functions/core/config.js';
import type { LabelAction } from '../functions/labels/label-policy.js';
import { labelSettings } from '../functions/labels/settings.js';
import { recorderSettings } from '../functions/recorder/settings.js';
import { runsSettings } from '../functions/runs/config.js';
import { slackActionSettings } from '../functions/slack-actions/settings.js';
import type { DeployOptions } from './options.js';
import { functionUrl, type FunctionSpec, type Target } from './resources.js';

export interface PipelineBinding {
  readonly name: string;
  readonly project: string;
  /** Who may invoke the pipeline's runs (user: and serviceAccount: principals). */
  readonly invokers: readonly string[];
  readonly bucket?: string;
  /** The pipeline's batch VMs: one, or each candidate a start may pick. */
  readonly vms?: ReadonlyArray<{ readonly zone: string; readonly instance: string }>;
  /** Its runs come back after a preemption (`resume` in the pipeline). */
  readonly resumes?: true;
  readonly job?: { readonly region: string; readonly name: string };
}

/** The projects pipelines run in, each once, in the order first named. */
export function pipelineProjects(pipelines: readonly PipelineBinding[]): string[] {
  return [...new Set(pipelines.map((p) => p.project))];
}

/** Everyone a pipeline names as its invoker, each once: they need run.invoker on triggerRun. */
export function pipelineInvokers(pipelines: readonly PipelineBinding[]): string[] {
  return [...new Set(pipelines.flatMap((p) => p.invokers))];
}

/** The results buckets pipelines name, each once (two pipelines may share one). */
export function pipelineBuckets(
  pipelines: readonly PipelineBinding[],
): Array<{ readonly bucket: string; readonly project: string }> {
  const buckets = new Map(
    pipelines.flatMap((p) => (p.bucket ? [[p.bucket, p.project] as const] : [])),
  );
  return [...buckets].map(([bucket, project]) => ({ bucket, project }));
}

/** The options together with the files they name, read and validated. */
/** Which policies take priorities or exemptions from Resource Manager tags. */
export interface TagReaders {
  readonly budget: boolean;
  readonly caps: boolean;
  readonly labels: boolean;
}

export interface DeployInputs {
  readonly options: DeployOptions;
  readonly budgetPolicy: SheddingPolicy;
  /** Minified JSON of the validated budget policy (the same tiers the budget alerts at). */
  readonly budgetPolicyJson: string;
  readonly labelPolicyJson?: string;
  /** What the label enforcers do: the policy's action when enforcing, `report` in a dry run. */
  readonly labelAction: LabelAction;
  /** Which enforcers take priorities or exemptions from Resource Manager tags, and so read them. */
  readonly readsTags: TagReaders;
  readonly spotAlertsJson?: string;
  readonly spotCapsJson?: string;
  readonly pipelinesJson?: string;
  readonly pipelines: readonly PipelineBinding[];
  readonly sql: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
}

/**
 * `gcloud auth print-identity-token` cannot choose the audience of a user's token: it is the
 * gcloud CLI's OAuth client, and the platform accepts it; service accounts use the function URL.
 */
export const GCLOUD_CLI_AUDIENCE = '32555940559.apps.googleusercontent.com';

/** Stands in for the deployed budget's id in a dry run; a valid id that no budget has. */
export const BUDGET_ID_PLACEHOLDER = 'budget-id-read-at-deploy';
/** The variable the deployed budget's id is given to enforceBudget in. */
export const BUDGET_IDS_VARIABLE = trustedBudgetSettings.budgetIds.variable;

type TargetSettings = (spec: FunctionSpec, inputs: DeployInputs) => Record<string, string>;

const TARGET_SETTINGS: Readonly<Record<Target, TargetSettings>> = {
  recordSpotCosts: (spec, { spotAlertsJson }) => ({
    // The recorder waits as long after the hour as Cloud Scheduler does before calling it.
    [recorderSettings.settleMinutes.variable]: String(scheduledMinute(spec)),
    ...(spotAlertsJson ? { [recorderSettings.alerts.variable]: spotAlertsJson } : {}),
  }),
  enforceBudget: (_spec, { options, budgetPolicyJson }) => ({
    [budgetSettings.policy.variable]: budgetPolicyJson,
    // Set explicitly either way: what the function does never depends on a code default.
    [budgetSettings.enforce.variable]: String(options.enforce),
    [trustedBudgetSettings.billingAccount.variable]: options.billingAccount,
    // The budget is created by an earlier step: its id is read from Cloud Billing at deploy time.
    [trustedBudgetSettings.budgetIds.variable]: BUDGET_ID_PLACEHOLDER,
  }),
  enforceSpotCap: (_spec, { options, spotCapsJson }) => ({
    ...(spotCapsJson ? { [capSettings.caps.variable]: spotCapsJson } : {}),
    [capSettings.enforce.variable]: String(options.enforce),
  }),
  enforceLabels: (_spec, inputs) => labelEnvironment(inputs),
  enforceLabelsOnCreate: (_spec, inputs) => labelEnvironment(inputs),
  // Cancel run is offered where the pipelines are known (the run service's own settings);
  // Approve and Skip answer for the tiers of the budget policy and the caps.
  slackActions: (_spec, { options, pipelinesJson, budgetPolicyJson, spotCapsJson }) => {
    const groups = options.slackActors.filter((a) => a.startsWith('S'));
    const channels = options.slackActors.filter((a) => !a.startsWith('S'));
    return {
      ...(groups.length > 0
        ? { [slackActionSettings.actorGroups.variable]: groups.join(',') }
        : {}),
      ...(channels.length > 0
        ? { [slackActionSettings.actorChannels.variable]: channels.join(',') }
        : {}),
      ...(pipelinesJson ? { [runsSettings.pipelines.variable]: pipelinesJson } : {}),
      [budgetSettings.policy.variable]: budgetPolicyJson,
      ...(spotCapsJson ? { [capSettings.caps.variable]: spotCapsJson } : {}),
    };
  },
  // The runs it resumes: the pipelines with their resume settings.
  recordPreemption: (_spec, { pipelinesJson }) =>
    pipelinesJson ? { [runsSettings.pipelines.variable]: pipelinesJson } : {},
  triggerRun: (spec, { options, pipelinesJson, spotCapsJson }) => ({
    ...(pipelinesJson ? { [runsSettings.pipelines.variable]: pipelinesJson } : {}),
    // Starts are refused while a cap their VM or job falls in is at its shedding tier.
    ...(spotCapsJson ? { [capSettings.caps.variable]: spotCapsJson } : {}),
    [runsSettings.dryRun.variable]: 'false',
    [runsSettings.publicUrl.variable]: functionUrl(spec.name, options.project, options.region),
    [runsSettings.audiences.variable]: [
      functionUrl(spec.name, options.project, options.region),
      GCLOUD_CLI_AUDIENCE,
    ].join(','),
  }),
};

/** The minute past the hour of an hourly schedule such as `10 * * * *`. */
function scheduledMinute(spec: FunctionSpec): number {
  const minute =
    spec.trigger.kind === 'scheduled' ? Number(spec.trigger.schedule.split(' ')[0]) : NaN;
  if (!Number.isInteger(minute)) throw new Error(`${spec.target} has no hourly schedule`);
  return minute;
}

function labelEnvironment({ options, labelPolicyJson }: DeployInputs): Record<string, string> {
  return {
    ...(labelPolicyJson ? { [labelSettings.policy.variable]: labelPolicyJson } : {}),
    [labelSettings.dryRun.variable]: String(!options.enforce),
  };
}

export function functionEnvironment(
  spec: FunctionSpec,
  inputs: DeployInputs,
): Record<string, string> {
  const { options } = inputs;
  return {
    [commonSettings.projects.variable]: options.projects.join(','),
    [commonSettings.ledgerProject.variable]: options.project,
    [commonSettings.dataset.variable]: options.dataset,
    [commonSettings.location.variable]: options.bqLocation,
    ...(options.slackChannel
      ? { [commonSettings.slackChannel.variable]: options.slackChannel }
      : {}),
    ...(options.dashboardUrl
      ? { [commonSettings.dashboardUrl.variable]: options.dashboardUrl }
      : {}),
    ...TARGET_SETTINGS[spec.target](spec, inputs),
  };
}

/** The variable the Slack token is mounted as, from Secret Manager. */
export const SLACK_TOKEN_VARIABLE = commonSettings.slackToken.variable;
/** The variable slackActions reads the Slack app's signing secret from (Secret Manager). */
export const SLACK_SIGNING_VARIABLE = slackActionSettings.signingSecret.variable;

const DELIMITERS = ['|', ';', '#', '~', '!', '%', '|~|'];

/**
 * `--set-env-vars` takes KEY=VALUE items separated by commas, and JSON values contain commas,
 * so the items are joined with gcloud's alternate delimiter syntax (`^DELIM^`, see
 * `gcloud topic escaping`) using a delimiter that occurs in no key or value.
 */
export function envVarsFlag(env: Readonly<Record<string, string>>): string {
  const items = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  const delimiter = DELIMITERS.find((d) => items.every((item) => !item.includes(d)));
  if (delimiter === undefined) {
    throw new Error('Every candidate delimiter occurs in the function settings');
  }
  return `--set-env-vars=^${delimiter}^${items.join(delimiter)}`;
}

/**
 * The command lines of `npm run deploy` and `npm run teardown`, parsed and validated before
 * anything runs: a wrong option stops with one line naming it and what it expects.
 */

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DATASET_ID, PROJECT_ID } from '../functions/core/config.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs each check and keeps going past a bad setting, so one run of deploy names every bad
 * setting; a UsageError listing them all (one line each) is thrown at the end.
 */
export class Problems {
  private readonly found: string[] = [];

  attempt<T>(load: () => T): T | undefined {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      this.found.push(error.message);
      return undefined;
    }
  }

  throwIfAny(): void {
    if (this.found.length === 1) throw new UsageError(this.found[0]);
    if (this.found.length > 1) {
      throw new UsageError(
        `${this.found.length} settings are wrong:\n${this.found.map((p) => `  ${p}`).join('\n')}`,
      );
    }
  }
}

export const REGION = /^[a-z]+-[a-z]+\d+$/;
export const BILLING_ACCOUNT = /^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$/;
/** An amount in the billing account's currency, optionally suffixed with it (`500`, `500USD`). */
export const BUDGET_AMOUNT = /^\d{1,12}(\.\d{1,2})?([A-Z]{3})?$/;
export const SLACK_CHANNEL = /^#?[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
/** Slack user group (S…) and channel (C…, G…) ids whose members may act on messages. */
const SLACK_ACTORS = /^[SCG][A-Z0-9]{2,30}(,[SCG][A-Z0-9]{2,30})*$/;
export const BQ_LOCATION = /^[A-Za-z]+(-[a-z]+\d*)?$/;
/**
 * An IAM principal allowed to call the run trigger, e.g. `user:ana@example.com`. Not `domain:`:
 * a whole domain reaching a function that starts VMs is no one in particular.
 */
export const PRINCIPAL = /^(user|group|serviceAccount):[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/;
const URL_PATTERN = /^https:\/\/[^\s'"]+$/;
const TABLE_ID = /^[A-Za-z0-9_]{1,1024}$/;

export interface DeployOptions {
  /** The project that hosts costguard (functions, dataset, topic, secret, scheduler). */
  readonly project: string;
  readonly region: string;
  readonly billingAccount: string;
  /** Unset: a budget created now follows last period's spend; an existing one keeps its amount. */
  readonly budgetAmount?: string;
  /** Unset: no Slack messages, no secret. */
  readonly slackChannel?: string;
  /**
   * Slack user groups and channels whose members may act on costguard's messages; with them,
   * slackActions is deployed (public, signature-checked) with the app's signing secret.
   */
  readonly slackActors: readonly string[];
  readonly enforce: boolean;
  readonly dryRun: boolean;
  /** The governed projects (COSTGUARD_PROJECTS); the host project by default. */
  readonly projects: readonly string[];
  readonly dataset: string;
  readonly bqLocation: string;
  readonly budgetPolicyFile?: string;
  readonly labelPolicyFile?: string;
  /** The cost recorder's Spot spend alert rules (COSTGUARD_SPOT_ALERTS). */
  readonly spotAlertsFile?: string;
  /** The Spot spend caps enforceSpotCap checks (COSTGUARD_SPOT_CAPS). */
  readonly spotCapsFile?: string;
  /** The run trigger's pipelines (COSTGUARD_PIPELINES); without them triggerRun is not deployed. */
  readonly pipelinesFile?: string;
  /** Principals given run.invoker on triggerRun. */
  readonly runInvokers: readonly string[];
  readonly dashboardUrl?: string;
  /** The Cloud Billing export table the reconciliation view reads (PROJECT.DATASET.TABLE). */
  readonly billingExport?: string;
  /** Where the function source is staged and uploaded from. */
  readonly sourceDir: string;
}

export interface TeardownOptions {
  readonly project: string;
  readonly region: string;
  /** Needed to find and remove the budget and the billing-account role binding. */
  readonly billingAccount?: string;
  readonly projects: readonly string[];
  readonly dataset: string;
  readonly bqLocation: string;
  /** The pipelines deploy was given, to remove the per-VM, per-job and per-bucket bindings. */
  readonly pipelinesFile?: string;
  readonly deleteData: boolean;
  readonly dryRun: boolean;
}

export const DEFAULT_SOURCE_DIR = 'build/function-source';

/** An option's value, checked against `pattern`; undefined when the option is not given. */
export function checked(
  values: Record<string, unknown>,
  name: string,
  pattern: RegExp,
  expects: string,
): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new UsageError(`--${name}: expected ${expects}; got ${JSON.stringify(value)}`);
  }
  return value;
}

export function required(
  values: Record<string, unknown>,
  name: string,
  pattern: RegExp,
  expects: string,
): string {
  const value = checked(values, name, pattern, expects);
  if (value === undefined) throw new UsageError(`--${name} is required: ${expects}`);
  return value;
}

function projectList(values: Record<string, unknown>, host: string): readonly string[] {
  const raw = values.projects;
  if (raw === undefined) return [host];
  if (typeof raw !== 'string') throw new UsageError('--projects: expected a value');
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = items.filter((p) => !PROJECT_ID.test(p));
  if (items.length === 0 || bad.length > 0) {
    throw new UsageError(
      `--projects: expected a comma-separated list of project ids; got "${raw}"`,
    );
  }
  return [...new Set(items)];
}

/** Parses a command line strictly: an unknown option or a stray word is a usage error. */
export function parse(argv: readonly string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
}

const shared = {
  project: { type: 'string' },
  region: { type: 'string' },
  'billing-account': { type: 'string' },
  projects: { type: 'string' },
  dataset: { type: 'string' },
  'bq-location': { type: 'string' },
  pipelines: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

export function parseDeployOptions(argv: readonly string[]): DeployOptions {
  const values = parse(argv, {
    ...shared,
    'budget-amount': { type: 'string' },
    'slack-channel': { type: 'string' },
    'slack-actors': { type: 'string' },
    enforce: { type: 'boolean' },
    'budget-policy': { type: 'string' },
    'label-policy': { type: 'string' },
    'spot-alerts': { type: 'string' },
    'spot-caps': { type: 'string' },
    'run-invoker': { type: 'string', multiple: true },
    'dashboard-url': { type: 'string' },
    'billing-export': { type: 'string' },
    source: { type: 'string' },
  }) as Record<string, unknown>;
  const problems = new Problems();
  const check = <T>(read: () => T): T | undefined => problems.attempt(read);
  const project = check(() => required(values, 'project', PROJECT_ID, 'a Google Cloud project id'));
  const invokers = (values['run-invoker'] as string[] | undefined) ?? [];
  check(() => {
    const badInvoker = invokers.find((m) => !PRINCIPAL.test(m));
    if (badInvoker?.startsWith('domain:')) {
      throw new UsageError(
        `--run-invoker: a whole domain may not invoke triggerRun (got "${badInvoker}"); name users, groups or service accounts`,
      );
    }
    if (badInvoker !== undefined) {
      throw new UsageError(
        `--run-invoker: expected a principal such as user:ana@example.com; got "${badInvoker}"`,
      );
    }
  });
  const options = {
    project,
    region: check(() => required(values, 'region', REGION, 'a region such as us-central1')),
    billingAccount: check(() =>
      required(
        values,
        'billing-account',
        BILLING_ACCOUNT,
        'a billing account id such as 012345-6789AB-CDEF01',
      ),
    ),
    budgetAmount: check(() =>
      checked(
        values,
        'budget-amount',
        BUDGET_AMOUNT,
        'an amount such as 500 or 500USD (in the billing account currency)',
      ),
    ),
    slackChannel: check(() =>
      checked(values, 'slack-channel', SLACK_CHANNEL, 'a Slack channel id or name'),
    ),
    slackActors: check(() => {
      const actors = checked(
        values,
        'slack-actors',
        SLACK_ACTORS,
        'comma-separated Slack user group (S…) and channel (C…) ids',
      );
      if (actors !== undefined && values['slack-channel'] === undefined) {
        throw new UsageError('--slack-actors needs --slack-channel (the messages they act on)');
      }
      return actors === undefined ? [] : [...new Set(actors.split(','))];
    }),
    enforce: values.enforce === true,
    dryRun: values['dry-run'] === true,
    projects: check(() => projectList(values, project ?? '')),
    dataset: check(
      () => checked(values, 'dataset', DATASET_ID, 'a BigQuery dataset id') ?? 'costguard',
    ),
    bqLocation: check(
      () =>
        checked(values, 'bq-location', BQ_LOCATION, 'a BigQuery location such as US or EU') ?? 'US',
    ),
    budgetPolicyFile: values['budget-policy'] as string | undefined,
    labelPolicyFile: values['label-policy'] as string | undefined,
    spotAlertsFile: values['spot-alerts'] as string | undefined,
    spotCapsFile: values['spot-caps'] as string | undefined,
    pipelinesFile: values.pipelines as string | undefined,
    runInvokers: [...new Set(invokers)],
    dashboardUrl: check(() => checked(values, 'dashboard-url', URL_PATTERN, 'an https:// URL')),
    billingExport: check(() =>
      typeof values['billing-export'] === 'string'
        ? parseExportTable(values['billing-export'])
        : undefined,
    ),
    sourceDir: (values.source as string | undefined) ?? DEFAULT_SOURCE_DIR,
  };
  problems.throwIfAny();
  // Every check above passed, so each required setting holds its value.
  return options as DeployOptions;
}

export function parseTeardownOptions(argv: readonly string[]): TeardownOptions {
  const values = parse(argv, { ...shared, 'delete-data': { type: 'boolean' } }) as Record<
    string,
    unknown
  >;
  const project = required(values, 'project', PROJECT_ID, 'a Google Cloud project id');
  return {
    project,
    region: required(values, 'region', REGION, 'a region such as us-central1'),
    billingAccount: checked(
      values,
      'billing-account',
      BILLING_ACCOUNT,
      'a billing account id such as 012345-6789AB-CDEF01',
    ),
    projects: projectList(values, project),
    dataset: checked(values, 'dataset', DATASET_ID, 'a BigQuery dataset id') ?? 'costguard',
    bqLocation:
      checked(values, 'bq-location', BQ_LOCATION, 'a BigQuery location such as US or EU') ?? 'US',
    pipelinesFile: values.pipelines as string | undefined,
    deleteData: values['delete-data'] === true,
    dryRun: values['dry-run'] === true,
  };
}

/** `PROJECT.DATASET.TABLE` of the Cloud Billing export, checked before it goes into SQL. */
export function parseExportTable(text: string): string {
  const [project, dataset, table, ...rest] = text.split('.');
  if (
    rest.length > 0 ||
    !project ||
    !PROJECT_ID.test(project) ||
    !dataset ||
    !DATASET_ID.test(dataset) ||
    !table ||
    !TABLE_ID.test(table)
  ) {
    throw new UsageError(
      `--billing-export: expected PROJECT.DATASET.TABLE, e.g. my-billing.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01; got "${text}"`,
    );
  }
  return text;
}

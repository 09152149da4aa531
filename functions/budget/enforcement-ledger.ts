/**
 * The enforcer's rows in the ledger and the state it reads back: `enforcement_actions` (one row
 * per decision about a VM, keyed by trigger (budget or Spot cap), period, tier and VM, latest
 * row wins) and `budget_notifications` (one row per notification handled; reads aggregate over
 * it, so a row written twice changes nothing). The port speaks in outcomes and summaries; the
 * row format is the BigQuery adapter's alone.
 */
import type { KeyedRow, Ledger } from '../adapters/bigquery.js';
import type { PostedMessage } from '../adapters/slack.js';
import type { PeriodHistory, NotificationOutcome, TierRecord } from './decide-notification.js';
import type { BudgetNotification } from './notification.js';
import type { PlannedVm } from './plan-shedding.js';
import type { ShedTrigger } from './shed-trigger.js';

export const ACTIONS_TABLE = 'enforcement_actions';
export const NOTIFICATIONS_TABLE = 'budget_notifications';
/** A Spot cap's own record of each run (sql/tables/25_cap_runs.sql). */
export const CAP_RUNS_TABLE = 'cap_runs';
/** Actions taken from Slack (sql/tables/45_slack_actions.sql); holds are read from it. */
export const SLACK_ACTIONS_TABLE = 'slack_actions';

export type ActionName =
  | 'STOPPING'
  | 'STOPPED'
  | 'WOULD_STOP'
  | 'SKIPPED_EXEMPT'
  | 'SKIPPED_MIG'
  | 'SKIPPED_CAP'
  | 'FAILED'
  // Stop requested, but its operation had not finished when the delivery stopped waiting:
  // counted against the cap like a stop, and looked at again by the tier's next delivery.
  | 'UNCONFIRMED'
  // Started again from Slack (*Restart what was stopped*): the VM runs again.
  | 'RESTARTED'
  // Would have been stopped, but the tier was held from Slack (a snooze, or after a restart).
  | 'SNOOZED'
  // Listed in a tier's request for approval; nothing done yet (the tier's policy says `approve`).
  | 'PROPOSED'
  // Listed for approval and not stopped: skipped from Slack or by the timeout's default, or no
  // longer running or no longer the tier's to stop when the approval came.
  | 'SKIPPED';

/** A planned VM with what became of it. */
export interface VmOutcome {
  readonly planned: PlannedVm;
  readonly action: ActionName;
  readonly reason: string;
  readonly requestId: string | undefined;
  /** For FAILED: whether a retry could succeed. */
  readonly transient: boolean;
}

/** The VMs stopped (in a dry run, those that would be) and what stopping them saves per hour. */
export interface ActedVms {
  readonly vms: readonly VmOutcome[];
  readonly savingPerHour: number;
}

export function actedVms(outcomes: readonly VmOutcome[]): ActedVms {
  const vms = outcomes.filter((o) => o.action === 'STOPPED' || o.action === 'WOULD_STOP');
  return { vms, savingPerHour: vms.reduce((sum, o) => sum + o.planned.rate.hourly, 0) };
}

export interface NotificationSummary {
  readonly outcome: NotificationOutcome;
  readonly tier: number | undefined;
  readonly reason: string;
  readonly dryRun: boolean;
  readonly stopped: number;
  readonly failed: number;
  readonly spared: number;
  readonly savingPerHour: number | undefined;
  readonly priceCurrency: string | undefined;
  readonly slack: PostedMessage | undefined;
}

/** A tier's decision about a VM as the ledger holds it (the latest row for the VM). */
export interface RecordedDecision {
  readonly project: string;
  readonly zone: string;
  readonly instance: string;
  readonly instanceId: string | undefined;
  readonly machineType: string | undefined;
  readonly provisioningModel: string | undefined;
  readonly priority: string;
  readonly action: ActionName;
  readonly reason: string;
  readonly hourlyCost: number | undefined;
  readonly priceCurrency: string | undefined;
  readonly priceSource: string;
  readonly requestId: string | undefined;
}

/** A stop the ledger holds as UNCONFIRMED: requested, its operation not seen to finish. */
export interface UnconfirmedStop {
  readonly project: string;
  readonly zone: string;
  readonly instance: string;
  readonly reason: string;
  readonly hourlyCost: number | undefined;
}

/** A budget's or cap's tier in one period: what a click on its message names. */
export type TierOf = Pick<ShedTrigger, 'kind' | 'id' | 'periodStart'>;

/** A hold on a tier's shedding, put from Slack: a snooze, or the hold after a restart. */
export interface ShedHold {
  readonly action: string;
  readonly until: Date;
  readonly slackUserId: string;
}

/** Where the shedding path finds the holds put from Slack (the `slack_actions` table). */
export interface ShedHolds {
  activeHold(trigger: TierOf, tier: number, now: Date): Promise<ShedHold | undefined>;
}

/** A VM a tier stopped (its latest decision STOPPED or UNCONFIRMED), as the ledger holds it. */
export interface RecordedStop {
  readonly project: string;
  readonly zone: string;
  readonly instance: string;
  readonly action: ActionName;
  readonly hourlyCost: number | undefined;
}

/** When and how a batch of decisions was made. */
export interface DecisionStamp {
  readonly dryRun: boolean;
  readonly at: Date;
  /** The Slack user whose click made the decisions (an approval or a skip). */
  readonly slackUserId?: string;
}

/** A tier's pending request for approval in one period, as the ledger holds it. */
export interface Proposal {
  /** When the tier first asked: the timeout runs from here. */
  readonly proposedAt: Date;
  /** The VMs listed whose latest decision is still PROPOSED (none: the proposal is resolved). */
  readonly pending: readonly RecordedDecision[];
  /** The trigger as the proposal recorded it (its run, spend and amount). */
  readonly trigger: ShedTrigger;
}

/** The port the enforcer records through; `BigQueryEnforcementLedger` is the real one. */
export interface EnforcementLedger {
  history(notification: BudgetNotification): Promise<PeriodHistory>;
  /** VMs this tier of the trigger has stopped in the period so far (latest decision per VM). */
  stoppedSoFar(trigger: ShedTrigger, tier: number): Promise<number>;
  /**
   * The tier's decisions in the period (latest per VM, enforcing only) made by attempts that
   * never recorded their own row (budget_notifications, or cap_runs for a cap): an attempt cut
   * short after its intent rows, its stops or its outcome rows. Their STOPPING rows are stops
   * whose outcome is not known yet.
   */
  unreported(trigger: ShedTrigger, tier: number): Promise<RecordedDecision[]>;
  /** What became of VMs of the tier (STOPPING intents too), one decision each. */
  recordDecisions(
    trigger: ShedTrigger,
    tier: number,
    outcomes: readonly VmOutcome[],
    stamp: DecisionStamp,
  ): Promise<void>;
  /** A notification's outcome: the budget enforcer's durable state. */
  recordNotification(
    notification: BudgetNotification,
    summary: NotificationSummary,
    at: Date,
  ): Promise<void>;
  /** The tier's request for approval in the period, if it ever asked. */
  proposal(trigger: TierOf, tier: number): Promise<Proposal | undefined>;
  /** The tier's VMs whose latest decision is UNCONFIRMED. */
  unconfirmedStops(trigger: ShedTrigger, tier: number): Promise<UnconfirmedStop[]>;
  /** Records those stops as STOPPED now, each with its reason. */
  confirmStops(
    trigger: ShedTrigger,
    tier: number,
    confirmed: ReadonlyArray<{ readonly stop: UnconfirmedStop; readonly reason: string }>,
    at: Date,
  ): Promise<void>;
}

/** An enforcement_actions row as read back (the columns `actionRow` writes). */
type ActionRecord = Record<string, unknown> & {
  row_key: string;
  project_id: string;
  zone: string;
  instance_name: string;
  action: string;
  reason: string;
  hourly_cost: string | number | null;
  message_id: string | null;
  budget_display_name: string | null;
  billing_account_id: string | null;
  budget_currency: string | null;
  instance_id: string | null;
  machine_type: string | null;
  provisioning_model: string | null;
  priority: string;
  price_currency: string | null;
  price_source: string;
  request_id: string | null;
};

/** The row that replaces `record` with a new action and reason (same row key, latest wins). */
function followUpRow(
  record: ActionRecord,
  action: ActionName,
  reason: string,
  recordedAt: Date,
  slackUserId?: string,
): KeyedRow {
  return {
    // A second restart of one VM (stopped again in between) is a row of its own.
    key: `${record.row_key}/${action}${action === 'RESTARTED' ? `/${recordedAt.toISOString()}` : ''}`,
    row: {
      ...record,
      action,
      reason,
      recorded_at: recordedAt.toISOString(),
      ...(slackUserId ? { slack_user_id: slackUserId } : {}),
    },
  };
}

/** The VM a ledger record is about. */
function recordedVm(r: Pick<ActionRecord, 'project_id' | 'zone' | 'instance_name'>): {
  project: string;
  zone: string;
  instance: string;
} {
  return { project: r.project_id, zone: r.zone, instance: r.instance_name };
}

/** A record's hourly cost, where it was priced. */
function recordedCost(r: Pick<ActionRecord, 'hourly_cost'>): number | undefined {
  return r.hourly_cost === null ? undefined : Number(r.hourly_cost);
}

/**
 * The follow-up rows for those of `updates` whose VM has a record among `records`; a VM
 * without one is skipped.
 */
function followUpRows(
  records: readonly ActionRecord[],
  updates: ReadonlyArray<{
    readonly stop: { readonly project: string; readonly zone: string; readonly instance: string };
    readonly reason: string;
  }>,
  action: ActionName,
  at: Date,
  slackUserId?: string,
): KeyedRow[] {
  const byVm = new Map(records.map((r) => [`${r.project_id}/${r.zone}/${r.instance_name}`, r]));
  return updates.flatMap(({ stop, reason }) => {
    const record = byVm.get(`${stop.project}/${stop.zone}/${stop.instance}`);
    return record ? [followUpRow(record, action, reason, at, slackUserId)] : [];
  });
}

/** NUMERIC holds at most 9 decimals; money is kept to 6 and sent as a decimal string. */
export function numeric(value: number): string {
  return (Math.round(value * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, '');
}

/** BigQuery NUMERIC: at most 29 digits before the point and 9 after. */
const NUMERIC_TEXT = /^-?\d{1,29}(?:\.\d{1,9})?$/;

/**
 * Whether the ledger can hold an amount as `numeric` writes it: a finite number whose text has
 * at most 29 integer digits (`toFixed` turns 1e21 and above into exponent notation, which
 * NUMERIC refuses too) and that does not round to zero unless it is zero.
 */
export function fitsNumeric(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const text = numeric(value);
  return NUMERIC_TEXT.test(text) && (value === 0 || Number(text) !== 0);
}

/** What a tier's summary records, in the columns notification rows and cap runs share. */
export function summaryColumns(summary: NotificationSummary): Record<string, unknown> {
  return {
    tier: summary.tier === undefined ? null : tierText(summary.tier),
    outcome: summary.outcome,
    reason: summary.reason,
    dry_run: summary.dryRun,
    stopped: summary.stopped,
    failed: summary.failed,
    spared: summary.spared,
    saving_per_hour: summary.savingPerHour === undefined ? null : numeric(summary.savingPerHour),
    slack_channel: summary.slack?.channel ?? null,
    slack_ts: summary.slack?.ts ?? null,
  };
}

export function tierText(tier: number): string {
  return numeric(tier);
}

function actionRowKey(t: ShedTrigger, tier: number, planned: PlannedVm): string {
  const vm = planned.vm;
  // Budget keys predate caps and stay as they were; a cap's are set apart by a prefix.
  const prefix = t.kind === 'budget' ? '' : `${t.kind}/`;
  return `${prefix}${t.id}/${t.periodStart}/${tierText(tier)}/${vm.project}/${vm.zone}/${vm.name}`;
}

/**
 * One decision about a VM. A cap's row names the cap in `budget_id` with `trigger_kind` 'cap',
 * its spend and amount in the budget columns, and no billing account.
 */
function actionRow(
  t: ShedTrigger,
  tier: number,
  outcome: VmOutcome,
  { dryRun, at: recordedAt, slackUserId }: DecisionStamp,
): KeyedRow {
  const { vm, rate, priority } = outcome.planned;
  const key = actionRowKey(t, tier, outcome.planned);
  return {
    // The action is part of the insert id: a FAILED row and the STOPPED row of its retry differ.
    key: `${key}/${outcome.action}`,
    row: {
      row_key: key,
      recorded_at: recordedAt.toISOString(),
      trigger_kind: t.kind,
      message_id: t.runId,
      billing_account_id: t.billingAccountId,
      budget_id: t.id,
      budget_display_name: t.displayName,
      cost_interval_start: t.periodStart,
      tier: tierText(tier),
      spend_ratio: t.spendRatio,
      cost_amount: numeric(t.spend),
      budget_amount: numeric(t.amount),
      budget_currency: t.currency,
      project_id: vm.project,
      zone: vm.zone,
      instance_name: vm.name,
      instance_id: vm.id === '' ? null : vm.id,
      machine_type: vm.machineType,
      provisioning_model: vm.provisioningModel,
      priority,
      action: outcome.action,
      reason: outcome.reason,
      hourly_cost: rate.source === 'unknown' ? null : numeric(rate.hourly),
      price_currency: rate.source === 'unknown' ? null : rate.currency,
      price_source: rate.source,
      dry_run: dryRun,
      request_id: outcome.requestId ?? null,
      slack_user_id: slackUserId ?? null,
    },
  };
}

function notificationRow(
  n: BudgetNotification,
  summary: NotificationSummary,
  recordedAt: Date,
): KeyedRow {
  const tier = summary.tier === undefined ? '-' : tierText(summary.tier);
  return {
    key: `${n.messageId}/${summary.outcome}/${tier}/${summary.dryRun ? 'dry-run' : 'enforce'}`,
    row: {
      row_key: `${n.messageId}/${summary.outcome}/${tier}`,
      recorded_at: recordedAt.toISOString(),
      message_id: n.messageId,
      publish_time: n.publishTime ?? null,
      billing_account_id: n.billingAccountId,
      budget_id: n.budgetId,
      budget_display_name: n.budgetDisplayName,
      cost_interval_start: n.costIntervalStart,
      cost_amount: numeric(n.costAmount),
      budget_amount: numeric(n.budgetAmount),
      budget_amount_type: n.budgetAmountType ?? null,
      currency: n.currencyCode,
      spend_ratio: n.spendRatio,
      alert_threshold: n.alertThresholdExceeded ?? null,
      forecast_threshold: n.forecastThresholdExceeded ?? null,
      ...summaryColumns(summary),
      price_currency: summary.priceCurrency ?? null,
    },
  };
}

interface PeriodRow {
  cost: number;
  message_id: string;
  tier: number | null;
  outcome: string;
  dry_run: boolean;
  forecast_threshold: number | null;
  slack_channel: string | null;
  slack_ts: string | null;
}

interface DecisionRow {
  message_id: string;
  project_id: string;
  zone: string;
  instance_name: string;
  instance_id: string | null;
  machine_type: string | null;
  provisioning_model: string | null;
  priority: string;
  action: string;
  reason: string;
  hourly_cost: number | null;
  price_currency: string | null;
  price_source: string;
  request_id: string | null;
}

const PERIOD = 'budget_id = @budgetId AND cost_interval_start = TIMESTAMP(@periodStart)';

/** The columns of an enforcement_actions row as `ActionRecord` reads them back. */
const ACTION_COLUMNS = `row_key, trigger_kind, message_id, billing_account_id, budget_id,
  budget_display_name, CAST(cost_interval_start AS STRING) AS cost_interval_start,
  CAST(tier AS STRING) AS tier, spend_ratio, CAST(cost_amount AS STRING) AS cost_amount,
  CAST(budget_amount AS STRING) AS budget_amount, budget_currency, project_id, zone,
  instance_name, instance_id, machine_type, provisioning_model, priority, action, reason,
  CAST(hourly_cost AS STRING) AS hourly_cost, price_currency, price_source, dry_run, request_id,
  slack_user_id`;

const TIER_ROWS = `${PERIOD} AND tier = CAST(@tier AS NUMERIC) AND dry_run = FALSE
  AND IFNULL(trigger_kind, 'budget') = @kind`;

/**
 * The latest decision about each VM in one trigger's tier (real runs only): a STOPPING intent
 * or a PROPOSED listing written in the same instant as what followed it ranks below it. Binds
 * @budgetId, @periodStart, @tier and @kind.
 */
const LATEST_TIER_DECISIONS = `WHERE ${TIER_ROWS}
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY row_key
    ORDER BY recorded_at DESC,
      CASE action WHEN 'STOPPING' THEN 1 WHEN 'PROPOSED' THEN 2 ELSE 0 END
  ) = 1`;

const TIER_OUTCOMES: ReadonlySet<string> = new Set([
  'ACTED',
  'NOTIFIED',
  'INCOMPLETE',
  'AWAITING_APPROVAL',
]);

/** The rows of a ledger (budget notifications or cap runs) that record a tier's outcome. */
export function tierRecordsOf(
  rows: readonly {
    outcome: string;
    tier: string | number | null;
    dry_run: boolean;
    slack_channel?: string | null;
    slack_ts?: string | null;
  }[],
): TierRecord[] {
  return rows
    .filter((r) => TIER_OUTCOMES.has(r.outcome) && r.tier !== null)
    .map((r) => ({
      tier: Number(r.tier),
      outcome: r.outcome as TierRecord['outcome'],
      dryRun: r.dry_run,
      slack:
        r.slack_channel && r.slack_ts ? { channel: r.slack_channel, ts: r.slack_ts } : undefined,
    }));
}

/** A decision as the port speaks of it, from its row. */
function decisionOf(
  r: Omit<DecisionRow, 'message_id' | 'hourly_cost'> & Pick<ActionRecord, 'hourly_cost'>,
): RecordedDecision {
  return {
    ...recordedVm(r),
    instanceId: r.instance_id ?? undefined,
    machineType: r.machine_type ?? undefined,
    provisioningModel: r.provisioning_model ?? undefined,
    priority: r.priority,
    action: r.action as ActionName,
    reason: r.reason,
    hourlyCost: recordedCost(r),
    priceCurrency: r.price_currency ?? undefined,
    priceSource: r.price_source,
    requestId: r.request_id ?? undefined,
  };
}

/** The trigger a row was recorded for (its run, spend and amount), or only `t` without one. */
function triggerOf(r: ActionRecord | undefined, t: TierOf): ShedTrigger {
  return {
    kind: t.kind,
    id: t.id,
    periodStart: t.periodStart,
    displayName: r?.budget_display_name ?? '',
    runId: r?.message_id ?? '',
    billingAccountId: r?.billing_account_id ?? '',
    spend: Number(r?.cost_amount ?? 0),
    amount: Number(r?.budget_amount ?? 0),
    currency: r?.budget_currency ?? 'USD',
    spendRatio: Number(r?.spend_ratio ?? 0),
  };
}

export class BigQueryEnforcementLedger implements EnforcementLedger {
  constructor(private readonly ledger: Pick<Ledger, 'query' | 'insert'>) {}

  async history(n: BudgetNotification): Promise<PeriodHistory> {
    // One read of the period: the highest cost is over rows of every outcome, out-of-order and
    // below-tier ones too; the tiers and forecast warnings are the rows that record them.
    const rows = await this.ledger.query<PeriodRow>(
      `SELECT CAST(cost_amount AS FLOAT64) AS cost, message_id, CAST(tier AS FLOAT64) AS tier,
              outcome, dry_run, forecast_threshold, slack_channel, slack_ts
       FROM \`\${dataset}.${NOTIFICATIONS_TABLE}\`
       WHERE ${PERIOD}
       ORDER BY recorded_at`,
      { budgetId: n.budgetId, periodStart: n.costIntervalStart },
    );
    let highestCost: number | undefined;
    for (const r of rows) highestCost = Math.max(highestCost ?? 0, Number(r.cost));
    return {
      highestCost,
      messageHandled: rows.some((r) => r.message_id === n.messageId && r.outcome !== 'INCOMPLETE'),
      tiers: tierRecordsOf(rows),
      forecastWarnings: rows
        .filter((r) => r.outcome === 'FORECAST_WARNING' && r.forecast_threshold !== null)
        .map((r) => Number(r.forecast_threshold)),
    };
  }

  async stoppedSoFar(t: ShedTrigger, tier: number): Promise<number> {
    // A STOPPING row is a stop requested whose outcome was never recorded (the function died
    // or its write failed): it counts against the cap as a stop.
    const [row] = await this.ledger.query<{ stopped: number }>(
      `SELECT COUNTIF(action IN ('STOPPED', 'STOPPING', 'UNCONFIRMED')) AS stopped FROM (
         SELECT action FROM \`\${dataset}.${ACTIONS_TABLE}\`
         ${LATEST_TIER_DECISIONS}
       )`,
      { budgetId: t.id, periodStart: t.periodStart, tier: tierText(tier), kind: t.kind },
    );
    return row?.stopped ?? 0;
  }

  private async unconfirmedRecords(t: TierOf, tier: number): Promise<ActionRecord[]> {
    return this.latestRecords(t, tier, ['UNCONFIRMED']);
  }

  /** The tier's latest decision per VM (real runs), for those whose action is one of `actions`. */
  private async latestRecords(
    t: TierOf,
    tier: number,
    actions: readonly ActionName[],
  ): Promise<ActionRecord[]> {
    const rows = await this.ledger.query<ActionRecord>(
      `SELECT ${ACTION_COLUMNS} FROM \`\${dataset}.${ACTIONS_TABLE}\`
       ${LATEST_TIER_DECISIONS}`,
      { budgetId: t.id, periodStart: t.periodStart, tier: tierText(tier), kind: t.kind },
    );
    // The period and tier as the trigger states them, not as the CASTs above print them.
    return rows
      .filter((r) => (actions as readonly string[]).includes(r.action))
      .map((r) => ({ ...r, cost_interval_start: t.periodStart, tier: tierText(tier) }));
  }

  async proposal(t: TierOf, tier: number): Promise<Proposal | undefined> {
    const params = {
      budgetId: t.id,
      periodStart: t.periodStart,
      tier: tierText(tier),
      kind: t.kind,
    };
    const [[first], latest] = await Promise.all([
      this.ledger.query<{ at: string | null }>(
        `SELECT FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', MIN(recorded_at)) AS at
         FROM \`\${dataset}.${ACTIONS_TABLE}\`
         WHERE ${TIER_ROWS} AND action = 'PROPOSED'`,
        params,
      ),
      this.latestRecords(t, tier, ['PROPOSED']),
    ]);
    if (!first?.at) return undefined;
    const proposed = await this.proposedRecord(t, tier);
    return {
      proposedAt: new Date(first.at),
      pending: latest.map(decisionOf),
      trigger: triggerOf(proposed ?? latest[0], t),
    };
  }

  /** One PROPOSED row of the tier: the trigger's figures as the proposal saw them. */
  private async proposedRecord(t: TierOf, tier: number): Promise<ActionRecord | undefined> {
    const [row] = await this.ledger.query<ActionRecord>(
      `SELECT ${ACTION_COLUMNS} FROM \`\${dataset}.${ACTIONS_TABLE}\`
       WHERE ${TIER_ROWS} AND action = 'PROPOSED'
       ORDER BY recorded_at
       LIMIT 1`,
      { budgetId: t.id, periodStart: t.periodStart, tier: tierText(tier), kind: t.kind },
    );
    return row;
  }

  /** The VMs the tier stopped whose latest decision is still a stop (not restarted since). */
  async stoppedByTier(t: TierOf, tier: number): Promise<RecordedStop[]> {
    return (await this.latestRecords(t, tier, ['STOPPED', 'UNCONFIRMED'])).map((r) => ({
      ...recordedVm(r),
      action: r.action as ActionName,
      hourlyCost: recordedCost(r),
    }));
  }

  /** Records VMs started again from Slack as RESTARTED, naming the Slack user. */
  async recordRestarts(
    t: TierOf,
    tier: number,
    restarted: ReadonlyArray<{ readonly stop: RecordedStop; readonly reason: string }>,
    slackUserId: string,
    at: Date,
  ): Promise<void> {
    if (restarted.length === 0) return;
    const records = await this.latestRecords(t, tier, ['STOPPED', 'UNCONFIRMED']);
    await this.ledger.insert(
      ACTIONS_TABLE,
      followUpRows(records, restarted, 'RESTARTED', at, slackUserId),
    );
  }

  /**
   * The hold from Slack on a tier in force at `now`, the longest first: a snooze holds every
   * tier of its budget or cap, a restart the tier it undid.
   */
  async activeHold(t: TierOf, tier: number, now: Date): Promise<ShedHold | undefined> {
    const [row] = await this.ledger.query<{
      action: string;
      hold_until: { value: string } | string;
      slack_user_id: string;
    }>(
      `SELECT action, hold_until, slack_user_id FROM \`\${dataset}.${SLACK_ACTIONS_TABLE}\`
       WHERE trigger_kind = @kind AND trigger_id = @id AND period_start = TIMESTAMP(@period)
         AND (action LIKE 'snooze%' OR (action = 'restart' AND tier = CAST(@tier AS NUMERIC)))
         AND outcome IN ('DONE', 'PARTIAL', 'NOTHING_TO_DO') AND hold_until > @now
       ORDER BY hold_until DESC
       LIMIT 1`,
      { kind: t.kind, id: t.id, period: t.periodStart, tier: tierText(tier), now },
    );
    if (!row) return undefined;
    const until = typeof row.hold_until === 'string' ? row.hold_until : row.hold_until.value;
    return { action: row.action, until: new Date(until), slackUserId: row.slack_user_id };
  }

  async unconfirmedStops(t: ShedTrigger, tier: number): Promise<UnconfirmedStop[]> {
    return (await this.unconfirmedRecords(t, tier)).map((r) => ({
      ...recordedVm(r),
      reason: r.reason,
      hourlyCost: recordedCost(r),
    }));
  }

  async confirmStops(
    t: ShedTrigger,
    tier: number,
    confirmed: ReadonlyArray<{ readonly stop: UnconfirmedStop; readonly reason: string }>,
    at: Date,
  ): Promise<void> {
    if (confirmed.length === 0) return;
    // The follow-up keeps every column of the UNCONFIRMED row (its message id among them).
    const records = await this.unconfirmedRecords(t, tier);
    await this.ledger.insert(ACTIONS_TABLE, followUpRows(records, confirmed, 'STOPPED', at));
  }

  async unreported(t: ShedTrigger, tier: number): Promise<RecordedDecision[]> {
    const params = {
      budgetId: t.id,
      periodStart: t.periodStart,
      tier: tierText(tier),
      kind: t.kind,
    };
    const [rows, reported] = await Promise.all([
      this.ledger.query<DecisionRow>(
        `SELECT message_id, project_id, zone, instance_name, instance_id, machine_type,
                provisioning_model, priority, action, reason,
                CAST(hourly_cost AS FLOAT64) AS hourly_cost, price_currency, price_source, request_id
         FROM \`\${dataset}.${ACTIONS_TABLE}\`
         ${LATEST_TIER_DECISIONS}
         ORDER BY project_id, zone, instance_name`,
        params,
      ),
      // The trigger's own record of each attempt: a budget's notification rows, a cap's runs.
      this.ledger.query<{ message_id: string }>(
        t.kind === 'budget'
          ? `SELECT DISTINCT message_id FROM \`\${dataset}.${NOTIFICATIONS_TABLE}\`
             WHERE ${PERIOD} AND tier = CAST(@tier AS NUMERIC) AND dry_run = FALSE`
          : `SELECT DISTINCT run_id AS message_id FROM \`\${dataset}.${CAP_RUNS_TABLE}\`
             WHERE cap_name = @budgetId AND period_start = TIMESTAMP(@periodStart)
               AND tier = CAST(@tier AS NUMERIC) AND dry_run = FALSE`,
        params,
      ),
    ]);
    const done = new Set(reported.map((r) => r.message_id));
    return rows.filter((r) => !done.has(r.message_id)).map(decisionOf);
  }

  async recordDecisions(
    t: ShedTrigger,
    tier: number,
    outcomes: readonly VmOutcome[],
    stamp: DecisionStamp,
  ): Promise<void> {
    await this.ledger.insert(
      ACTIONS_TABLE,
      outcomes.map((o) => actionRow(t, tier, o, stamp)),
    );
  }

  async recordNotification(
    n: BudgetNotification,
    summary: NotificationSummary,
    at: Date,
  ): Promise<void> {
    await this.ledger.insert(NOTIFICATIONS_TABLE, [notificationRow(n, summary, at)]);
  }
}

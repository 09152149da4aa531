/**
 * The `slack_actions` ledger (sql/tables/45_slack_actions.sql): one row per click, keyed by the
 * click's identity, so a click delivered twice is found and not acted on again. The holds it
 * records (snoozes, restarts) are read by the shedding path (`BigQueryEnforcementLedger`).
 */
import type { Ledger } from '../adapters/bigquery.js';
import { SLACK_ACTIONS_TABLE } from '../budget/enforcement-ledger.js';
import { clickKey, type Click } from './interaction.js';

export type ClickOutcome = 'DONE' | 'PARTIAL' | 'NOTHING_TO_DO' | 'REFUSED' | 'FAILED';

/** What became of a click, as the ledger keeps it. */
export interface ClickRecord {
  readonly click: Click;
  readonly outcome: ClickOutcome;
  readonly detail: string;
  readonly vmsActed: number;
  /** Until when a Snooze, a Restart's hold or an Exempt lasts. */
  readonly holdUntil: Date | undefined;
}

export interface SlackActionLedger {
  /** Whether this click already has an outcome (then it is not acted on again). */
  handled(click: Click): Promise<boolean>;
  record(record: ClickRecord, recordedAt: Date): Promise<void>;
}

export function clickRow(record: ClickRecord, recordedAt: Date): Record<string, unknown> {
  const { click } = record;
  const t = click.target;
  return {
    row_key: clickKey(click),
    recorded_at: recordedAt.toISOString(),
    action: click.action,
    outcome: record.outcome,
    detail: record.detail.slice(0, 2000),
    slack_user_id: click.user.id,
    slack_user_name: click.user.name,
    slack_team_id: click.teamId === '' ? null : click.teamId,
    slack_channel: click.channel,
    slack_ts: click.messageTs,
    action_ts: click.actionTs,
    trigger_kind: t.kind === 'tier' ? t.tier.kind : null,
    trigger_id: t.kind === 'tier' ? t.tier.id : null,
    period_start: t.kind === 'tier' ? t.tier.period : null,
    tier: t.kind === 'tier' ? String(t.tier.tier) : null,
    project_id: t.kind === 'vm' ? t.vm.project : null,
    zone: t.kind === 'vm' ? t.vm.zone : null,
    instance_name: t.kind === 'vm' ? t.vm.name : null,
    run_id: t.kind === 'run' ? t.run.run : null,
    vms_acted: record.vmsActed,
    hold_until: record.holdUntil?.toISOString() ?? null,
  };
}

export class BigQuerySlackActionLedger implements SlackActionLedger {
  constructor(private readonly ledger: Pick<Ledger, 'query' | 'insert'>) {}

  async handled(click: Click): Promise<boolean> {
    const rows = await this.ledger.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM \`\${dataset}.${SLACK_ACTIONS_TABLE}\` WHERE row_key = @key`,
      { key: clickKey(click) },
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async record(record: ClickRecord, recordedAt: Date): Promise<void> {
    const row = clickRow(record, recordedAt);
    await this.ledger.insert(SLACK_ACTIONS_TABLE, [
      { key: `${String(row.row_key)}/${record.outcome}`, row },
    ]);
  }
}

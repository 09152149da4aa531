/**
 * The `slack_actions` ledger (sql/tables/45_slack_actions.sql): one row per click, keyed by the
 * click's identity, so a click delivered twice is found and not acted on again; and the holds
 * (snoozes, restarts) that the enforcers honour until they pass.
 */
import type { Ledger } from '../adapters/bigquery.js';
import type { SlackActionName } from '../core/slack-buttons.js';
import { clickKey, type Click } from './interaction.js';

export const SLACK_ACTIONS_TABLE = 'slack_actions';

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

/** A tier whose shedding is held (snoozed, or restarted from Slack) until `until`. */
export interface ShedHold {
  readonly action: SlackActionName;
  readonly until: Date;
  readonly slackUserId: string;
}

export interface SlackActionLedger {
  /** Whether this click already has an outcome (then it is not acted on again). */
  handled(click: Click): Promise<boolean>;
  record(record: ClickRecord, recordedAt: Date): Promise<void>;
  /** The snoozes of a budget or cap and the Restart holds of one tier, in force at `now`. */
  holds(
    target: { kind: string; id: string; period: string; tier: number },
    now: Date,
  ): Promise<ShedHold[]>;
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

/** Snoozes hold every tier of their budget or cap; a Restart holds the tier it undid. */
const SNOOZES = ['snooze_1h', 'snooze_4h', 'snooze_tomorrow'];

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

  async holds(
    target: { kind: string; id: string; period: string; tier: number },
    now: Date,
  ): Promise<ShedHold[]> {
    const rows = await this.ledger.query<{
      action: string;
      hold_until: { value: string } | string;
      slack_user_id: string;
    }>(
      `SELECT action, hold_until, slack_user_id FROM \`\${dataset}.${SLACK_ACTIONS_TABLE}\`
       WHERE trigger_kind = @kind AND trigger_id = @id
         AND period_start = TIMESTAMP(@period)
         AND (action IN UNNEST(@snoozes) OR (action = 'restart' AND tier = CAST(@tier AS NUMERIC)))
         AND outcome IN ('DONE', 'PARTIAL', 'NOTHING_TO_DO') AND hold_until > @now
       ORDER BY hold_until DESC`,
      {
        kind: target.kind,
        id: target.id,
        period: target.period,
        tier: String(target.tier),
        snoozes: SNOOZES,
        now,
      },
    );
    return rows.map((r) => ({
      action: r.action as SlackActionName,
      until: new Date(typeof r.hold_until === 'string' ? r.hold_until : r.hold_until.value),
      slackUserId: r.slack_user_id,
    }));
  }
}

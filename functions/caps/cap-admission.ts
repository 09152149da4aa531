/**
 * Admission control for new work: the caps a run's VM or job falls in, as their last
 * enforceSpotCap run saw them. A cap whose spend has reached a tier that sheds refuses the start;
 * a cap whose forecast reaches a tier lets it start with a warning. Pure, apart from the read of
 * each cap's latest figures (`CapStandings`).
 */
import { z } from 'zod';
import type { Ledger } from '../adapters/bigquery.js';
import type { SlackMessage } from '../adapters/slack.js';
import { percent, tierReached } from '../budget/policy.js';
import type { ProvisioningModel } from '../core/vm.js';
import { CAP_TABLES } from './cap-ledger.js';
import type { SpotCap } from './cap-policy.js';
import { capPeriod } from './cap-spend.js';

export interface AdmissionTarget {
  readonly project: string;
  /** The VM's labels, or a Cloud Run job's (caps with a label scope match on them). */
  readonly labels: Readonly<Record<string, string>>;
  /** Undefined for a Cloud Run job: a job falls in any cap over its project and labels. */
  readonly provisioningModel: ProvisioningModel | undefined;
}

/** A cap's figures from its latest run in the current period. */
export interface CapStanding {
  readonly cap: string;
  readonly spend: number;
  readonly amount: number;
  readonly currency: string;
  readonly forecast: number;
  readonly periodEnd: string;
  readonly at: string;
}

export interface CapNotice {
  readonly cap: string;
  readonly spend: number;
  readonly capAmount: number;
  readonly currency: string;
  readonly forecast: number;
  /** When the cap's period ends and its spend starts again from zero. */
  readonly resetsAt: string;
  readonly tier: number;
  readonly message: string;
}

export interface Admission {
  readonly refused: CapNotice | undefined;
  readonly warnings: readonly CapNotice[];
}

export const ADMITTED: Admission = Object.freeze({ refused: undefined, warnings: [] });

export function capsOf(
  target: AdmissionTarget,
  caps: readonly SpotCap[],
  governed: readonly string[],
): SpotCap[] {
  return caps.filter(
    (cap) =>
      (cap.scope.projects ?? governed).includes(target.project) &&
      (target.provisioningModel === undefined ||
        (cap.provisioningModels as readonly string[]).includes(target.provisioningModel)) &&
      (!cap.scope.label || target.labels[cap.scope.label.key] === cap.scope.label.value),
  );
}

/** The decision for a start, from the caps it falls in and their standings. */
export function admit(
  caps: readonly SpotCap[],
  standings: ReadonlyMap<string, CapStanding>,
): Admission {
  const warnings: CapNotice[] = [];
  for (const cap of caps) {
    const s = standings.get(cap.name);
    if (!s) continue;
    const notice = (tier: number, message: string): CapNotice => ({
      cap: cap.name,
      spend: s.spend,
      capAmount: s.amount,
      currency: s.currency,
      forecast: s.forecast,
      resetsAt: s.periodEnd,
      tier,
      message,
    });
    const reached = tierReached(cap, s.spend / s.amount);
    if (reached && reached.stop.length > 0) {
      return {
        refused: notice(
          reached.at,
          `Spot cap ${cap.name} is at ${percent(s.spend / s.amount)} of ${s.amount} ${s.currency}, at or over its shedding tier ${percent(reached.at)}; it resets at ${s.periodEnd}`,
        ),
        warnings,
      };
    }
    const forecast = tierReached(cap, s.forecast / s.amount);
    if (forecast && forecast.at > (reached?.at ?? 0)) {
      warnings.push(
        notice(
          forecast.at,
          `Spot cap ${cap.name} is forecast to reach ${percent(s.forecast / s.amount)} of ${s.amount} ${s.currency} by ${s.periodEnd} (tier ${percent(forecast.at)}${forecast.stop.length > 0 ? ` stops ${forecast.stop.join(' and ')} priority` : ''})`,
        ),
      );
    }
  }
  return { refused: undefined, warnings };
}

const standingRow = z.object({
  cap_name: z.string(),
  spend: z.coerce.number(),
  cap_amount: z.coerce.number(),
  currency: z.string(),
  forecast: z.coerce.number(),
  period_end_text: z.string(),
  run_at_text: z.string(),
});

/** How far back a budget-period cap's latest run is looked for (a budget's year, and a day). */
const BUDGET_LOOKBACK_MS = 367 * 24 * 3600_000;

/** Each cap's latest run in its current period, read from cap_runs. */
export class CapStandings {
  constructor(private readonly ledger: Pick<Ledger, 'query'>) {}

  async of(caps: readonly SpotCap[], now: Date): Promise<Map<string, CapStanding>> {
    if (caps.length === 0) return new Map();
    // A cap that follows a budget takes the period its enforcer last read from the budget: the
    // run's period must hold now (the run trigger does not read budgets).
    const periods = caps.map((cap) => ({
      cap,
      start: cap.period === 'budget' ? undefined : capPeriod(cap.period, now).start,
    }));
    const since = new Date(
      Math.min(...periods.map((p) => p.start?.getTime() ?? now.getTime() - BUDGET_LOOKBACK_MS)),
    );
    const params: Record<string, unknown> = { since, now };
    const types: Record<string, string> = { since: 'TIMESTAMP', now: 'TIMESTAMP' };
    const match = periods.map(({ cap, start }, i) => {
      params[`c${i}`] = cap.name;
      if (!start) return `(cap_name = @c${i} AND period_start <= @now AND period_end > @now)`;
      params[`s${i}`] = start;
      types[`s${i}`] = 'TIMESTAMP';
      return `(cap_name = @c${i} AND period_start = @s${i})`;
    });
    const rows = await this.ledger.query(
      `SELECT cap_name, CAST(spend AS STRING) AS spend, CAST(cap_amount AS STRING) AS cap_amount,
         currency, CAST(forecast AS STRING) AS forecast,
         FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', period_end) AS period_end_text,
         FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', run_at) AS run_at_text
       FROM (
         SELECT *, ROW_NUMBER() OVER (PARTITION BY cap_name ORDER BY run_at DESC) AS latest
         FROM \`\${dataset}.${CAP_TABLES.runs}\`
         WHERE run_at >= @since AND (${match.join(' OR ')})
       )
       WHERE latest = 1`,
      params,
      types,
    );
    return new Map(
      rows.map((raw) => {
        const r = standingRow.parse(raw);
        return [
          r.cap_name,
          {
            cap: r.cap_name,
            spend: r.spend,
            amount: r.cap_amount,
            currency: r.currency,
            forecast: r.forecast,
            periodEnd: r.period_end_text,
            at: r.run_at_text,
          },
        ];
      }),
    );
  }
}

/** The Slack note of a run started while a cap it falls in is forecast to cross a tier. */
export function capWarningMessage(
  run: { readonly runId: string; readonly pipeline: string },
  warnings: readonly CapNotice[],
): SlackMessage {
  const lines = warnings.map((w) => `• ${w.message}`).join('\n');
  return {
    text: `Run ${run.runId} of ${run.pipeline} started under a Spot cap forecast to cross a tier:\n${lines}`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*Run \`${run.runId}\` of ${run.pipeline} started under a Spot cap forecast to cross a tier*\n${lines}`,
        },
      },
    ],
  };
}

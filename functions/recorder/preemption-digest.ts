/**
 * The daily preemption digest: once the previous UTC day has closed (and settled), one Slack
 * message with a line per team: how many preemptions, the run time they cut short and its cost,
 * as `preemptions_by_team` holds them. It is recorded in the alert ledger under the day's key
 * once Slack took it, so later runs the same day post nothing, and a post Slack refused is tried
 * again by the next run. A day without preemptions posts nothing and is recorded the same way,
 * so each later run of the day reads only the alert ledger's row, not the preemptions again.
 */
import { postBestEffort, type Notifier, type SlackMessage } from '../adapters/slack.js';
import { DAY_MS, HOUR_MS, isoDay } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { SpotCostLedger } from './spot-cost-ledger.js';

export interface TeamPreemptions {
  /** Undefined for VMs without a team label. */
  readonly team: string | undefined;
  readonly preemptions: number;
  readonly lostHours: number;
  /** Undefined when no preempted run time could be priced. */
  readonly lostCost: number | undefined;
  readonly currency: string | undefined;
}

/** The recorder ledger's digest reads and writes, which is all a digest run needs of it. */
export type DigestLedger = Pick<SpotCostLedger, 'sentAlerts' | 'preemptionDigest' | 'recordDigest'>;

export interface DigestOutcome {
  /** The UTC day the digest is about (YYYY-MM-DD). */
  readonly day: string;
  /** ALREADY_DIGESTED: an earlier run posted the day, or found it had no preemptions. */
  readonly outcome: 'POSTED' | 'ALREADY_DIGESTED' | 'NO_PREEMPTIONS' | 'SLACK_FAILED';
}

/** The day a run at `now` digests: the last UTC day closed at least `settleMinutes` ago. */
export function digestDay(now: Date, settleMinutes: number): Date {
  const settled = now.getTime() - settleMinutes * 60_000;
  return new Date(Math.floor(settled / DAY_MS) * DAY_MS - DAY_MS);
}

export function digestKey(day: Date): string {
  return `${isoDay(day)}/preemptions`;
}

function teamName(team: string | undefined): string {
  return team === undefined ? 'VMs without a team label' : `Team ${team}`;
}

function lostLine(row: TeamPreemptions, fallbackCurrency: string): string {
  const hours = `${row.lostHours.toFixed(1)} h of run time lost`;
  if (row.lostCost === undefined) return `${hours} (not priced)`;
  return `${hours}, ${row.lostCost.toFixed(2)} ${row.currency ?? fallbackCurrency}`;
}

/** One line per team, most preempted first. */
export function digestMessage(
  day: Date,
  teams: readonly TeamPreemptions[],
  currency: string,
): SlackMessage {
  const lines = [...teams]
    .sort(
      (a, b) => b.preemptions - a.preemptions || teamName(a.team).localeCompare(teamName(b.team)),
    )
    .map(
      (row) =>
        `• ${teamName(row.team)}: ${row.preemptions} preemption${row.preemptions === 1 ? '' : 's'}, ${lostLine(row, currency)}`,
    );
  return { text: [`Spot preemptions on ${isoDay(day)} (UTC):`, ...lines].join('\n') };
}

export interface PreemptionDigestDeps {
  readonly notifier: Notifier;
  readonly ledger: DigestLedger;
  readonly logger: Logger;
  readonly config: {
    readonly settleMinutes: number;
    readonly currency: string;
    readonly slackChannel: string | undefined;
  };
}

export type PreemptionDigest = (now: Date) => Promise<DigestOutcome>;

export function createPreemptionDigest(deps: PreemptionDigestDeps): PreemptionDigest {
  const { notifier, ledger, logger, config } = deps;
  return async (now) => {
    const day = digestDay(now, config.settleMinutes);
    const key = digestKey(day);
    const done = (outcome: DigestOutcome['outcome']): DigestOutcome => ({
      day: isoDay(day),
      outcome,
    });
    const sent = await ledger.sentAlerts(day, new Date(day.getTime() + HOUR_MS));
    if (sent.has(key)) return done('ALREADY_DIGESTED');
    const teams = await ledger.preemptionDigest(day);
    if (teams.length === 0) {
      await ledger.recordDigest({ key, day, teams }, { channel: undefined, ts: undefined }, now);
      return done('NO_PREEMPTIONS');
    }
    const post = await postBestEffort(
      notifier,
      logger,
      digestMessage(day, teams, config.currency),
      {
        message: 'Could not post the preemption digest; a later run retries it',
        context: { day: isoDay(day) },
      },
    );
    if (!post.sent) return done('SLACK_FAILED');
    const channel = notifier.enabled ? config.slackChannel : undefined;
    await ledger.recordDigest({ key, day, teams }, { channel, ts: post.posted?.ts }, now);
    logger.info('Posted the preemption digest', { day: isoDay(day), teams: teams.length });
    return done('POSTED');
  };
}

/**
 * The one Slack message a sweep sends: counts, the worst offenders by team and by project, and
 * the VMs that will be stopped at the next deadline. Pure: outcomes are summarised into a
 * digest, and the digest is composed into Block Kit.
 */
import type { KnownBlock } from '@slack/web-api';
import type { SlackMessage } from '../adapters/slack.js';
import { LABEL } from '../core/labels.js';
import { vmExemptSection } from '../core/slack-buttons.js';
import type { VmRef } from '../core/vm.js';
import { acted, type CheckOutcome, type CheckRun } from './check-outcome.js';

export interface SummaryOptions {
  /** Whether the policy stops VMs after their deadline (otherwise marks are only warnings). */
  readonly stops: boolean;
}

export interface DigestOptions {
  readonly failedProjects: readonly string[];
  /** Zones Compute could not reach (`project/zone`): their VMs were not checked. */
  readonly unreachableZones?: readonly string[];
  readonly dashboardUrl?: string | undefined;
  /** Rows per list (default 5 offenders, 10 upcoming stops). */
  readonly topOffenders?: number;
  readonly topStops?: number;
}

export interface DigestCounts {
  checked: number;
  compliant: number;
  nonCompliant: number;
  exempt: number;
  fixed: number;
  marked: number;
  unmarked: number;
  stopped: number;
  failed: number;
}

export interface Offender {
  readonly name: string;
  readonly vms: number;
  /** Hourly cost of the priced VMs among them. */
  readonly hourly: number;
}

export interface UpcomingStop {
  readonly vm: string;
  readonly ref: VmRef;
  readonly team: string;
  readonly deadline: string;
  readonly hourly: number | undefined;
}

export interface Digest {
  readonly counts: DigestCounts;
  readonly byTeam: readonly Offender[];
  readonly byProject: readonly Offender[];
  readonly upcomingStops: readonly UpcomingStop[];
  readonly currency: string | undefined;
}

const NO_TEAM = '(no team)';
/** VMs of the upcoming stops offered an "Exempt until…" date picker (one block each). */
const EXEMPT_PICKERS = 5;

function hourlyOf(outcome: CheckOutcome): number | undefined {
  const rate = outcome.rate;
  return rate && rate.source !== 'unknown' ? rate.hourly : undefined;
}

function offenders(
  outcomes: readonly CheckOutcome[],
  nameOf: (o: CheckOutcome) => string,
): Offender[] {
  const groups = new Map<string, { vms: number; hourly: number }>();
  for (const o of outcomes) {
    const name = nameOf(o);
    const group = groups.get(name) ?? { vms: 0, hourly: 0 };
    group.vms += 1;
    group.hourly += hourlyOf(o) ?? 0;
    groups.set(name, group);
  }
  return [...groups]
    .map(([name, g]) => ({ name, vms: g.vms, hourly: g.hourly }))
    .sort((a, b) => b.vms - a.vms || b.hourly - a.hourly || a.name.localeCompare(b.name));
}

export function summariseChecks(
  outcomes: readonly CheckOutcome[],
  options: SummaryOptions,
): Digest {
  const doneOrPlanned = (o: CheckOutcome, action: string): boolean =>
    acted(o) && o.evaluation.action === action;
  const counted = outcomes.filter((o) => !o.evaluation.exempt);
  const offending = counted.filter((o) => !o.compliant);
  const counts: DigestCounts = {
    checked: outcomes.length,
    compliant: counted.length - offending.length,
    nonCompliant: offending.length,
    exempt: outcomes.length - counted.length,
    fixed: outcomes.filter((o) => acted(o) && o.evaluation.fixedKeys.length > 0).length,
    marked: outcomes.filter((o) => doneOrPlanned(o, 'mark')).length,
    unmarked: outcomes.filter((o) => doneOrPlanned(o, 'unmark')).length,
    stopped: outcomes.filter((o) => doneOrPlanned(o, 'stop')).length,
    failed: outcomes.filter((o) => o.status === 'failed').length,
  };
  const upcomingStops = options.stops
    ? offending
        .filter((o) => o.evaluation.stopAfter !== undefined && o.evaluation.action !== 'stop')
        .filter((o) => o.vm.status === 'RUNNING')
        .map((o) => ({
          vm: `${o.vm.project}/${o.vm.zone}/${o.vm.name}`,
          ref: { project: o.vm.project, zone: o.vm.zone, name: o.vm.name },
          team: o.labels[LABEL.team] ?? NO_TEAM,
          deadline: o.evaluation.stopAfter as string,
          hourly: hourlyOf(o),
        }))
        .sort(
          (a, b) =>
            a.deadline.localeCompare(b.deadline) ||
            (b.hourly ?? 0) - (a.hourly ?? 0) ||
            a.vm.localeCompare(b.vm),
        )
    : [];
  const currencies = new Set(
    outcomes.flatMap((o) => (hourlyOf(o) !== undefined && o.rate ? [o.rate.currency] : [])),
  );
  return {
    counts,
    byTeam: offenders(offending, (o) => o.labels[LABEL.team] ?? NO_TEAM),
    byProject: offenders(offending, (o) => o.vm.project),
    upcomingStops,
    currency: currencies.size === 1 ? [...currencies][0] : undefined,
  };
}

// Slack mrkdwn treats these three as control characters.
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function money(amount: number | undefined, currency: string | undefined): string {
  if (amount === undefined || currency === undefined || amount === 0) return '';
  return `, ${amount.toFixed(2)} ${currency}/h`;
}

function list<T>(items: readonly T[], limit: number, line: (item: T) => string): string {
  const shown = items.slice(0, limit).map(line);
  if (items.length > limit) shown.push(`…and ${items.length - limit} more`);
  return shown.join('\n');
}

function section(text: string): KnownBlock {
  // A section's text holds at most 3000 characters.
  return { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } };
}

export function composeLabelDigest(
  run: CheckRun,
  digest: Digest,
  options: DigestOptions,
): SlackMessage {
  const { counts, currency } = digest;
  const verb = run.dryRun ? 'would be ' : '';
  const title = `Label compliance: ${counts.compliant} of ${counts.checked - counts.exempt} VMs compliant${run.dryRun ? ' (dry run)' : ''}`;
  const fields = [
    ['Checked', counts.checked],
    ['Compliant', counts.compliant],
    ['Non-compliant', counts.nonCompliant],
    ['Exempt', counts.exempt],
    [`Fixed${run.dryRun ? ' (planned)' : ''}`, counts.fixed],
    [`Marked${run.dryRun ? ' (planned)' : ''}`, counts.marked],
    [`Unmarked${run.dryRun ? ' (planned)' : ''}`, counts.unmarked],
    [`Stopped${run.dryRun ? ' (planned)' : ''}`, counts.stopped],
    ['Failed', counts.failed],
  ] as const;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    {
      type: 'section',
      fields: fields.map(([name, value]) => ({
        type: 'mrkdwn' as const,
        text: `*${name}*\n${value}`,
      })),
    },
  ];
  const topOffenders = options.topOffenders ?? 5;
  const offenderLine = (o: Offender): string =>
    `• \`${escape(o.name)}\`: ${o.vms} VM${o.vms === 1 ? '' : 's'}${money(o.hourly, currency)}`;
  if (digest.byTeam.length > 0) {
    blocks.push(
      section(`*Worst offenders by team*\n${list(digest.byTeam, topOffenders, offenderLine)}`),
    );
    blocks.push(
      section(
        `*Worst offenders by project*\n${list(digest.byProject, topOffenders, offenderLine)}`,
      ),
    );
  }
  const next = digest.upcomingStops[0];
  if (next) {
    const atNext = digest.upcomingStops.filter((s) => s.deadline === next.deadline);
    const lines = list(
      digest.upcomingStops,
      options.topStops ?? 10,
      (s) =>
        `• \`${escape(s.vm)}\` (${escape(s.team)}) after ${s.deadline}${money(s.hourly, currency)}`,
    );
    blocks.push(
      section(
        `*${atNext.length} VM${atNext.length === 1 ? '' : 's'} ${verb}stopped after the next deadline, ${next.deadline}, unless labelled*\n${lines}`,
      ),
    );
    // Whoever owns one of the next to stop can exempt it until a date from here (slackActions).
    digest.upcomingStops.slice(0, EXEMPT_PICKERS).forEach((s, i) => {
      blocks.push(vmExemptSection(s.ref, `\`${escape(s.vm)}\` stops after ${s.deadline}`, i));
    });
  }
  if (options.failedProjects.length > 0) {
    blocks.push(
      section(
        `:warning: Not checked (listing failed): ${options.failedProjects.map((p) => `\`${escape(p)}\``).join(', ')}`,
      ),
    );
  }
  const unreachable = options.unreachableZones ?? [];
  if (unreachable.length > 0) {
    blocks.push(
      section(
        `:warning: Not checked (zone unreachable): ${unreachable.map((z) => `\`${escape(z)}\``).join(', ')}; the sweep is retried for them`,
      ),
    );
  }
  const context = [
    `${run.kind === 'sweep' ? 'Sweep' : 'Check'} \`${escape(run.id)}\``,
    run.dryRun ? 'dry run: nothing was changed' : undefined,
    options.dashboardUrl ? `<${options.dashboardUrl}|Compliance dashboard>` : undefined,
  ].filter((t): t is string => t !== undefined);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  const text = [
    title,
    `${counts.fixed} fixed, ${counts.marked} marked, ${counts.stopped} stopped, ${counts.failed} failed${run.dryRun ? ' (planned; dry run)' : ''}.`,
    next
      ? `Next deadline ${next.deadline}: ${digest.upcomingStops.filter((s) => s.deadline === next.deadline).length} VM(s).`
      : '',
  ]
    .filter((t) => t !== '')
    .join(' ');
  return { text, blocks };
}

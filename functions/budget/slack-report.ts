/**
 * The Slack messages of the shedding path, as values, for a budget or a Spot cap: one per tier
 * per period (spend against the amount, tier, what was stopped and what it saves per hour, what
 * was spared and why; for a cap also its forecast and a bar of the period so far), follow-ups
 * for its thread, and notify-only and forecast messages.
 */
import type { KnownBlock } from '@slack/web-api';
import type { SlackMessage } from '../adapters/slack.js';
import { utcMinute } from '../core/clock.js';
import {
  actionsBlock,
  approvalButtons,
  listSections,
  tierButtons,
  type TierTarget,
} from '../core/slack-buttons.js';
import { vmKey } from '../core/vm.js';
import type { ActedVms, VmOutcome } from './enforcement-ledger.js';
import type { SheddingPlan } from './plan-shedding.js';
import { describeTier, percent, type Approval, type Tier } from './policy.js';
import {
  triggerLabel,
  triggerNoun,
  type CapOutlook,
  type ShedTrigger,
  type TriggerKind,
} from './shed-trigger.js';

const LISTED_VMS = 10;

export function money(amount: number, currency: string, hourly = false): string {
  try {
    return new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: hourly ? 4 : 2,
    }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

/** The setting that turns a dry run into enforcement, named in dry-run messages. */
const ENFORCE_VARIABLE: Readonly<Record<TriggerKind, string>> = {
  budget: 'COSTGUARD_BUDGET_ENFORCE',
  cap: 'COSTGUARD_SPOT_CAPS_ENFORCE',
};

function spendLine(t: ShedTrigger): string {
  return `${money(t.spend, t.currency)} of ${money(t.amount, t.currency)} (${percent(t.spendRatio)})`;
}

function headerFields(t: ShedTrigger, tier: Tier | undefined): KnownBlock {
  return {
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*${triggerNoun(t)}*\n${triggerLabel(t)}` },
      { type: 'mrkdwn', text: `*Spend*\n${spendLine(t)}` },
      { type: 'mrkdwn', text: `*Tier*\n${tier ? describeTier(tier) : 'none reached'}` },
      { type: 'mrkdwn', text: `*Period from*\n${t.periodStart.slice(0, 10)}` },
    ],
  };
}

const BAR_CELLS = 20;

/** `▓▓▓▓▓▓▓▓▓▓▓▓▓░░░░░░░`: a share of 0 to 1 (or more, shown full) as a text bar. */
export function textBar(share: number): string {
  const full = Math.min(BAR_CELLS, Math.max(0, Math.round(share * BAR_CELLS)));
  return `${'▓'.repeat(full)}${'░'.repeat(BAR_CELLS - full)}`;
}

/** A cap's spend split, forecast, and the period so far against its spend, as bars. */
function outlookBlocks(t: ShedTrigger, outlook: CapOutlook | undefined): KnownBlock[] {
  if (!outlook) return [];
  const m = (amount: number): string => money(amount, t.currency);
  return [
    section(
      [
        `*Spend so far* ${m(t.spend)}: ${m(outlook.recorded)} recorded + ${m(outlook.estimated)} estimated for hours not yet recorded`,
        `*Forecast* ${m(outlook.forecast)} by ${outlook.periodEnd.slice(0, 16).replace('T', ' ')} UTC (${percent(outlook.forecast / t.amount)} of the cap)`,
        `\`${textBar(outlook.elapsed)}\` ${percent(outlook.elapsed)} of the period gone`,
        `\`${textBar(t.spendRatio)}\` ${percent(t.spendRatio)} of the cap spent`,
      ].join('\n'),
    ),
    context(`Scope: ${outlook.scope}. Forecast: ${outlook.forecastMethod}.`),
  ];
}

function vmLine(o: VmOutcome, withReason: boolean): string {
  const { vm, priority, rate } = o.planned;
  const cost =
    rate.source === 'unknown' ? 'unpriced' : `${money(rate.hourly, rate.currency, true)}/h`;
  return `• \`${vmKey(vm)}\` ${priority}, ${cost}${withReason ? ` — ${o.reason}` : ''}`;
}

function vmLines(outcomes: readonly VmOutcome[], withReason: boolean): string {
  const lines = outcomes.slice(0, LISTED_VMS).map((o) => vmLine(o, withReason));
  if (outcomes.length > LISTED_VMS) lines.push(`…and ${outcomes.length - LISTED_VMS} more`);
  return lines.join('\n');
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } };
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

function countBy(outcomes: readonly VmOutcome[]): Map<string, VmOutcome[]> {
  const groups = new Map<string, VmOutcome[]>();
  for (const o of outcomes) groups.set(o.action, [...(groups.get(o.action) ?? []), o]);
  return groups;
}

function outcomeBlocks(
  plan: SheddingPlan,
  outcomes: readonly VmOutcome[],
  acted: ActedVms,
): KnownBlock[] {
  const groups = countBy(outcomes);
  const stopped = acted.vms;
  const failed = groups.get('FAILED') ?? [];
  const verb = groups.has('WOULD_STOP') ? 'Would stop' : 'Stopped';
  const blocks: KnownBlock[] = [];
  blocks.push(
    section(
      stopped.length > 0
        ? `*${verb} ${stopped.length} VM${stopped.length === 1 ? '' : 's'}*, saving about ${money(acted.savingPerHour, plan.currency, true)}/h\n${vmLines(stopped, false)}`
        : '*Nothing to stop*: no running VM of these priorities in scope',
    ),
  );
  if (failed.length > 0) {
    blocks.push(section(`*Failed to stop ${failed.length}*\n${vmLines(failed, true)}`));
  }
  const unconfirmed = groups.get('UNCONFIRMED') ?? [];
  if (unconfirmed.length > 0) {
    blocks.push(
      section(
        `*Stop requested, not yet confirmed for ${unconfirmed.length}* (checked again on the next delivery)\n${vmLines(unconfirmed, false)}`,
      ),
    );
  }
  const spared = [
    ['SKIPPED_EXEMPT', 'exempt'],
    ['SKIPPED_MIG', 'in a managed instance group (reported only)'],
    ['SKIPPED_CAP', "over the tier's cap"],
  ] as const;
  const sparedLines = spared
    .filter(([action]) => groups.has(action))
    .map(([action, why]) => {
      const list = groups.get(action) ?? [];
      return `*Spared ${list.length} ${why}*\n${vmLines(list, true)}`;
    });
  if (sparedLines.length > 0) blocks.push(section(sparedLines.join('\n')));
  return blocks;
}

/** What a tier message's buttons act on: the trigger's tier in its period. */
export function tierTarget(t: ShedTrigger, tier: Tier): TierTarget {
  return { kind: t.kind, id: t.id, period: t.periodStart, tier: tier.at };
}

/** Restart (when VMs were stopped for real) and Snooze, answered by slackActions. */
function tierActions(t: ShedTrigger, tier: Tier, stoppedAny: boolean): KnownBlock {
  return actionsBlock('costguard-tier', tierButtons(tierTarget(t, tier), stoppedAny));
}

export function tierMessage(input: {
  trigger: ShedTrigger;
  plan: SheddingPlan;
  outcomes: readonly VmOutcome[];
  acted: ActedVms;
  dryRun: boolean;
  scopeNote: string;
  dashboardUrl: string | undefined;
  /** Zones Compute could not reach (`project/zone, …`). */
  unreached?: string | undefined;
  confirmedLater?: number;
}): SlackMessage {
  const { trigger: t, plan, outcomes, acted, dryRun } = input;
  const failed = outcomes.filter((o) => o.action === 'FAILED').length;
  const unreachedText = input.unreached ? ` Zones unreachable: ${input.unreached}.` : '';
  const title = `${dryRun ? '[dry run] ' : ''}${triggerNoun(t)} ${triggerLabel(t)} at ${percent(t.spendRatio)}: tier ${percent(plan.tier.at)}`;
  const notes = [
    dryRun
      ? `Dry run: nothing was stopped. Set ${ENFORCE_VARIABLE[t.kind]}=true to enforce.`
      : undefined,
    failed > 0 ? `${failed} stop(s) failed; transient failures are retried.` : undefined,
    `Scope: ${input.scopeNote}.`,
    'Critical and exempt VMs are never stopped.',
    input.dashboardUrl ? `<${input.dashboardUrl}|Cost dashboard>` : undefined,
  ].filter((s): s is string => s !== undefined);
  return {
    text: `${title}. ${dryRun ? 'Would stop' : 'Stopped'} ${acted.vms.length + (input.confirmedLater ?? 0)} VM(s), about ${money(
      acted.savingPerHour,
      plan.currency,
      true,
    )}/h.${unreachedText}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      headerFields(t, plan.tier),
      ...outlookBlocks(t, t.outlook),
      ...outcomeBlocks(plan, outcomes, acted),
      ...reachBlocks(input.unreached, input.confirmedLater),
      context(notes.join(' ')),
      tierActions(t, plan.tier, !dryRun && acted.vms.length + (input.confirmedLater ?? 0) > 0),
    ],
  };
}

/** The zones a tier could not reach, and the stops an earlier attempt confirmed now. */
function reachBlocks(
  unreached: string | undefined,
  confirmedLater: number | undefined,
): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  if (confirmedLater) {
    blocks.push(section(`*Confirmed stopped ${confirmedLater}* from an earlier attempt`));
  }
  if (unreached) {
    blocks.push(
      section(
        `*Not reached*: zones unreachable: ${unreached}. Their VMs were not considered; the tier stays open and the next notification tries them again.`,
      ),
    );
  }
  return blocks;
}

/** A retry's result, posted into the tier message's thread. */
export function followUpMessage(input: {
  trigger: ShedTrigger;
  plan: SheddingPlan;
  outcomes: readonly VmOutcome[];
  acted: ActedVms;
  threadTs: string | undefined;
  unreached?: string | undefined;
  confirmedLater?: number;
}): SlackMessage {
  const { plan, outcomes, acted } = input;
  const stopped =
    outcomes.filter((o) => o.action === 'STOPPED').length + (input.confirmedLater ?? 0);
  const failed = outcomes.filter((o) => o.action === 'FAILED').length;
  const unreached = input.unreached ? ` Zones unreachable: ${input.unreached}.` : '';
  return {
    text: `Retry of tier ${percent(plan.tier.at)}: stopped ${stopped} more, ${failed} still failing.${unreached}`,
    blocks: [
      section(`*Retry of tier ${percent(plan.tier.at)}* (${spendLine(input.trigger)})`),
      ...outcomeBlocks(plan, outcomes, acted),
      ...reachBlocks(input.unreached, input.confirmedLater),
    ],
    ...(input.threadTs ? { threadTs: input.threadTs } : {}),
  };
}

export function notifyMessage(input: {
  trigger: ShedTrigger;
  tier: Tier;
  next: Tier | undefined;
  dashboardUrl: string | undefined;
}): SlackMessage {
  const { trigger: t, tier, next } = input;
  const title = `${triggerNoun(t)} ${triggerLabel(t)} at ${percent(t.spendRatio)}: tier ${percent(tier.at)}`;
  const coming = next ? `Next: ${describeTier(next)}.` : 'This is the last tier.';
  return {
    text: `${title}. No VM is stopped at this tier. ${coming}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      headerFields(t, tier),
      ...outlookBlocks(t, t.outlook),
      context(
        [
          `No VM is stopped at this tier. ${coming}`,
          input.dashboardUrl ? `<${input.dashboardUrl}|Cost dashboard>` : '',
        ].join(' '),
      ),
      tierActions(t, tier, false),
    ],
  };
}

export function forecastMessage(input: {
  trigger: ShedTrigger;
  threshold: number;
  next: Tier | undefined;
  dashboardUrl?: string | undefined;
}): SlackMessage {
  const { trigger: t, threshold, next } = input;
  const title = `${triggerNoun(t)} ${triggerLabel(t)} is forecast to reach ${percent(threshold)}`;
  return {
    text: `${title}; spend so far ${spendLine(t)}. Forecasts only warn; nothing is stopped.`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      headerFields(t, undefined),
      ...outlookBlocks(t, t.outlook),
      context(
        [
          `Forecasts only warn; nothing is stopped.${next ? ` The next tier is ${describeTier(next)}.` : ''}`,
          input.dashboardUrl ? `<${input.dashboardUrl}|Cost dashboard>` : '',
        ].join(' '),
      ),
    ],
  };
}

/**
 * Blocks of an approval message besides its VM list: header and fields (2), a cap's outlook
 * (2), the ask (1), the spared (1), the notes (1), the buttons or outcome (1) and the history
 * line a click adds (1), with room to spare under Slack's 50.
 */
const APPROVAL_LIST_BLOCKS = 30;

/**
 * A tier asking for approval: what it would stop (every VM, in as many sections as Slack
 * allows, the rest summarised), what it spares, until when it waits and what happens then, and
 * Approve and Skip. `resolution` replaces the buttons once the proposal is resolved.
 */
export function approvalMessage(input: {
  trigger: ShedTrigger;
  tier: Tier & { approve: Approval };
  listed: readonly VmOutcome[];
  spared: readonly VmOutcome[];
  currency: string;
  deadline: Date;
  dashboardUrl: string | undefined;
  resolution?: string;
}): SlackMessage {
  const { trigger: t, tier, listed, spared } = input;
  const saving = listed.reduce((sum, o) => sum + o.planned.rate.hourly, 0);
  const title = `${triggerNoun(t)} ${triggerLabel(t)} at ${percent(t.spendRatio)}: tier ${percent(tier.at)} asks to stop ${listed.length} VM${listed.length === 1 ? '' : 's'}`;
  const then =
    tier.approve.default === 'stop'
      ? 'they are stopped'
      : 'nothing is stopped and the tier is done for this period';
  const ask = `*Approve or skip by ${utcMinute(input.deadline)}*; without a decision by then, ${then}. Approve stops those still running and still this tier's to stop; critical and exempt VMs never are.`;
  return {
    text: `${title}, about ${money(saving, input.currency, true)}/h. ${input.resolution ?? ask.replace(/\*/g, '')}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      headerFields(t, tier),
      ...outlookBlocks(t, t.outlook),
      section(
        `*Would stop ${listed.length} VM${listed.length === 1 ? '' : 's'}*, saving about ${money(saving, input.currency, true)}/h`,
      ),
      ...listSections(
        listed.map((o) => vmLine(o, false)),
        APPROVAL_LIST_BLOCKS,
      ),
      ...(spared.length > 0
        ? [section(`*Spared ${spared.length}*\n${vmLines(spared, true)}`)]
        : []),
      input.resolution === undefined
        ? context(
            [ask, input.dashboardUrl ? `<${input.dashboardUrl}|Cost dashboard>` : '']
              .filter((x) => x !== '')
              .join(' '),
          )
        : section(input.resolution),
      ...(input.resolution === undefined
        ? [actionsBlock('costguard-approval', approvalButtons(tierTarget(t, tier), listed.length))]
        : []),
    ],
  };
}

/**
 * The actions behind costguard's buttons, each through the ports of the capability it belongs
 * to: Snooze writes a hold the enforcers honour; Restart, Exempt and Cancel run act on VMs and
 * runs. `makeSlackActionPerformer` builds them from a runtime for the entry point.
 */
import { OperationNotConfirmedError, type ComputeFleet } from '../adapters/compute.js';
import { errorMessage } from '../core/errors.js';
import type { CommonAdapters, Runtime } from '../adapters/runtime.js';
import {
  BigQueryEnforcementLedger,
  type RecordedStop,
  type TierOf,
} from '../budget/enforcement-ledger.js';
import { DAY_MS, HOUR_MS, isoDay } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { nameBasedUuid } from '../core/request-id.js';
import { exemptionLastDay, exemptUntilValue, LABEL, MAX_LABELS } from '../core/labels.js';
import type { PriceLookup } from '../core/pricing.js';
import type { SlackActionName, TierTarget, VmTarget } from '../core/slack-buttons.js';
import {
  describeResolution,
  resolveProposal,
  type ApprovalChoice,
  type ResolveDeps,
} from '../budget/approval.js';
import type { SheddingPolicy } from '../budget/policy.js';
import type { RunService } from '../runs/run-service.js';
import { capProjects } from '../caps/cap-reading.js';
import type { SpotCap } from '../caps/cap-policy.js';
import { vmKey, type VmRef } from '../core/vm.js';
import type { Click } from './interaction.js';
import { describeHold, snoozeUntil } from './holds.js';
import type { ActionContext, ActionPerformer, ActionResult } from './slack-actions.js';

type Perform = (click: Click, context: ActionContext) => Promise<ActionResult>;

/** `Budget Team budget, tier 100%` */
export function tierName(t: TierTarget): string {
  return `${t.kind === 'budget' ? 'budget' : 'Spot cap'} ${t.id}, tier ${Math.round(t.tier * 1000) / 10}%`;
}

function tierOf(click: Click): TierTarget {
  if (click.target.kind !== 'tier') throw new Error(`${click.action} needs a tier`);
  return click.target.tier;
}

export const snooze: Perform = (click, { now }) => {
  const tier = tierOf(click);
  const until = snoozeUntil(click.action, now) as Date;
  return Promise.resolve({
    outcome: 'DONE',
    summary: `snoozed ${tierName(tier).replace(/, tier.*/, '')} ${describeHold(now, until)}: no VM is stopped for it until then`,
    vmsActed: 0,
    holdUntil: until,
  });
};

/** Starts in flight at once; a tier's stops are a few dozen VMs at most. */
const START_CONCURRENCY = 10;
/** A start is not begun with less than this left of the reply's time budget. */
const START_MS = 300;
/** Statuses of a VM that a tier stopped and nothing has started since. */
const STILL_STOPPED = new Set(['TERMINATED', 'STOPPED']);

export interface RestartDeps {
  readonly fleet: Pick<ComputeFleet, 'get' | 'start' | 'confirm'>;
  readonly ledger: Pick<BigQueryEnforcementLedger, 'stoppedByTier' | 'recordRestarts'>;
  /** How long a restart holds the tier's shedding. */
  readonly holdHours: number;
}

/**
 * *Restart what was stopped*: starts again the VMs the tier stopped (latest decision STOPPED or
 * UNCONFIRMED) that are still TERMINATED, records each as RESTARTED with the Slack user, and
 * holds the tier's shedding for `holdHours`. Starts are requested with a requestId derived from
 * the click and the VM, so a retry never starts twice; whatever does not fit in the reply's time
 * budget is left for the next click, which finds it still stopped.
 */
export function restartTier(deps: RestartDeps): Perform {
  return async (click, { now, remainingMs }) => {
    const target = tierOf(click);
    const t: TierOf = { kind: target.kind, id: target.id, periodStart: target.period };
    const stopped = await deps.ledger.stoppedByTier(t, target.tier);
    const requested: Requested[] = [];
    const results = await settleAll(stopped, START_CONCURRENCY, async (stop) => {
      const ref = { project: stop.project, zone: stop.zone, name: stop.instance };
      if (remainingMs() < START_MS) return 'no-time' as const;
      const vm = await deps.fleet.get(ref);
      if (!vm || !STILL_STOPPED.has(vm.status)) return 'not-stopped' as const;
      const requestId = nameBasedUuid(`costguard/slack-restart/${click.actionTs}/${vmKey(ref)}`);
      await requestOnly(() => deps.fleet.start(ref, requestId, { waitMs: 0 }), ref, requested);
      return 'started' as const;
    });
    const started: RecordedStop[] = [];
    let failed = 0;
    let noTime = 0;
    results.forEach((r, i) => {
      if (r.status === 'rejected') failed += 1;
      else if (r.value === 'started') started.push(stopped[i] as RecordedStop);
      else if (r.value === 'no-time') noTime += 1;
    });
    const who = `${click.user.name} (${click.user.id})`;
    await deps.ledger.recordRestarts(
      t,
      target.tier,
      started.map((stop) => ({ stop, reason: `restarted from Slack by ${who}` })),
      click.user.id,
      now,
    );
    const holdUntil = new Date(now.getTime() + deps.holdHours * HOUR_MS);
    const names = started.map((s) => `\`${s.instance}\``).join(', ');
    const left = failed + noTime;
    return {
      outcome:
        left > 0
          ? started.length > 0
            ? 'PARTIAL'
            : 'FAILED'
          : started.length > 0
            ? 'DONE'
            : 'NOTHING_TO_DO',
      summary: [
        started.length > 0
          ? `restarted ${started.length} VM${started.length === 1 ? '' : 's'} stopped by ${tierName(target)}: ${names}`
          : `asked to restart what ${tierName(target)} stopped: nothing is still stopped`,
        left > 0 ? `; ${left} not restarted yet (click again to finish)` : '',
        deps.holdHours > 0 ? `; its shedding held ${describeHold(now, holdUntil)}` : '',
      ].join(''),
      vmsActed: started.length,
      holdUntil: deps.holdHours > 0 ? holdUntil : undefined,
      ...(left > 0
        ? { note: `${left} VM(s) could not be restarted in time or failed; click again to finish.` }
        : {}),
      ...followUpOf(deps.fleet, requested, (ok, failures) =>
        [
          ok.length > 0
            ? `start confirmed: ${ok.map((r) => `\`${r.ref.name}\``).join(', ')} running`
            : '',
          ...failures.map((f) => `start of \`${f.ref.name}\` failed: ${errorMessage(f.error)}`),
        ]
          .filter((x) => x !== '')
          .join('; '),
      ),
    };
  };
}

/** A mutation sent without waiting for its operation, to be confirmed after the reply. */
interface Requested {
  readonly ref: VmRef;
  readonly unconfirmed: OperationNotConfirmedError;
}

/** How long the confirmation after the reply waits for each operation. */
const CONFIRM_MS = 120_000;

/**
 * Sends a mutation without waiting for its operation (Compute's wait can take minutes; Slack
 * gives 3 s): an operation already DONE is confirmed, one still running is kept in `requested`.
 */
async function requestOnly(
  send: () => Promise<unknown>,
  ref: VmRef,
  requested: Requested[],
): Promise<void> {
  try {
    await send();
  } catch (error) {
    if (!(error instanceof OperationNotConfirmedError)) throw error;
    requested.push({ ref, unconfirmed: error });
  }
}

/**
 * The confirmation after the reply of what was only requested: each operation waited for, and
 * the outcome said in one line (`describe`) that updates the message again.
 */
function followUpOf(
  fleet: Pick<ComputeFleet, 'confirm'>,
  requested: readonly Requested[],
  describe: (
    confirmed: readonly Requested[],
    failed: ReadonlyArray<{ readonly ref: VmRef; readonly error: unknown }>,
  ) => string,
): Pick<ActionResult, 'followUp'> {
  if (requested.length === 0) return {};
  return {
    followUp: async () => {
      const results = await settleAll(requested, START_CONCURRENCY, (r) =>
        fleet.confirm(r.ref, r.unconfirmed, { waitMs: CONFIRM_MS }),
      );
      const confirmed = requested.filter((_, i) => results[i]?.status === 'fulfilled');
      const failed = requested.flatMap((r, i) => {
        const result = results[i];
        return result?.status === 'rejected'
          ? [{ ref: r.ref, error: result.reason as unknown }]
          : [];
      });
      return {
        outcome: failed.length === 0 ? 'DONE' : confirmed.length > 0 ? 'PARTIAL' : 'FAILED',
        summary: describe(confirmed, failed),
      };
    },
  };
}

/** A budget's or cap's policy as configured here, and the projects its tiers may act in. */
export interface TierPolicy {
  readonly policy: SheddingPolicy;
  readonly projects: readonly string[];
}

export interface ApprovalDeps extends Omit<ResolveDeps, 'ledger' | 'waitMs'> {
  readonly ledger: Pick<BigQueryEnforcementLedger, 'proposal' | 'recordDecisions' | 'stoppedSoFar'>;
  readonly policyOf: (target: TierTarget) => TierPolicy | undefined;
}

/**
 * *Approve* (`stop`) or *Skip* (`skip`) on a tier asking for approval: resolves the tier's
 * pending proposal as the click chose, once (a proposal already resolved, by an earlier
 * click or by the timeout, is left as it is). Stops are requested without waiting for their
 * operations: those not DONE at once are UNCONFIRMED, which the enforcer's next run confirms.
 */
export function decideApproval(deps: ApprovalDeps, choice: ApprovalChoice): Perform {
  return async (click) => {
    const target = tierOf(click);
    const verb = choice === 'stop' ? 'approve' : 'skip';
    const nothing = (why: string): ActionResult => ({
      outcome: 'NOTHING_TO_DO',
      summary: `asked to ${verb} ${tierName(target)}; nothing changed: ${why}`,
      vmsActed: 0,
      holdUntil: undefined,
      note: `Nothing was changed: ${why}.`,
    });
    const found = deps.policyOf(target);
    const tier = found?.policy.tiers.find((t) => Math.abs(t.at - target.tier) < 1e-9);
    if (!found || !tier) return nothing('this costguard has no such tier in its policy');
    const t: TierOf = { kind: target.kind, id: target.id, periodStart: target.period };
    const proposal = await deps.ledger.proposal(t, target.tier);
    if (!proposal || proposal.pending.length === 0) {
      return nothing('the tier was already decided (by an earlier click or its timeout)');
    }
    const who = `${click.user.name} (${click.user.id})`;
    const outcomes = await resolveProposal(
      // Stops are requested only: Compute's wait can outlast Slack's 3 s by minutes.
      { ...deps, waitMs: 0 },
      {
        trigger: proposal.trigger,
        policy: found.policy,
        tier,
        projects: found.projects,
        proposal,
        choice,
        decidedBy: `${choice === 'stop' ? 'approved' : 'skipped'} from Slack by ${who}`,
        slackUserId: click.user.id,
      },
    );
    const failed = outcomes.filter((o) => o.action === 'FAILED').length;
    // Requested stops (UNCONFIRMED until the enforcer's next run) count as acted on.
    const stopped = outcomes.filter(
      (o) => o.action === 'STOPPED' || o.action === 'UNCONFIRMED',
    ).length;
    return {
      outcome: failed > 0 ? (stopped > 0 ? 'PARTIAL' : 'FAILED') : 'DONE',
      summary: `${choice === 'stop' ? 'approved' : 'skipped'} ${tierName(target)}: ${describeResolution(choice, outcomes)}`,
      vmsActed: stopped,
      holdUntil: undefined,
      ...(failed > 0
        ? { note: `${failed} stop(s) failed; the tier is done, stop them by hand if needed.` }
        : {}),
    };
  };
}

/** The longest exemption a click may give; longer ones belong in the policy. */
export const MAX_EXEMPT_DAYS = 90;

/**
 * *Exempt until…*: writes `costguard-exempt=until-YYYY-MM-DD` (read, merge, write with the
 * fingerprint), which every enforcer honours through that day and the label sweep takes off
 * after it. A VM exempted without an end stays so; a VM outside the governed projects is not
 * touched. Where a policy that governs the VM takes priorities and exemptions from itself
 * alone (`prioritySource: "policy"`, `labelsIgnoredBy`), a label would not protect the VM, so
 * nothing is written and the user is told where the exemption belongs.
 */
export function exemptVm(
  fleet: Pick<ComputeFleet, 'updateLabels' | 'confirm'>,
  projects: readonly string[],
  labelsIgnoredBy: (vm: VmTarget) => readonly string[] = () => [],
): Perform {
  return async (click, { now }) => {
    if (click.target.kind !== 'vm') throw new Error('exempt needs a VM');
    const { vm, until } = click.target;
    const name = `\`${vmKey(vm)}\``;
    const today = isoDay(now);
    const latest = isoDay(new Date(now.getTime() + MAX_EXEMPT_DAYS * DAY_MS));
    const refuse = (why: string): ActionResult => ({
      outcome: 'NOTHING_TO_DO',
      summary: `asked to exempt ${name} until ${until}; not done: ${why}`,
      vmsActed: 0,
      holdUntil: undefined,
      note: `Nothing was changed: ${why}.`,
    });
    if (!projects.includes(vm.project)) return refuse(`${vm.project} is not a governed project`);
    const ignoring = labelsIgnoredBy(vm);
    if (ignoring.length > 0) {
      return refuse(
        `${ignoring.join(' and ')} ${ignoring.length === 1 ? 'ignores' : 'ignore'} labels, so a label would not protect it; ask whoever deploys costguard to exempt ${vmKey(vm)} there`,
      );
    }
    if (until < today) return refuse(`${until} has passed`);
    if (until > latest) return refuse(`at most ${MAX_EXEMPT_DAYS} days ahead (${latest})`);
    let already: string | undefined;
    let written: Record<string, string> | undefined;
    const requested: Requested[] = [];
    const change = (current: Readonly<Record<string, string>>) => {
      const value = current[LABEL.exempt];
      if (value !== undefined && value !== 'false' && exemptionLastDay(value) === undefined) {
        already = value;
        return undefined;
      }
      const next = { ...current, [LABEL.exempt]: exemptUntilValue(until) };
      written = Object.keys(next).length > MAX_LABELS ? undefined : next;
      return written;
    };
    await requestOnly(
      () => fleet.updateLabels(vm, change, undefined, { waitMs: 0 }),
      vm,
      requested,
    );
    if (already !== undefined)
      return refuse(`it is exempt without an end (${LABEL.exempt}=${already})`);
    if (!written) return refuse('the VM is gone, or has no room for another label');
    return {
      outcome: 'DONE',
      summary: `exempted ${name} until ${until}: no costguard enforcer stops it through that day`,
      vmsActed: 1,
      holdUntil: new Date(Date.parse(`${until}T00:00:00Z`) + DAY_MS),
      ...followUpOf(fleet, requested, (ok, failures) =>
        ok.length > 0
          ? `label \`${LABEL.exempt}=${exemptUntilValue(until)}\` confirmed on ${name}`
          : `writing the exemption label on ${name} failed: ${failures.map((f) => errorMessage(f.error)).join('; ')}; it is not exempt`,
      ),
    };
  };
}

/** *Cancel run*: through the run service's cancel, as the Slack user who clicked. */
export function cancelRun(runs: Pick<RunService, 'cancel'>): Perform {
  return async (click) => {
    if (click.target.kind !== 'run') throw new Error('cancel_run needs a run');
    const runId = click.target.run.run;
    const name = `run \`${runId}\``;
    const outcome = await runs.cancel(runId, { id: `slack:${click.user.id}`, via: 'slack' });
    const nothing = (summary: string): ActionResult => ({
      outcome: 'NOTHING_TO_DO',
      summary,
      vmsActed: 0,
      holdUntil: undefined,
    });
    switch (outcome.kind) {
      case 'cancelled':
        return {
          outcome: 'DONE',
          summary: `cancelled ${name} of ${outcome.run.pipeline} (target ${outcome.run.target})`,
          vmsActed: 0,
          holdUntil: undefined,
        };
      case 'dry-run':
        return nothing(`would have cancelled ${name}; the run trigger is in dry-run mode`);
      case 'not-active':
        return nothing(`asked to cancel ${name}, which had already ended (${outcome.run.status})`);
      case 'not-found':
        return nothing(`asked to cancel ${name}, which the run trigger does not know`);
    }
  };
}

export function performerOf(actions: Partial<Record<SlackActionName, Perform>>): ActionPerformer {
  return {
    perform: (click, context) => {
      const perform = actions[click.action];
      if (!perform) {
        // Cancel run where slackActions has no pipelines configured (COSTGUARD_PIPELINES).
        return Promise.resolve({
          outcome: 'NOTHING_TO_DO',
          summary: `clicked ${click.action.replace(/_/g, ' ')}, which this costguard does not offer`,
          vmsActed: 0,
          holdUntil: undefined,
        });
      }
      return perform(click, context);
    },
  };
}

export interface PerformerOverrides {
  /** Replaces the pricing engine of the run service (tests pass a small fake). */
  readonly prices?: PriceLookup;
}

/** A policy that takes exemptions from elsewhere than labels, named with where they are. */
function ignoringLabels(name: string, policy: SheddingPolicy): string[] {
  switch (policy.prioritySource) {
    case 'labels':
      return [];
    case 'policy':
      return [`${name} (it exempts by its \`exemptVms\` list)`];
    case 'tags':
      return [
        `${name} (it exempts by ${policy.exemptTag ? `the tag \`${policy.exemptTag}\`` : 'an exempt tag, none configured'})`,
      ];
  }
}

/** Whether runs are configured here (COSTGUARD_PIPELINES), so Cancel run can be answered. */
function runsConfigured(env: Runtime['env']): boolean {
  return Boolean(env.COSTGUARD_PIPELINES?.trim() || env.COSTGUARD_PIPELINES_FILE?.trim());
}

export async function makeSlackActionPerformer(
  runtime: Runtime,
  config: {
    readonly projects: readonly string[];
    readonly restartHoldHours: number;
    readonly policy: SheddingPolicy;
    readonly caps: readonly SpotCap[];
    readonly stopConcurrency: number;
  },
  adapters: CommonAdapters,
  overrides: PerformerOverrides = {},
): Promise<ActionPerformer> {
  // A Slack user has been let through by slackActions (a member of an allowed group or
  // channel); the run service lets such an actor cancel the runs of every pipeline.
  const runs = runsConfigured(runtime.env)
    ? (
        await (
          await import('../runs/entry.js')
        ).buildRunService(runtime, {
          mayAct: (actor) => actor.via === 'slack',
          ...(overrides.prices ? { prices: overrides.prices } : {}),
        })
      ).service
    : undefined;
  const ledger = new BigQueryEnforcementLedger(adapters.ledger);
  const approvals: ApprovalDeps = {
    fleet: adapters.fleet,
    tags: adapters.tags,
    ledger,
    clock: runtime.clock,
    stopConcurrency: config.stopConcurrency,
    policyOf: (target) => {
      if (target.kind === 'budget') {
        const narrowed = config.policy.projects;
        return {
          policy: config.policy,
          projects: narrowed
            ? config.projects.filter((p) => narrowed.includes(p))
            : config.projects,
        };
      }
      const cap = config.caps.find((c) => c.name === target.id);
      return cap ? { policy: cap, projects: capProjects(cap, config.projects) } : undefined;
    },
  };
  return performerOf({
    approve: decideApproval(approvals, 'stop'),
    skip: decideApproval(approvals, 'skip'),
    snooze_1h: snooze,
    snooze_4h: snooze,
    snooze_tomorrow: snooze,
    exempt: exemptVm(adapters.fleet, config.projects, (vm) => [
      ...((config.policy.projects ?? config.projects).includes(vm.project)
        ? ignoringLabels('the budget policy', config.policy)
        : []),
      ...config.caps
        .filter((cap) => capProjects(cap, config.projects).includes(vm.project))
        .flatMap((cap) => ignoringLabels(`Spot cap ${cap.name}`, cap)),
    ]),
    restart: restartTier({
      fleet: adapters.fleet,
      ledger,
      holdHours: config.restartHoldHours,
    }),
    ...(runs ? { cancel_run: cancelRun(runs) } : {}),
  });
}

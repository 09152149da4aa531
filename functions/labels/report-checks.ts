/**
 * The label checks' report step: one log line per VM checked, one ledger row per VM, and for a
 * sweep one Slack digest and one summary line. A ledger or Slack failure is logged and does not
 * stop the rest of the report; the caller decides what it means for a retry.
 */
import { postBestEffort, type Notifier } from '../adapters/slack.js';
import type { Logger } from '../core/logger.js';
import type { InstanceInsertEntry } from './audit-event.js';
import {
  acted,
  type CheckOutcome,
  type CheckRun,
  type CreateCheckResult,
  type SweepReport,
} from './check-outcome.js';
import { sweepReport, type SweepListing } from './check-verdicts.js';
import type { ComplianceLedger } from './compliance-ledger.js';
import { composeLabelDigest, summariseChecks } from './label-digest.js';

export interface CheckReporterDeps {
  readonly ledger: ComplianceLedger;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly config: CheckReporterConfig;
}

export interface CheckReporterConfig {
  /** Whether the policy stops VMs after their deadline (the digest lists upcoming stops). */
  readonly stops: boolean;
  readonly dashboardUrl?: string | undefined;
}

export interface CheckReporter {
  /** Reports a sweep; `ledgerError` is set when its rows could not be recorded. */
  sweep(
    run: CheckRun,
    projects: readonly string[],
    listing: SweepListing,
    outcomes: readonly CheckOutcome[],
  ): Promise<{ report: SweepReport; ledgerError: unknown }>;
  /** Logs and records the check of a created VM; a ledger failure rejects. */
  created(run: CheckRun, outcome: CheckOutcome): Promise<void>;
  /** Logs why a created VM is not checked. */
  skipped(entry: InstanceInsertEntry, reason: string): CreateCheckResult;
}

export function createCheckReporter({
  ledger,
  notifier,
  logger,
  config,
}: CheckReporterDeps): CheckReporter {
  function logOutcome(run: CheckRun, o: CheckOutcome): void {
    const e = o.evaluation;
    const fields = {
      runId: run.id,
      checkKind: run.kind,
      project: o.vm.project,
      zone: o.vm.zone,
      vm: o.vm.name,
      instanceId: o.vm.id,
      compliant: o.compliant,
      exempt: e.exempt,
      violations: o.violations,
      changes: e.changes,
      fixedKeys: e.fixedKeys,
      action: e.action,
      actionStatus: o.status,
      reason: e.reason,
      stopAfter: e.stopAfter,
      dryRun: run.dryRun,
      ...(o.error ? { error: o.error } : {}),
    };
    if (o.status === 'failed') logger.error('Label check failed', fields);
    else if (acted(o)) logger.notice('Label check acted', fields);
    else logger.info('Label check', fields);
  }

  function logListing(run: CheckRun, listing: SweepListing): void {
    for (const { project, error } of listing.failures) {
      logger.error('Could not list the VMs of a project; it is left out of this sweep', {
        runId: run.id,
        project,
        error,
      });
    }
    if (listing.gaps.length > 0) {
      logger.error('Zones could not be listed; their VMs are left out of this sweep', {
        runId: run.id,
        zones: listing.gaps.map((g) => `${g.project}/${g.zone}`),
        codes: listing.gaps.map((g) => g.code),
      });
    }
  }

  return {
    async sweep(run, projects, listing, outcomes) {
      logListing(run, listing);
      for (const o of outcomes) logOutcome(run, o);
      let rowsRecorded = 0;
      let ledgerError: unknown;
      try {
        rowsRecorded = await ledger.recordChecks(run, outcomes);
      } catch (error) {
        ledgerError = error;
        logger.error('Could not record the sweep in the ledger', { runId: run.id, error });
      }
      const digest = summariseChecks(outcomes, { stops: config.stops });
      const message = composeLabelDigest(run, digest, {
        failedProjects: listing.failures.map((f) => f.project),
        unreachableZones: listing.gaps.map((g) => `${g.project}/${g.zone}`),
        dashboardUrl: config.dashboardUrl,
      });
      const post = await postBestEffort(notifier, logger, message, {
        message: 'Could not post the sweep digest to Slack',
        context: { runId: run.id },
      });
      const digestPosted = post.posted !== undefined;
      const report = sweepReport(run, projects, listing, outcomes, {
        counts: digest.counts,
        rowsRecorded,
        digestPosted,
      });
      logger.notice('Label sweep finished', { ...report, actions: report.actions.length });
      return { report, ledgerError };
    },

    async created(run, outcome) {
      logOutcome(run, outcome);
      await ledger.recordChecks(run, [outcome]);
    },

    skipped(entry, reason) {
      logger.info('Created VM not checked', {
        project: entry.ref.project,
        zone: entry.ref.zone,
        vm: entry.ref.name,
        operationId: entry.operationId,
        phase: entry.phase,
        api: entry.api,
        principal: entry.principal,
        reason,
      });
      return { checked: false, reason };
    },
  };
}

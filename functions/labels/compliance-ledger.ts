/**
 * The label checks' port to the ledger. `label_compliance` holds one row per VM per check run;
 * `row_key` names the VM in the run, so a re-run of the same sweep (or the first and the last
 * audit entry of one insert) lands on the same key and the views count it once; the insertId
 * also covers the outcome, so a retry that finished what a failed attempt could not is stored
 * next to it rather than dropped. A created VM's shape goes to the recorder's inventory table.
 */
import { createHash } from 'node:crypto';
import type { KeyedRow, Ledger } from '../adapters/bigquery.js';
import type { Clock } from '../core/clock.js';
import { LABEL } from '../core/labels.js';
import type { Vm } from '../core/vm.js';
import { TABLES } from '../recorder/spot-cost-ledger.js';
import { planInventorySnapshots } from '../recorder/vm-attributes.js';
import type { CheckOutcome, CheckRun } from './check-outcome.js';

const COMPLIANCE_TABLE = 'label_compliance';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** NUMERIC as BigQuery takes it: a decimal string with at most 9 decimals. */
function numeric(value: number): string {
  return value.toFixed(9).replace(/\.?0+$/, '');
}

function complianceRowKey(run: CheckRun, outcome: CheckOutcome): string {
  const vm = outcome.vm;
  return sha256(`${run.id}|${vm.project}/${vm.zone}/${vm.name}|${vm.id}`);
}

export function complianceRow(run: CheckRun, outcome: CheckOutcome, recordedAt: Date): KeyedRow {
  const { vm, evaluation, rate } = outcome;
  const priced = rate !== undefined && rate.source !== 'unknown';
  const row = {
    row_key: complianceRowKey(run, outcome),
    run_id: run.id,
    check_kind: run.kind,
    checked_at: run.checkedAt.toISOString(),
    project_id: vm.project,
    zone: vm.zone,
    instance_name: vm.name,
    instance_id: vm.id,
    provisioning_model: vm.provisioningModel,
    vm_status: vm.status,
    machine_type: vm.machineType,
    team: outcome.labels[LABEL.team] ?? null,
    compliant: outcome.compliant,
    compliant_before: evaluation.compliantBefore,
    exempt: evaluation.exempt,
    missing_keys: outcome.violations.filter((v) => v.kind === 'missing').map((v) => v.key),
    invalid_keys: outcome.violations.filter((v) => v.kind === 'invalid').map((v) => v.key),
    fixed_keys: [...evaluation.fixedKeys],
    action: evaluation.action,
    action_status: outcome.status,
    action_reason: evaluation.reason,
    stop_after: evaluation.stopAfter ?? null,
    dry_run: run.dryRun,
    hourly_cost: priced ? numeric(rate.hourly) : null,
    currency: priced ? rate.currency : null,
    price_source: rate?.source ?? 'unknown',
    error: outcome.error ?? null,
  };
  return {
    key: sha256(JSON.stringify(row)),
    row: { ...row, recorded_at: recordedAt.toISOString() },
  };
}

export interface ComplianceLedger {
  /** One row per outcome of the run; resolves to the rows inserted. */
  recordChecks(run: CheckRun, outcomes: readonly CheckOutcome[]): Promise<number>;
  /**
   * The VM's shape as created, so that its uptime is priced even if it is deleted before the
   * next hourly cost run sees it (a short-lived Spot VM); keyed, so a retry adds nothing.
   */
  recordShape(vm: Vm): Promise<void>;
}

export function createComplianceLedger(
  ledger: Pick<Ledger, 'insert'>,
  clock: Pick<Clock, 'now'>,
): ComplianceLedger {
  return {
    async recordChecks(run, outcomes) {
      const recordedAt = clock.now();
      const rows = outcomes.map((o) => complianceRow(run, o, recordedAt));
      return (await ledger.insert(COMPLIANCE_TABLE, rows)).inserted;
    },
    async recordShape(vm) {
      await ledger.insert(TABLES.inventory, planInventorySnapshots([vm], new Map(), clock.now()));
    },
  };
}

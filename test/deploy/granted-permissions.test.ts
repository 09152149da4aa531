import { afterAll, describe, expect, it } from 'vitest';
import { planDeploy } from '../../deploy/plan-deploy.js';
import type { Plan } from '../../deploy/plan.js';
import type { CallRecord, Sandbox } from '../../functions/sandbox/sandbox.js';
import { functionSpec, serviceAccountEmail, type Target } from '../../deploy/resources.js';
import { buildEnforceLabels } from '../../functions/labels/entry.js';
import { serveTarget } from '../../functions/sandbox/serve-target.js';
import { BudgetHarness } from '../budget/budget-harness.js';
import { DATASET, labelEnv, labelLedger, startLabelSandbox } from '../labels/label-sandbox.js';
import { FIXTURES } from '../support/fixtures.js';
import { sandboxRuntime } from '../support/sandbox.js';
import {
  migrateRecorderTables,
  serveRecorder,
  startRecorderSandbox,
} from '../recorder/recorder-sandbox.js';
import { deployInputs, flagValue, FULL_ARGS } from './deploy-fixtures.js';
import {
  ledgerPermissionsCalled,
  ledgerPermissionsGranted,
  markLedger,
  type LedgerMark,
} from './ledger-calls.js';

// The deploy plan grants nothing wider than the calls the code makes: each function runs a
// scenario against the sandbox, whose routes are named after the API methods called; the IAM
// permissions those methods need are compared with the custom role deploy grants in every
// governed project, both ways. The same holds for the ledger, table by table: the tables a
// function streams or loads rows into and the tables and views its queries name (through the
// views, to what they read) against the table-level roles deploy binds to its account.

/** API methods whose IAM permission has another name. */
const PERMISSION_OF: Readonly<Record<string, string>> = {
  'compute.instances.aggregatedList': 'compute.instances.list',
  'compute.machineTypes.aggregatedList': 'compute.machineTypes.list',
  'compute.zoneOperations.wait': 'compute.zoneOperations.get',
};
/** The APIs whose permissions the governed-project roles hold. */
const PROJECT_APIS = /^(compute|monitoring|resourcemanager)\./;

function permissionsCalled(calls: readonly CallRecord[]): string[] {
  const used = calls
    .filter((c) => PROJECT_APIS.test(c.route))
    .map((c) => PERMISSION_OF[c.route] ?? c.route);
  return [...new Set(used)].sort();
}

/** The ledger permissions a scenario's calls needed and those the plan grants `target`. */
function ledgerComparison(
  plan: Plan,
  target: Target,
  sandbox: Sandbox,
  mark: LedgerMark,
  dataset = 'costguard',
): { called: string[]; granted: string[] } {
  const host = flagValue(
    plan.steps.flatMap((s) => s.commands).find((c) => c.argv.includes('enable'))?.argv ?? [],
    '--project',
  );
  const email = serviceAccountEmail(functionSpec(target).account, host ?? '');
  return {
    called: ledgerPermissionsCalled(sandbox, mark, dataset),
    granted: ledgerPermissionsGranted(plan, email),
  };
}

function permissionsGranted(plan: Plan, roleId: string): string[] {
  const create = plan.steps
    .flatMap((s) => s.commands)
    .find((c) => c.argv.includes('create') && c.argv.includes(roleId));
  return (flagValue(create?.argv ?? [], '--permissions') ?? '').split(',').sort();
}

describe('the roles deploy grants match the calls each function makes', () => {
  const inputs = deployInputs([...FULL_ARGS, '--enforce']);
  const plan = planDeploy(inputs);
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  it('enforceBudget: listing, pricing and stopping the VMs of a tier', async () => {
    // Prepare: the real pricing engine on the sandbox catalog, not the test's price table.
    const harness = await BudgetHarness.start({ overrides: { prices: undefined } });
    closers.push(() => harness.close());
    // Operations take time, as Compute's do, so every stop is waited on.
    harness.sandbox.settings.operationSeconds = 30;
    harness.sandbox.calls.length = 0;
    const mark = markLedger(harness.sandbox);

    // Act
    await harness.notify({ costAmount: 5000, messageId: '1' });

    // Assess
    expect(harness.stoppedNames().length).toBeGreaterThan(0);
    expect(permissionsCalled(harness.sandbox.calls)).toEqual(
      permissionsGranted(plan, 'costguardBudgetEnforcer'),
    );
    const ledger = ledgerComparison(plan, 'enforceBudget', harness.sandbox, mark);
    expect(ledger.called).toEqual(ledger.granted);
  });

  it('recordSpotCosts: reading uptime and inventory, pricing the machines, alerting', async () => {
    // Prepare: closed hours with Spot uptime, and limits the fleet passes, so rows and alerts land.
    const sandbox = await startRecorderSandbox();
    const recorder = await serveRecorder(sandbox, {
      COSTGUARD_SPOT_ALERTS: JSON.stringify({ overallPerHour: 2, teamPerHour: { vision: 1.5 } }),
    });
    closers.push(async () => {
      await recorder.close();
      await sandbox.close();
    });
    await migrateRecorderTables(recorder.runtime);
    sandbox.calls.length = 0;
    sandbox.clock.set(new Date('2026-11-20T01:10:00Z'));
    const mark = markLedger(sandbox);

    const reply = await recorder.call({});

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ alerts: { raised: 2 }, rows: { written: 5 } });
    expect(permissionsCalled(sandbox.calls)).toEqual(permissionsGranted(plan, 'costguardRecorder'));
    const ledger = ledgerComparison(plan, 'recordSpotCosts', sandbox, mark);
    expect(ledger.called).toEqual(ledger.granted);
  });

  it('enforceLabels: a sweep that fixes, marks and stops, with a policy that stops', async () => {
    // Prepare: the labels fixture policy stops non-compliant VMs after the grace period.
    const stopping = planDeploy(
      deployInputs(['--label-policy', `${FIXTURES}policies/labels.json`, '--enforce']),
    );
    const sandbox = await startLabelSandbox();
    await labelLedger(sandbox).migrate();
    const target = await serveTarget('enforceLabels-permissions', {
      kind: 'http',
      handler: await buildEnforceLabels(sandboxRuntime(sandbox, labelEnv())),
    });
    closers.push(async () => {
      await target.close();
      await sandbox.close();
    });
    sandbox.settings.operationSeconds = 30;
    sandbox.calls.length = 0;
    const mark = markLedger(sandbox);

    // Act
    const reply = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

    // Assess
    expect(reply.status).toBe(200);
    expect(sandbox.calls.some((c) => c.route === 'compute.instances.stop')).toBe(true);
    expect(permissionsCalled(sandbox.calls)).toEqual(
      permissionsGranted(stopping, 'costguardLabelEnforcer'),
    );
    const ledger = ledgerComparison(stopping, 'enforceLabels', sandbox, mark, DATASET);
    expect(ledger.called).toEqual(ledger.granted);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { planDeploy } from '../../deploy/plan-deploy.js';
import type { Plan } from '../../deploy/plan.js';
import type { CallRecord } from '../../functions/sandbox/sandbox.js';
import { buildEnforceLabels } from '../../functions/labels/entry.js';
import { serveTarget } from '../../functions/sandbox/serve-target.js';
import { BudgetHarness } from '../budget/budget-harness.js';
import { labelEnv, labelLedger, startLabelSandbox } from '../labels/label-sandbox.js';
import { FIXTURES } from '../support/fixtures.js';
import { sandboxRuntime } from '../support/sandbox.js';
import {
  migrateRecorderTables,
  serveRecorder,
  startRecorderSandbox,
} from '../recorder/recorder-sandbox.js';
import { deployInputs, flagValue, FULL_ARGS } from './deploy-fixtures.js';

// The deploy plan grants nothing wider than the calls the code makes: each function runs a
// scenario against the sandbox, whose routes are named after the API methods called; the IAM
// permissions those methods need are compared with the custom role deploy grants in every
// governed project, both ways.

/** API methods whose IAM permission has another name. */
const PERMISSION_OF: Readonly<Record<string, string>> = {
  'compute.instances.aggregatedList': 'compute.instances.list',
  'compute.globalOperations.aggregatedList': 'compute.globalOperations.list',
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

function permissionsGranted(plan: Plan, roleId: string): string[] {
  const create = plan.steps
    .flatMap((s) => s.commands)
    .find((c) => c.argv.includes('create') && c.argv.includes(roleId));
  return (flagValue(create?.argv ?? [], '--permissions') ?? '').split(',').sort();
}

describe('the roles deploy grants match the calls each function makes', () => {
  const plan = planDeploy(deployInputs([...FULL_ARGS, '--enforce']));
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

    // Act
    await harness.notify({ costAmount: 5000, messageId: '1' });

    // Assess
    expect(harness.stoppedNames().length).toBeGreaterThan(0);
    expect(permissionsCalled(harness.sandbox.calls)).toEqual(
      permissionsGranted(plan, 'costguardBudgetEnforcer'),
    );
  });

  it('recordSpotCosts: reading uptime and inventory, pricing the machines', async () => {
    const sandbox = await startRecorderSandbox();
    const recorder = await serveRecorder(sandbox);
    closers.push(async () => {
      await recorder.close();
      await sandbox.close();
    });
    await migrateRecorderTables(recorder.runtime);
    sandbox.calls.length = 0;

    const reply = await recorder.call({});

    expect(reply.status).toBe(200);
    // The recorder's fleet is all in the bundled price book, so no machine shape is looked up;
    // the pricing engine does for a type the book lacks (the budget scenario shows the call).
    // The fleet has no preemption, so the backstop reads no preempted VM (instances.get).
    expect(permissionsCalled(sandbox.calls)).toEqual(
      permissionsGranted(plan, 'costguardRecorder').filter(
        (p) => p !== 'compute.machineTypes.list' && p !== 'compute.instances.get',
      ),
    );
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
  });
});

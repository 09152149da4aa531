import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { planDeploy } from '../../deploy/plan-deploy.js';
import { READ_VM_TAGS } from '../../deploy/permissions.js';
import type { Plan } from '../../deploy/plan.js';
import type { CallRecord, Sandbox } from '../../functions/sandbox/sandbox.js';
import { functionSpec, serviceAccountEmail, type Target } from '../../deploy/resources.js';
import { buildEnforceLabels } from '../../functions/labels/entry.js';
import { serveTarget } from '../../functions/sandbox/serve-target.js';
import { BudgetHarness } from '../budget/budget-harness.js';
import {
  DATASET,
  fakePrices as labelPrices,
  labelEnv,
  labelLedger,
  startLabelSandbox,
  type AuditEventFixture,
} from '../labels/label-sandbox.js';
import { FIXTURES } from '../support/fixtures.js';
import { sandboxRuntime } from '../support/sandbox.js';
import {
  migrateRecorderTables,
  serveRecorder,
  startRecorderSandbox,
} from '../recorder/recorder-sandbox.js';
import { defaultSqlRoot } from '../../functions/adapters/bigquery.js';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { buildEnforceSpotCap } from '../../functions/caps/entry.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { buildEnforceLabelsOnCreate } from '../../functions/labels/entry.js';
import { runsEnv, serveTriggerRun, startRunsSandbox } from '../support/runs.js';
import { loadFixture } from '../support/fixtures.js';
import { startTestSandbox } from '../support/sandbox.js';
import { deployInputs, flagValue, FULL_ARGS } from './deploy-fixtures.js';
import { buildRecordPreemption } from '../../functions/preemptions/entry.js';
import { batchVmState, planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { loggingState, settleDeliveries } from '../../functions/sandbox/routes/logging.js';
import { putTopicJob, schedulerState } from '../../functions/sandbox/routes/scheduler.js';
import { RESUME_JOB } from '../../deploy/resources.js';
import { SANDBOX_SLACK, slackState } from '../../functions/sandbox/routes/slack.js';
import { playClick } from '../../functions/sandbox/slack-click.js';
import { buildSlackActions } from '../../functions/slack-actions/entry.js';
import { SlackNotifier } from '../../functions/adapters/slack.js';
import { vmBlockId, vmExemptSection } from '../../functions/core/slack-buttons.js';
import { fakePrices as runPrices } from '../support/runs.js';
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
  'compute.globalOperations.aggregatedList': 'compute.globalOperations.list',
  'compute.machineTypes.aggregatedList': 'compute.machineTypes.list',
  'compute.zoneOperations.wait': 'compute.zoneOperations.get',
  // Resource Manager checks the tagged resource's own permission.
  'resourcemanager.effectiveTags.list': 'compute.instances.listEffectiveTags',
};
/** The APIs whose permissions the governed-project roles hold. */
const PROJECT_APIS = /^(compute|monitoring|resourcemanager)\./;

/** The batch VM of the runs fleet's pipeline nightly-categories. */
const RUN_VM = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
const SLACK_ENV = {
  SLACK_SIGNING_SECRET: SANDBOX_SLACK.signingSecret,
  COSTGUARD_SLACK_ACTOR_GROUPS: SANDBOX_SLACK.actorGroup,
};

const VISION_CAP = {
  name: 'vision-daily',
  scope: { label: 'team=vision' },
  period: 'day',
  amount: 10,
  currency: 'USD',
  tiers: [{ at: 0.5 }, { at: 1, stop: ['low'] }],
};

/** The recorder's rows for team vision's first `hours` hours of 2026-11-18, each `cost` USD. */
function visionHours(hours: number, cost: number, recordedAt: Date) {
  return Array.from({ length: hours }, (_, h) => {
    const hour = `2026-11-18T${String(h).padStart(2, '0')}:00:00.000Z`;
    return {
      key: `vision/${hour}`,
      row: {
        row_key: `ml-training-prod/us-central1-a/vision/${hour}`,
        usage_hour: hour,
        project_id: 'ml-training-prod',
        zone: 'us-central1-a',
        instance_id: 'vision',
        provisioning_model: 'SPOT',
        uptime_seconds: 3600,
        cost: String(cost),
        currency: 'USD',
        team: 'vision',
        labels: JSON.stringify({ team: 'vision' }),
        price_source: 'catalog',
        attributes_source: 'compute',
        recorded_at: recordedAt.toISOString(),
      },
    };
  });
}

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

/**
 * Every Compute, Monitoring and Resource Manager permission the plan grants `target`'s account,
 * on projects and on single resources (a pipeline's batch VM) alike.
 */
function accountPermissionsGranted(plan: Plan, target: Target): string[] {
  const commands = plan.steps.flatMap((s) => s.commands);
  const host = flagValue(commands.find((c) => c.argv.includes('enable'))?.argv ?? [], '--project');
  const email = serviceAccountEmail(functionSpec(target).account, host ?? '');
  const roles = commands
    .filter(
      (c) =>
        c.argv[0] === 'gcloud' &&
        c.argv.includes('add-iam-policy-binding') &&
        flagValue(c.argv, '--member') === `serviceAccount:${email}`,
    )
    .map((c) => (flagValue(c.argv, '--role') ?? '').split('/').pop() ?? '');
  const permissions = [...new Set(roles)].flatMap((id) => permissionsGranted(plan, id));
  return [...new Set(permissions.filter((p) => PROJECT_APIS.test(p)))].sort();
}

function permissionsGranted(plan: Plan, roleId: string): string[] {
  const create = plan.steps
    .flatMap((s) => s.commands)
    .find((c) => c.argv.includes('create') && c.argv.includes(roleId));
  return (flagValue(create?.argv ?? [], '--permissions') ?? '').split(',').sort();
}

describe('the roles deploy grants match the calls each function makes', () => {
  // The repository's own migration, so that reads follow the real views.
  const inputs = deployInputs([...FULL_ARGS, '--enforce'], defaultSqlRoot());
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

  it("enforceBudget with priorities from tags: reading the VMs' tags as well", async () => {
    // Prepare: the same policy deployed and served.
    const policyFile = `${FIXTURES}deploy/budget-policy-tags.json`;
    const tagged = planDeploy(
      deployInputs([...FULL_ARGS, '--budget-policy', policyFile, '--enforce'], defaultSqlRoot()),
    );
    const harness = await BudgetHarness.start({
      env: { COSTGUARD_BUDGET_POLICY: readFileSync(policyFile, 'utf8') },
      overrides: { prices: undefined },
    });
    closers.push(() => harness.close());
    harness.sandbox.calls.length = 0;

    // Act
    await harness.notify({ costAmount: 5000, messageId: '1' });

    // Assess
    expect(harness.stoppedNames().length).toBeGreaterThan(0);
    expect(permissionsCalled(harness.sandbox.calls)).toEqual(
      permissionsGranted(tagged, 'costguardBudgetEnforcer'),
    );
    expect(permissionsGranted(tagged, 'costguardBudgetEnforcer')).toContain(
      'compute.instances.listEffectiveTags',
    );
    expect(permissionsGranted(plan, 'costguardBudgetEnforcer')).not.toContain(
      'compute.instances.listEffectiveTags',
    );
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
    // A Spot VM stopped since the window began: the backstop reads its project's operations.
    const stopped = sandbox.fleet.get('ml-training-prod', 'us-central1-a', 'train-a2-spot');
    if (!stopped) throw new Error('fixture VM missing');
    sandbox.fleet.stop(stopped);
    const mark = markLedger(sandbox);

    const reply = await recorder.call({});

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ alerts: { raised: 2 }, rows: { written: 5 } });
    // The stop was no preemption, so the backstop reads no preempted VM (instances.get).
    expect(permissionsCalled(sandbox.calls)).toEqual(
      permissionsGranted(plan, 'costguardRecorder').filter((p) => p !== 'compute.instances.get'),
    );
    const ledger = ledgerComparison(plan, 'recordSpotCosts', sandbox, mark);
    // Nor does it write the preemptions table, which only a found preemption does; it reads it
    // through preemptions_by_team for the daily preemption digest.
    expect(ledger.called).toEqual(
      ledger.granted.filter((g) => g !== 'preemptions: bigquery.tables.updateData'),
    );
  });

  it.each([
    { policy: 'a policy that stops', exemptTag: undefined },
    { policy: 'one that exempts by tag', exemptTag: '100000000001/costguard-exempt' },
  ])('enforceLabels: a sweep that fixes, marks and stops, with $policy', async ({ exemptTag }) => {
    // Prepare: the labels fixture policy stops non-compliant VMs after the grace period.
    const fixture = `${FIXTURES}policies/labels.json`;
    const dir = mkdtempSync(join(tmpdir(), 'costguard-permissions-'));
    const policyFile = exemptTag ? join(dir, 'labels.json') : fixture;
    if (exemptTag) {
      const policy = JSON.parse(readFileSync(fixture, 'utf8')) as object;
      writeFileSync(policyFile, JSON.stringify({ ...policy, exemptTag }));
    }
    const stopping = planDeploy(
      deployInputs(['--label-policy', policyFile, '--enforce'], defaultSqlRoot()),
    );
    const sandbox = await startLabelSandbox();
    await labelLedger(sandbox).migrate();
    const target = await serveTarget(`enforceLabels-permissions-${exemptTag ? 'tags' : 'labels'}`, {
      kind: 'http',
      handler: await buildEnforceLabels(
        sandboxRuntime(sandbox, labelEnv({ COSTGUARD_LABEL_POLICY_FILE: policyFile })),
      ),
    });
    closers.push(async () => {
      await target.close();
      await sandbox.close();
      rmSync(dir, { recursive: true });
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
    expect(permissionsGranted(stopping, 'costguardLabelEnforcer').includes(READ_VM_TAGS)).toBe(
      exemptTag !== undefined,
    );
    const ledger = ledgerComparison(stopping, 'enforceLabels', sandbox, mark, DATASET);
    expect(ledger.called).toEqual(ledger.granted);
  });

  it('enforceSpotCap: a cap over its stop tier, from recorded hours and the running fleet', async () => {
    // Prepare: ten recorded hours of team vision at 1.2 USD against a 10 USD daily cap.
    const sandbox = await startTestSandbox('caps/fleet.json');
    const runtime = sandboxRuntime(sandbox, {
      COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines',
      COSTGUARD_DATASET: 'costguard',
      COSTGUARD_SPOT_CAPS: JSON.stringify([VISION_CAP]),
      COSTGUARD_SPOT_CAPS_ENFORCE: 'true',
    });
    const target = await serveTarget('enforceSpotCap-permissions', {
      kind: 'http',
      // The real pricing engine on the sandbox catalog, as in production.
      handler: await buildEnforceSpotCap(runtime),
    });
    closers.push(async () => {
      await target.close();
      await sandbox.close();
    });
    const { ledger } = commonAdapters(runtime, readConfig(commonSettings, runtime.env));
    await ledger.migrate();
    sandbox.clock.set(new Date('2026-11-18T10:30:00Z'));
    await ledger.insert('spot_costs', visionHours(10, 1.2, sandbox.clock.now()));
    sandbox.calls.length = 0;
    const mark = markLedger(sandbox);

    // Act
    const reply = await fetch(target.url, { method: 'POST' });

    // Assess
    expect(reply.status).toBe(200);
    expect(sandbox.calls.some((c) => c.route === 'compute.instances.stop')).toBe(true);
    expect(permissionsCalled(sandbox.calls)).toEqual(
      permissionsGranted(plan, 'costguardSpotCapEnforcer'),
    );
    const ledgerUse = ledgerComparison(plan, 'enforceSpotCap', sandbox, mark);
    expect(ledgerUse.called).toEqual(ledgerUse.granted);
  });

  it('enforceLabelsOnCreate: a new VM fixed and marked, its shape kept for pricing', async () => {
    // Prepare
    const sandbox = await startLabelSandbox();
    await labelLedger(sandbox).migrate();
    sandbox.fleet.add({
      project: 'ml-training-prod',
      zone: 'us-central1-a',
      name: 'vision-new-1',
      id: '4837261950184736251',
      machineType: 'n2-standard-8',
      provisioningModel: 'SPOT',
      status: 'PROVISIONING',
      labels: { team: 'vision' },
    });
    const target = await serveTarget('enforceLabelsOnCreate-permissions', {
      kind: 'event',
      handler: await buildEnforceLabelsOnCreate(sandboxRuntime(sandbox, labelEnv()), {
        prices: labelPrices,
      }),
    });
    closers.push(async () => {
      await target.close();
      await sandbox.close();
    });
    const { data, ...attributes } = loadFixture<AuditEventFixture>('audit/insert-v1-first.json');
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    for (const [name, value] of Object.entries(attributes)) {
      if (name !== 'datacontenttype') headers[`ce-${name}`] = String(value);
    }
    const mark = markLedger(sandbox);

    // Act
    const reply = await fetch(target.url, { method: 'POST', headers, body: JSON.stringify(data) });

    // Assess
    expect(reply.status).toBeLessThan(300);
    expect(sandbox.calls.some((c) => c.route === 'compute.instances.setLabels')).toBe(true);
    const ledgerUse = ledgerComparison(plan, 'enforceLabelsOnCreate', sandbox, mark, DATASET);
    expect(ledgerUse.called).toEqual(ledgerUse.granted);
  });

  it('triggerRun: a start under Spot caps, one on candidate VMs, their status and the list of runs', async () => {
    // Prepare: the runs fixture and a pipeline whose start chooses between two candidate VMs
    // by their zones' recent preemption rates.
    const pipelines = loadFixture<Record<string, unknown>>('runs/pipelines.json');
    pipelines.zonal = {
      executor: 'vm',
      project: 'data-pipelines',
      candidates: [
        { zone: 'us-east1-c', instance: 'batch-runner-busy' },
        { zone: 'us-east1-c', instance: 'batch-standard' },
      ],
      bucket: 'costguard-batch-results',
      targets: ['all'],
      invokers: ['user:alice@example.com'],
    };
    const sandbox = await startRunsSandbox();
    const api = await serveTriggerRun(
      sandbox,
      runsEnv({
        COSTGUARD_PIPELINES: JSON.stringify(pipelines),
        COSTGUARD_SPOT_CAPS: JSON.stringify([{ ...VISION_CAP, scope: { label: 'team=data' } }]),
      }),
    );
    closers.push(async () => {
      await api.close();
      await sandbox.close();
    });
    const mark = markLedger(sandbox);

    // Act
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'd_anchor_category' },
    });
    const placed = await api.call('POST', '/runs', { body: { pipeline: 'zonal', target: 'all' } });
    const status = await api.call('GET', `/runs/${String(started.body.runId)}`);
    const list = await api.call('GET', '/runs?pipeline=nightly-categories&limit=5');

    // Assess
    expect([started.status, placed.status, status.status, list.status]).toEqual([
      202, 202, 200, 200,
    ]);
    const ledgerUse = ledgerComparison(plan, 'triggerRun', sandbox, mark);
    expect(ledgerUse.called).toEqual(ledgerUse.granted);
  });

  it('recordPreemption: the batch VM of a run preempted, the run resumed by the tick after its backoff; a preemption whose event was lost noticed by the tick', async () => {
    // Prepare: a run of a pipeline that resumes after 5 minutes, whose VM Compute preempts after
    // an hour; the system event reaches recordPreemption through the Logging sink, and the
    // resume tick through deploy's Cloud Scheduler job on the same topic. Attempt 2 is preempted
    // too, and that event is lost.
    const pipelines = loadFixture<Record<string, Record<string, unknown>>>('runs/pipelines.json');
    pipelines['nightly-categories']!.resume = { maxAttempts: 3, backoffSeconds: 300 };
    const env = runsEnv({ COSTGUARD_PIPELINES: JSON.stringify(pipelines) });
    const sandbox = await startRunsSandbox();
    const api = await serveTriggerRun(sandbox, env, runPrices({ 'c2-standard-8': 0.08 }));
    const target = await serveTarget('recordPreemption-permissions', {
      kind: 'event',
      // The real pricing engine on the sandbox catalog, as in production.
      handler: await buildRecordPreemption(sandboxRuntime(sandbox, env)),
    });
    closers.push(async () => {
      await target.close();
      await api.close();
      await sandbox.close();
    });
    loggingState(sandbox).sinks.set('costguard-preemptions', {
      pushEndpoint: target.url,
      topic: 'costguard-preemptions',
    });
    planBatchRun(sandbox, RUN_VM, { outcome: 'preempt', afterSeconds: 3600 });
    planBatchRun(sandbox, RUN_VM, { outcome: 'preempt', afterSeconds: 900 });
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
    });
    const calls = sandbox.calls.length;
    const mark = markLedger(sandbox);
    const advance = async (seconds: number) => {
      sandbox.clock.advance(seconds * 1000);
      await settleDeliveries(sandbox);
    };

    // Act: the preemption, its 30 s notice and the event's delivery; the backoff; the tick.
    await advance(3600 + 30);
    putTopicJob(sandbox, {
      name: RESUME_JOB.name,
      project: 'ops-costguard',
      topic: 'costguard-preemptions',
      everySeconds: 300,
      data: RESUME_JOB.message,
    });
    // Two periods: at least one tick comes after the backoff, wherever the boundaries fall.
    await advance(300);
    await advance(300);
    const [, second] = batchVmState(sandbox).runs;
    // Attempt 2 is preempted 900 s in while the sink delivers nothing (the topic's subscription
    // is the ticks' too, so only for that second); the ticks notice it and, after the backoff,
    // resume the run.
    const preemptedAt = Date.parse(second!.bootedAt) + 900_000;
    await advance((preemptedAt - sandbox.clock.nowMs()) / 1000 - 1);
    const sinks = new Map(loggingState(sandbox).sinks);
    loggingState(sandbox).sinks.clear();
    await advance(1);
    for (const [name, sink] of sinks) loggingState(sandbox).sinks.set(name, sink);
    for (const seconds of [30, 300, 300, 300]) await advance(seconds);

    // Assess
    expect(second).toMatchObject({ attempt: 2, outcome: 'preempted' });
    expect(loggingState(sandbox).deliveries.map((d) => d.status)).toEqual([204]);
    expect(schedulerState(sandbox).deliveries.every((d) => d.status === 204)).toBe(true);
    const recorded = sandbox.calls.slice(calls);
    const ledgerUse = ledgerComparison(plan, 'recordPreemption', sandbox, mark);
    expect(recorded.filter((c) => c.route === 'compute.instances.start')).toHaveLength(2);
    const status = await api.call('GET', `/runs/${String(started.body.runId)}`);
    expect(status.body).toMatchObject({ status: 'RUNNING', attempt: 3 });
    // A VM is stopped only for a run past its deadline that Compute did not stop itself.
    expect(permissionsCalled(recorded)).toEqual(
      accountPermissionsGranted(plan, 'recordPreemption').filter(
        (p) => p !== 'compute.instances.stop',
      ),
    );
    // Inventory is read only for a VM Compute no longer has, recorded hours only when a run ends.
    expect(ledgerUse.called).toEqual(
      ledgerUse.granted.filter(
        (g) => !/^(vm_inventory|run_costs|spot_cost_hours|spot_costs):/.test(g),
      ),
    );
  });

  it('slackActions: Cancel run on a run message, the run on its batch VM', async () => {
    // Prepare: triggerRun starts a run and announces it with a Cancel run button; slackActions
    // has the same pipelines and the real pricing engine on the sandbox catalog.
    const slackPlan = planDeploy(
      deployInputs([...FULL_ARGS, '--enforce', '--slack-actors', 'S0OPS'], defaultSqlRoot()),
    );
    const sandbox = await startRunsSandbox();
    const api = await serveTriggerRun(sandbox);
    const target = await serveTarget('slackActions-cancel-permissions', {
      kind: 'http',
      handler: await buildSlackActions(sandboxRuntime(sandbox, runsEnv(SLACK_ENV))),
    });
    closers.push(async () => {
      await target.close();
      await api.close();
      await sandbox.close();
    });
    slackState(sandbox).app.interactivityUrl = target.url;
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'd_anchor_category' },
    });
    const runId = String(started.body.runId);
    const message = slackState(sandbox).messages.find((m) => m.text.startsWith(`Run ${runId}`));
    sandbox.clock.advance(10 * 60_000);
    const calls = sandbox.calls.length;
    const mark = markLedger(sandbox);

    // Act
    const played = await playClick(sandbox, { actionId: 'costguard_cancel_run', ts: message?.ts });

    // Assess
    expect(played.status).toBe(200);
    expect((await api.call('GET', `/runs/${runId}`)).body.status).toBe('CANCELLED');
    expect(sandbox.fleet.get(RUN_VM.project, RUN_VM.zone, RUN_VM.name)?.status).not.toBe('RUNNING');
    const called = permissionsCalled(sandbox.calls.slice(calls));
    const granted = [
      ...new Set([
        ...permissionsGranted(slackPlan, 'costguardRunCanceller'),
        ...permissionsGranted(slackPlan, 'costguardRunObserver'),
      ]),
    ].sort();
    // A running VM is stopped: the preemptions of a stopped one (the operations list) are not
    // looked up.
    expect(called).toEqual(granted.filter((p) => p !== 'compute.zoneOperations.list'));
    const ledgerUse = ledgerComparison(slackPlan, 'slackActions', sandbox, mark);
    // Only a restart or a snooze writes and reads enforcement actions.
    expect(ledgerUse.called).toEqual(
      ledgerUse.granted.filter((g) => !g.startsWith('enforcement_actions:')),
    );
  });

  it('slackActions: restart what a tier stopped, exempt a VM and approve a tier', async () => {
    // Prepare: the budget enforcer stops a tier's VMs and posts its message, and its next tier
    // asks for approval; a label digest offers to exempt a VM.
    const slackPlan = planDeploy(
      deployInputs([...FULL_ARGS, '--enforce', '--slack-actors', 'S0OPS'], defaultSqlRoot()),
    );
    const policy = {
      tiers: [
        { at: 1.0, stop: ['low'] },
        { at: 1.1, stop: ['low', 'medium'], approve: { timeoutMinutes: 60, default: 'skip' } },
      ],
    };
    const harness = await BudgetHarness.start({
      env: { COSTGUARD_BUDGET_POLICY: JSON.stringify(policy) },
    });
    closers.push(() => harness.close());
    const { sandbox } = harness;
    const runtime = sandboxRuntime(sandbox, { ...harness.runtime.env, ...SLACK_ENV });
    const target = await serveTarget('slackActions-permissions', {
      kind: 'http',
      handler: await buildSlackActions(runtime),
    });
    closers.push(() => target.close());
    slackState(sandbox).app.interactivityUrl = target.url;
    sandbox.clock.set(new Date('2026-11-20T10:00:00Z'));
    sandbox.settings.operationSeconds = 30;
    await harness.notify({ costAmount: 5000 });
    const stopped = harness.stoppedNames();
    const tier = harness.slack().at(-1)?.ts ?? '';
    const [exempt] = sandbox.fleet.all().filter((vm) => vm.status === 'RUNNING');
    const vm = { project: exempt!.project, zone: exempt!.zone, name: exempt!.name };
    await new SlackNotifier(
      () => runtime.clients.slack('xoxb-sandbox-not-a-secret'),
      SANDBOX_SLACK.channel,
      runtime.logger,
    ).post({ text: 'Label violations', blocks: [vmExemptSection(vm, `\`${vm.name}\``, 0)] });
    await harness.notify({ costAmount: 5600 });
    const proposal = harness.slack().at(-1)?.ts ?? '';
    const running = sandbox.fleet.all().filter((v) => v.status === 'RUNNING').length;
    sandbox.clock.advance(60_000);
    sandbox.calls.length = 0;
    const mark = markLedger(sandbox);

    // Act
    const restart = await playClick(sandbox, { actionId: 'costguard_restart', ts: tier });
    const exempted = await playClick(sandbox, {
      actionId: 'costguard_exempt',
      blockId: vmBlockId(vm),
      date: '2026-11-27',
    });
    const approved = await playClick(sandbox, { actionId: 'costguard_approve', ts: proposal });
    // The restart's starts are confirmed after its reply (a wait on each operation).
    await vi.waitFor(
      () =>
        expect(
          JSON.stringify(
            harness
              .slack()
              .find((m) => m.ts === tier)
              ?.updates.at(-1),
          ),
        ).toContain('start confirmed'),
      { timeout: 10_000, interval: 100 },
    );

    // Assess
    expect([restart.status, exempted.status, approved.status]).toEqual([200, 200, 200]);
    expect(
      sandbox.fleet.all().filter((v) => v.status === 'RUNNING').length - stopped.length,
    ).toBeLessThan(running);
    expect(stopped.length).toBeGreaterThan(0);
    for (const name of stopped) {
      expect(sandbox.fleet.all().find((v) => v.name === name)?.status).toBe('RUNNING');
    }
    expect(sandbox.fleet.get(vm.project, vm.zone, vm.name)?.labels['costguard-exempt']).toBe(
      'until-2026-11-27',
    );
    expect(permissionsCalled(sandbox.calls)).toEqual(
      permissionsGranted(slackPlan, 'costguardSlackResponder'),
    );
    const ledgerUse = ledgerComparison(slackPlan, 'slackActions', sandbox, mark);
    // Only a cancel writes a runs snapshot and reads the runs and their recorded hours.
    expect(ledgerUse.called).toEqual(
      ledgerUse.granted.filter((g) => !/^(runs|run_costs|spot_cost_hours|spot_costs):/.test(g)),
    );
  });
});

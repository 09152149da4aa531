/**
 * Benchmark: the label evaluator alone, and a whole enforceLabels sweep (real clients, loopback
 * sandbox, BigQuery on DuckDB, Slack) over a generated fleet in which about a third of the VMs
 * violate the policy. Prints figures; bounded to a few seconds.
 *
 *   npx tsx test/bench/label-sweep.ts [vms]
 */
import { performance } from 'node:perf_hooks';
import { regionOfZone, type Vm } from '../../functions/core/vm.js';
import { buildLabelEnforcer } from '../../functions/labels/entry.js';
import { evaluateLabels } from '../../functions/labels/evaluate-labels.js';
import { parseLabelPolicy, type LabelPolicyInput } from '../../functions/labels/label-policy.js';
import { setProjectLabels } from '../../functions/sandbox/routes/resource-manager.js';
import type { FleetFixture, InstanceFixture } from '../../functions/sandbox/fleet.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox } from '../support/sandbox.js';
import { fakePrices, labelEnv, labelLedger, PROJECTS } from '../labels/label-sandbox.js';
import { machineLine } from './machine.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const VMS = Number(process.argv[2] ?? 600);
const ZONES = ['us-central1-a', 'us-central1-b', 'us-east1-b'];
const TEAMS = ['vision', 'nlp', 'recsys', 'data', 'research'];
const TYPES = ['n2-standard-8', 'n2-standard-4', 'g2-standard-8', 'c2-standard-8', 'e2-standard-4'];

function instance(i: number): InstanceFixture {
  const team = TEAMS[i % TEAMS.length] as string;
  const complete = { team, app: 'job', cost_center: 'cc-100', priority: 'low' };
  // Every third VM lacks app (marked), every seventh lacks team and priority (fixed).
  const labels: Record<string, string> =
    i % 3 === 0
      ? { team, cost_center: 'cc-100' }
      : i % 7 === 0
        ? { app: 'job', cost_center: 'cc-100' }
        : complete;
  return {
    project: PROJECTS[i % PROJECTS.length] as string,
    zone: ZONES[i % ZONES.length] as string,
    name: `${team}-job-${i}`,
    machineType: TYPES[i % TYPES.length] as string,
    provisioningModel: i % 10 === 0 ? 'STANDARD' : 'SPOT',
    labels,
  };
}

function benchEvaluator(policyInput: LabelPolicyInput): void {
  const policy = parseLabelPolicy(policyInput);
  const vms: Vm[] = Array.from({ length: 1000 }, (_, i) => {
    const spec = instance(i);
    return {
      project: spec.project,
      zone: spec.zone,
      region: regionOfZone(spec.zone),
      name: spec.name,
      id: String(1e17 + i),
      status: 'RUNNING',
      machineType: spec.machineType,
      provisioningModel: spec.provisioningModel ?? 'SPOT',
      terminationAction: 'STOP',
      labels: spec.labels ?? {},
      labelFingerprint: 'x',
      gpus: [],
      managedBy: undefined,
      createdAt: undefined,
    };
  });
  const context = { today: '2026-11-20', projectLabels: { cost_center: 'cc-100' } };
  let evaluations = 0;
  const started = performance.now();
  while (performance.now() - started < 1000) {
    for (const vm of vms) evaluateLabels(vm, policy, context);
    evaluations += vms.length;
  }
  const ms = performance.now() - started;
  out(
    `evaluator: ${evaluations} evaluations in ${ms.toFixed(0)} ms, ${((ms * 1000) / evaluations).toFixed(2)} µs per VM`,
  );
}

async function benchSweep(): Promise<void> {
  const base = loadFixture<FleetFixture>('fleets/labels.json');
  const fleet: FleetFixture = {
    startTime: base.startTime,
    projects: base.projects.map((p) => ({ ...p, zones: ZONES })),
    instances: Array.from({ length: VMS }, (_, i) => instance(i)),
  };
  const sandbox = await startTestSandbox(fleet);
  try {
    for (const project of PROJECTS) setProjectLabels(sandbox, project, { cost_center: 'cc-100' });
    await labelLedger(sandbox).migrate();
    const runtime = sandboxRuntime(
      sandbox,
      labelEnv({
        COSTGUARD_LABELS_CONCURRENCY: '16',
        COSTGUARD_SLACK_CHANNEL: 'C0BENCH',
        SLACK_BOT_TOKEN: 'xoxb-bench',
      }),
    );
    const { enforcer } = await buildLabelEnforcer(runtime, { prices: fakePrices });
    for (const [label, id] of [
      ['first sweep (writes)', 'sweep-bench-1'],
      ['second sweep (nothing to write)', 'sweep-bench-2'],
    ] as const) {
      const before = sandbox.calls.length;
      const started = performance.now();
      const report = await enforcer.sweep({ id });
      const ms = performance.now() - started;
      const calls = sandbox.calls.slice(before);
      const setLabels = calls.filter((c) => c.route === 'compute.instances.setLabels').length;
      out(
        `${label}: ${report.counts.checked} VMs in ${ms.toFixed(0)} ms (${((report.counts.checked / ms) * 1000).toFixed(0)} VMs/s), ` +
          `${setLabels} setLabels, ${report.counts.marked} marked, ${report.counts.fixed} fixed, ${calls.length} API calls, ${report.rowsRecorded} rows`,
      );
    }
  } finally {
    await sandbox.close();
  }
}

out(`label sweep benchmark, ${VMS} VMs in ${PROJECTS.length} projects`);
out(machineLine());
benchEvaluator(loadFixture<LabelPolicyInput>('policies/labels.json'));
await benchSweep();

/**
 * The label part of `npm start`: two sweeps of the sandbox fleet with the example policy and
 * enforcement switched on. The first fixes what can be derived, marks what cannot and stops what
 * was already past its deadline; then the simulated clock moves past the grace period and the
 * second sweep stops the marked Spot VMs that are still unlabelled.
 */
import { readFileSync } from 'node:fs';
import type { Runtime } from '../../adapters/runtime.js';
import { repositoryPath } from '../../core/repository-path.js';
import type { Sandbox } from '../sandbox.js';
import { buildLabelEnforcer, type LabelEntryOverrides } from '../../labels/entry.js';
import type { SweepReport } from '../../labels/check-outcome.js';
import { setProjectLabels } from '../routes/resource-manager.js';

export interface LabelDemoOptions {
  /** Where the lines of the story go (default: nowhere). */
  readonly print?: (line: string) => void;
  readonly overrides?: LabelEntryOverrides;
}

export interface LabelDemoResult {
  readonly first: SweepReport;
  readonly second: SweepReport;
}

const DAY_MS = 86_400_000;

function names(report: SweepReport, action: string): string[] {
  return report.actions
    .filter((a) => a.action === action && a.status === 'done')
    .map((a) => `${a.vm}${action === 'mark' && a.stopAfter ? ` (until ${a.stopAfter})` : ''}`);
}

export async function playLabelEnforcementDemo(
  runtime: Runtime,
  sandbox: Sandbox,
  options: LabelDemoOptions = {},
): Promise<LabelDemoResult> {
  const print = options.print ?? (() => undefined);
  const projectLabels = JSON.parse(
    readFileSync(repositoryPath('fixtures/policies/labels-projects.json'), 'utf8'),
  ) as Record<string, Record<string, string>>;
  for (const [project, labels] of Object.entries(projectLabels)) {
    if (sandbox.fleet.projects.has(project)) setProjectLabels(sandbox, project, labels);
  }
  const env = {
    COSTGUARD_LABEL_POLICY_FILE: repositoryPath('fixtures/policies/labels.json'),
    ...runtime.env,
    COSTGUARD_LABELS_DRY_RUN: 'false',
  };
  const { enforcer } = await buildLabelEnforcer({ ...runtime, env }, options.overrides);
  const show = (report: SweepReport): void => {
    const { counts } = report;
    print(
      `  ${report.runId}: ${counts.checked} VMs checked, ${counts.compliant} compliant, ${counts.nonCompliant} not, ${counts.exempt} exempt`,
    );
    for (const action of ['fix', 'mark', 'unmark', 'stop']) {
      const vms = names(report, action);
      if (vms.length > 0) print(`    ${action.padEnd(6)} ${vms.join(', ')}`);
    }
  };

  print('Label policy (fixtures/policies/labels.json), enforcement on:');
  const first = await enforcer.sweep({ id: `sweep-${sandbox.clock.now().toISOString()}` });
  show(first);
  const deadline = first.actions
    .map((a) => a.stopAfter)
    .filter((d): d is string => d !== undefined)
    .sort()
    .at(-1);
  if (deadline) {
    // The day after the last deadline, so every mark of the first sweep has expired.
    const after = Date.parse(`${deadline}T00:00:00Z`) + DAY_MS + 3_600_000;
    sandbox.clock.advance(Math.max(0, after - sandbox.clock.now().getTime()));
    print(
      `  ...simulated clock moved past the grace period to ${sandbox.clock.now().toISOString()}`,
    );
  } else {
    sandbox.clock.advance(DAY_MS);
  }
  const second = await enforcer.sweep({ id: `sweep-${sandbox.clock.now().toISOString()}` });
  show(second);
  return { first, second };
}

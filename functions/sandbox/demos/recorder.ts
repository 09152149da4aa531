/**
 * The cost-recording part of `npm start`: recordSpotCosts run as Cloud Scheduler would, ten
 * minutes past each hour, on the sandbox's simulated clock. The first run catches up the last
 * hours of the fleet's history; before the second, one running Spot VM is preempted and deleted
 * (termination action DELETE), and its last half hour is priced from the inventory snapshot.
 */

import type { Runtime } from '../../adapters/runtime.js';
import { HOUR_MS, startOfHour } from '../../core/clock.js';
import type { Sandbox } from '../sandbox.js';
import { createRecorderFor } from '../../recorder/entry.js';
import type { RecordSummary } from '../../recorder/record-spot-costs.js';

export interface RecorderDemoOptions {
  readonly sandbox: Sandbox;
  /** A runtime pointed at the sandbox (COSTGUARD_PROJECTS etc. set). */
  readonly runtime: Runtime;
  /** Scheduled runs to play (default 3). */
  readonly runs?: number;
  /** Where the lines of the story go (default: nowhere). */
  readonly print?: (line: string) => void;
}

export interface RecorderDemoRun {
  readonly at: string;
  readonly summary: RecordSummary;
}

const SETTLE_MS = 10 * 60_000;

function describeRun(at: string, summary: RecordSummary): string {
  const hours = summary.hoursRecorded.map((h) => h.slice(11, 16)).join(', ') || 'none';
  const costs = summary.costByProvisioningModel
    .map((c) => `${c.provisioningModel} ${Number(c.cost ?? 0).toFixed(2)} ${c.currency}`)
    .join(', ');
  const sources = Object.entries(summary.priceSources)
    .filter(([, n]) => n > 0)
    .map(([source, n]) => `${n} ${source}`)
    .join(', ');
  return `  ${at.slice(11, 16)} recorded hours ${hours}: ${summary.rows.written} rows (${costs || 'no cost'}; priced: ${sources || '-'}; from inventory: ${summary.attributeSources.inventory})`;
}

export async function runRecorderDemo(options: RecorderDemoOptions): Promise<RecorderDemoRun[]> {
  const { sandbox } = options;
  const print = options.print ?? (() => undefined);
  const { recorder } = createRecorderFor(options.runtime);
  const now = sandbox.clock.now().getTime();
  let next = startOfHour(new Date(now)).getTime() + SETTLE_MS;
  if (next < now) next += HOUR_MS;

  const runs: RecorderDemoRun[] = [];
  print('recordSpotCosts, every hour at ten past:');
  for (let i = 0; i < (options.runs ?? 3); i++) {
    sandbox.clock.set(new Date(next));
    const summary = await recorder.record();
    const at = sandbox.clock.now().toISOString();
    runs.push({ at, summary });
    print(describeRun(at, summary));
    if (i === 0) {
      const victim = sandbox.fleet
        .live()
        .find((vm) => vm.status === 'RUNNING' && vm.provisioningModel === 'SPOT');
      if (victim) {
        victim.terminationAction = 'DELETE';
        sandbox.clock.schedule(next + 20 * 60_000, () => sandbox.fleet.preempt(victim));
        print(`  ${victim.name} (Spot, termination action DELETE) will be preempted at :30`);
      }
    }
    next += HOUR_MS;
  }
  return runs;
}

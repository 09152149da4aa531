/**
 * The local run's Spot cap story: the research team starts a sweep of GPU VMs under a cost
 * center that has a 20 USD daily cap, and Cloud Scheduler calls enforceSpotCap every 10 minutes
 * on the simulated clock. Each run's spend (recorded + estimated), forecast and decision is
 * printed, until the cap is crossed and the sweep's low-priority VMs are stopped.
 */

import type { Sandbox } from '../sandbox.js';

export interface CapDemoOptions {
  readonly sandbox: Sandbox;
  /** enforceSpotCap's URL, served with fixtures/policies/spot-caps-demo.json. */
  readonly url: string;
  readonly print: (line: string) => void;
  /** Scheduler runs at most (default 18: three hours). */
  readonly maxRuns?: number;
}

export interface CapDemoRun {
  readonly at: string;
  readonly status: number;
  readonly spend: number;
  readonly outcome: string;
  readonly stopped: readonly string[];
}

interface CapRunReply {
  caps?: Array<{
    cap: string;
    recorded: number;
    estimated: number;
    spend: number;
    amount: number;
    currency: string;
    forecast: number;
    outcome: string;
    stopped: string[];
  }>;
}

const SWEEP = [
  ['research-sweep-gpu-1', 'a2-highgpu-1g', 'low'],
  ['research-sweep-gpu-2', 'a2-highgpu-1g', 'low'],
  ['research-sweep-gpu-3', 'a2-highgpu-1g', 'low'],
  ['research-sweep-l4-4', 'g2-standard-8', 'medium'],
] as const;

export async function playCapDemo(options: CapDemoOptions): Promise<CapDemoRun[]> {
  const { sandbox, print } = options;
  for (const [name, machineType, priority] of SWEEP) {
    sandbox.fleet.add({
      project: 'research-sandbox',
      zone: 'us-west1-a',
      name,
      machineType,
      provisioningModel: 'SPOT',
      labels: { team: 'research', app: 'sweep', cost_center: 'cc-300', priority },
      ...(machineType === 'a2-highgpu-1g'
        ? { gpus: [{ type: 'nvidia-tesla-a100', count: 1 }] }
        : {}),
    });
  }
  print(
    `  ${sandbox.clock.now().toISOString().slice(11, 16)} the research sweep starts ${SWEEP.length} Spot VMs under cost_center=cc-300 (cap research-sweeps-daily: 8 USD a day)`,
  );
  const runs: CapDemoRun[] = [];
  let previous = '';
  for (let i = 0; i < (options.maxRuns ?? 18); i++) {
    sandbox.clock.advance(10 * 60_000);
    const at = sandbox.clock.now().toISOString().slice(11, 16);
    const response = await fetch(options.url, { method: 'POST' });
    const reply = (await response.json()) as CapRunReply;
    const cap = reply.caps?.find((c) => c.cap === 'research-sweeps-daily');
    if (!cap) {
      print(`  ${at} enforceSpotCap -> ${response.status}: no figures for the cap`);
      break;
    }
    runs.push({
      at,
      status: response.status,
      spend: cap.spend,
      outcome: cap.outcome,
      stopped: cap.stopped,
    });
    const line = `spend ${cap.spend.toFixed(2)} of ${cap.amount} ${cap.currency} (${cap.recorded.toFixed(2)} recorded + ${cap.estimated.toFixed(2)} estimated), forecast ${cap.forecast.toFixed(2)}: ${cap.outcome}`;
    if (cap.outcome !== previous || cap.stopped.length > 0) {
      print(`  ${at} enforceSpotCap -> ${response.status}: ${line}`);
    }
    previous = cap.outcome;
    for (const vm of cap.stopped) print(`        stopped ${vm}`);
    if (cap.stopped.length > 0) break;
  }
  return runs;
}

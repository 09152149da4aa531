/**
 * The act step of a shed with more stops than one intent write holds: every stop's intent is on
 * record before that stop is requested, stops start while later intents are still being
 * written, and an intent write that fails leaves its stops (and the later ones) unrequested.
 * The real Compute fleet against the sandbox; a typed stand-in for the ledger's one method.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ComputeFleet } from '../../functions/adapters/compute.js';
import type { ComputeRest } from '../../functions/adapters/compute-rest.js';
import type { EnforcementLedger } from '../../functions/budget/enforcement-ledger.js';
import { planShedding, type SheddingPlan } from '../../functions/budget/plan-shedding.js';
import { budgetSettings } from '../../functions/budget/policy.js';
import type { ShedTrigger } from '../../functions/budget/shed-trigger.js';
import { createTierStops } from '../../functions/budget/tier-stops.js';
import { readConfig } from '../../functions/core/config.js';
import { TransientError } from '../../functions/core/errors.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

const PROJECTS = ['ml-a', 'ml-b', 'ml-c'];
const VMS = 600;

const fleetFixture: FleetFixture = {
  startTime: '2026-11-20T00:00:00Z',
  projects: PROJECTS.map((id, p) => ({ id, number: String(100 + p), zones: ['us-central1-a'] })),
  instances: Array.from({ length: VMS }, (_, i) => ({
    project: PROJECTS[i % PROJECTS.length] as string,
    zone: 'us-central1-a',
    name: `batch-${String(i).padStart(4, '0')}`,
    machineType: 'n2-standard-4',
    provisioningModel: 'SPOT' as const,
    labels: { team: 'ml', priority: 'low' },
  })),
};

const trigger: ShedTrigger = {
  kind: 'budget',
  id: 'b-1',
  displayName: 'ML budget',
  runId: 'message-1',
  billingAccountId: '01D4EE-079462-DFD6EC',
  periodStart: '2026-11-01T07:00:00.000Z',
  spend: 1050,
  amount: 1000,
  currency: 'USD',
  spendRatio: 1.05,
};

describe('the stops of a shed larger than one intent write', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;
  let plan: SheddingPlan;
  /** What happened, in order: `intent <vm>` once its row is written, `stop <vm>` as requested. */
  let events: string[];

  beforeAll(async () => {
    sandbox = await startTestSandbox(fleetFixture);
    runtime = sandboxRuntime(sandbox);
  });
  afterAll(() => sandbox.close());

  beforeEach(async () => {
    sandbox.fleet.all().forEach((vm) => sandbox.fleet.setStatus(vm, 'RUNNING'));
    events = [];
    const vms = (await Promise.all(PROJECTS.map((p) => fleet().listAll(p)))).flat();
    const policy = readConfig(budgetSettings, {}).policy;
    plan = planShedding({
      tier: policy.tiers[1] as SheddingPlan['tier'],
      policy,
      scope: new Set(PROJECTS),
      vms,
      rates: new Map(),
      alreadyStopped: 0,
    });
  });

  function fleet(): ComputeFleet {
    return new ComputeFleet(
      {
        instances: () => runtime.clients.instances(),
        zoneOperations: () => runtime.clients.zoneOperations(),
        rest: async (): Promise<ComputeRest> => {
          const rest = await runtime.clients.computeRest();
          return {
            post: (path, query) => {
              events.push(`stop ${path.split('/')[5] ?? ''}`);
              return rest.post(path, query);
            },
          };
        },
      },
      // Compute's write pacing is not under test here.
      { logger: runtime.logger, retry: { baseDelayMs: 1 }, writesPerMinute: 600_000 },
    );
  }

  /** The ledger's intent writes, each slower than a stop; `failing` writes reject. */
  function ledger(failing: ReadonlySet<number> = new Set()) {
    let writes = 0;
    const recordDecisions: EnforcementLedger['recordDecisions'] = async (_t, _tier, outcomes) => {
      const write = ++writes;
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (failing.has(write)) throw new TransientError(`intent write ${write} failed`);
      for (const o of outcomes) events.push(`intent ${o.planned.vm.name}`);
    };
    return { recordDecisions };
  }

  const stops = (deps: { ledger: ReturnType<typeof ledger> }) =>
    createTierStops({
      fleet: fleet(),
      ledger: deps.ledger,
      clock: runtime.clock,
      dryRun: false,
      stopConcurrency: 50,
    });

  it('requests each stop only after its intent is on record, starting before the last intent', async () => {
    // Act
    const outcomes = await stops({ ledger: ledger() }).execute(trigger, plan);

    // Assess
    expect(outcomes.filter((o) => o.action === 'STOPPED')).toHaveLength(VMS);
    expect(sandbox.fleet.all().every((vm) => vm.status === 'TERMINATED')).toBe(true);
    for (const vm of sandbox.fleet.all()) {
      const intent = events.indexOf(`intent ${vm.name}`);
      const stop = events.indexOf(`stop ${vm.name}`);
      expect([vm.name, intent >= 0 && intent < stop]).toEqual([vm.name, true]);
    }
    expect(events.findIndex((e) => e.startsWith('stop '))).toBeLessThan(
      events.findLastIndex((e) => e.startsWith('intent ')),
    );
  });

  it('requests no stop whose intent could not be written, and fails the attempt', async () => {
    // Act
    // A later period: request ids of its own, so no stop of the first test is found again.
    const later = { ...trigger, periodStart: '2026-12-01T08:00:00.000Z' };
    const attempt = stops({ ledger: ledger(new Set([2])) }).execute(later, plan);

    // Assess
    await expect(attempt).rejects.toThrow('intent write 2 failed');
    const intents = events.filter((e) => e.startsWith('intent ')).map((e) => e.slice(7));
    const stopped = events.filter((e) => e.startsWith('stop ')).map((e) => e.slice(5));
    expect(intents).toHaveLength(500);
    expect(stopped.sort()).toEqual([...intents].sort());
    const running = sandbox.fleet.all().filter((vm) => vm.status === 'RUNNING');
    expect(running).toHaveLength(VMS - 500);
  });
});

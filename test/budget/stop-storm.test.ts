/**
 * A budget stop storm against Compute as it behaves under load: 30% of Compute calls answered
 * 403 rateLimitExceeded (as Compute sends a rate limit), operations that take 30 s, and one zone
 * unreachable during a zonal incident. Served through functions-framework with the real clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { loadFixture } from '../support/fixtures.js';
import { BudgetHarness } from './budget-harness.js';

const ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-f'] as const;
const UNREACHABLE = 'us-central1-f';
const PER_ZONE = 20;

function stormFleet(): FleetFixture {
  const base = loadFixture<FleetFixture>('budget/fleet.json');
  const storm = ZONES.flatMap((zone) =>
    Array.from({ length: PER_ZONE }, (_, i) => ({
      project: 'ml-training-prod',
      zone,
      name: `storm-${zone.slice(-1)}-${String(i).padStart(2, '0')}`,
      machineType: 'n2-standard-4',
      provisioningModel: 'SPOT' as const,
      labels: { team: 'ml', priority: 'low' },
    })),
  );
  const projects = base.projects.map((p) =>
    p.id === 'ml-training-prod' ? { ...p, zones: [...p.zones, UNREACHABLE] } : p,
  );
  return { ...base, projects, instances: [...base.instances, ...storm] };
}

describe('a budget stop storm with rate limits and an unreachable zone', () => {
  let harness: BudgetHarness;

  beforeAll(async () => {
    harness = await BudgetHarness.start({ fleet: stormFleet() });
  });
  afterAll(() => harness.close());

  it('stops every reachable planned VM once, names the zone and leaves the tier INCOMPLETE', async () => {
    // Prepare
    const { sandbox } = harness;
    sandbox.settings.operationSeconds = 30;
    sandbox.faults.set('compute.*', {
      fail: { status: 403, reason: 'rateLimitExceeded', rate: 0.3, seed: 7 },
    });
    sandbox.faults.set('compute.instances.aggregatedList', {
      unreachable: { zones: [UNREACHABLE] },
      fail: { status: 403, reason: 'rateLimitExceeded', rate: 0.3, seed: 11 },
    });

    // Act
    const delivery = await harness.notify({ costAmount: 5000, messageId: 'storm-1' });

    // Assess
    const computeCalls = sandbox.calls.filter((c) => c.route.startsWith('compute.'));
    const limited = computeCalls.filter((c) => c.status === 403).length;
    expect(limited / computeCalls.length).toBeGreaterThan(0.2);
    expect(delivery.status).toBe(204);
    const reachable = (zone: string) => zone !== UNREACHABLE;
    const planned = sandbox.fleet
      .all()
      .filter((vm) => vm.name.startsWith('storm-') && reachable(vm.zone))
      .map((vm) => vm.name);
    const stops = harness.stopOperations();
    for (const name of planned) expect([name, stops[name]]).toEqual([name, 1]);
    for (const name of planned) expect(harness.status(name)).toBe('TERMINATED');
    const behindIncident = sandbox.fleet.all().filter((vm) => vm.zone === UNREACHABLE);
    expect(behindIncident).toHaveLength(PER_ZONE);
    for (const vm of behindIncident) expect([vm.name, vm.status]).toEqual([vm.name, 'RUNNING']);

    const [notification] = await harness.notifications();
    expect(notification).toMatchObject({ outcome: 'INCOMPLETE', tier: 1, failed: 0 });
    expect(notification?.reason).toContain(`ml-training-prod/${UNREACHABLE}`);
    const [message] = harness.slack();
    expect(message?.text).toContain(`Zones unreachable: ml-training-prod/${UNREACHABLE}`);
    expect(JSON.stringify(message?.blocks)).toContain('*Not reached*');
    const logged = harness.runtime.logger.entries.find(
      (e) => e.message === 'Zones could not be listed; their VMs are left out of this attempt',
    );
    expect(logged).toMatchObject({ severity: 'ERROR', zones: [`ml-training-prod/${UNREACHABLE}`] });
  });

  it('plans the zone once it is reachable again: the next notification stops its VMs', async () => {
    // Prepare
    const { sandbox } = harness;
    sandbox.faults.clear();

    // Act
    const delivery = await harness.notify({ costAmount: 5100, messageId: 'storm-2' });

    // Assess
    expect(delivery.status).toBe(204);
    const stops = harness.stopOperations();
    const storm = sandbox.fleet.all().filter((vm) => vm.name.startsWith('storm-'));
    for (const vm of storm)
      expect([vm.name, vm.status, stops[vm.name]]).toEqual([vm.name, 'TERMINATED', 1]);
    const outcomes = (await harness.notifications()).map((n) => n.outcome);
    expect(outcomes).toEqual(['INCOMPLETE', 'ACTED']);
  });

  it('leaves a stop whose operation never finishes UNCONFIRMED and confirms it on redelivery', async () => {
    // Prepare: the next tier stops the medium VMs; one stop operation hangs.
    const { sandbox } = harness;
    sandbox.faults.set('compute.instances.stop', { operation: { count: 1, stuck: true } });

    // Act
    const first = await harness.notify({ costAmount: 5500, messageId: 'storm-3' });

    // Assess: the delivery asks for a retry; the stop is on record as unconfirmed.
    expect(first.status).toBe(500);
    const stuck = sandbox.fleet.all().filter((vm) => vm.status === 'STOPPING');
    expect(stuck.map((vm) => vm.name)).toHaveLength(1);
    const name = stuck[0]?.name ?? '';
    const rows = await harness.actions();
    expect(rows.find((r) => r.instance_name === name && r.tier === 1.1)).toMatchObject({
      action: 'UNCONFIRMED',
    });
    expect(JSON.stringify(harness.slack().at(-1)?.blocks)).toContain('not yet confirmed for 1');

    // Act: Compute finishes the operation; Pub/Sub redelivers the message.
    const op = sandbox.fleet.operations.find(
      (o) => o.targetName === name && o.operationType === 'stop',
    );
    if (op) op.doneAt = sandbox.clock.nowMs();
    sandbox.fleet.stop(stuck[0] as NonNullable<(typeof stuck)[number]>);
    const again = await harness.notify({ costAmount: 5500, messageId: 'storm-3' });

    // Assess: confirmed, counted, never stopped twice.
    expect(again.status).toBe(204);
    expect(
      (await harness.actions()).find((r) => r.instance_name === name && r.tier === 1.1),
    ).toMatchObject({
      action: 'STOPPED',
    });
    expect(harness.stopOperations()[name]).toBe(1);
    const last = (await harness.notifications()).at(-1);
    expect(last).toMatchObject({ outcome: 'ACTED', tier: 1.1, stopped: 1 });
  });
});

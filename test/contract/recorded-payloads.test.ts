import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComputeFleet } from '../../functions/adapters/compute.js';
import { UptimeReader } from '../../functions/adapters/monitoring.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// Real-format API payloads (fixtures/) replayed through the real clients into the adapters.
describe('recorded payloads', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
    runtime = sandboxRuntime(sandbox);
  });
  afterEach(() => sandbox.close());

  it('reads Spot, standard, legacy preemptible, unlabelled and MIG instances from an aggregatedList', async () => {
    sandbox.faults.set('compute.instances.aggregatedList', {
      replay: { count: 1, body: loadFixture('compute/aggregated-instances.json') },
    });
    const fleet = new ComputeFleet(
      {
        instances: () => runtime.clients.instances(),
        zoneOperations: () => runtime.clients.zoneOperations(),
      },
      { logger: runtime.logger },
    );
    const vms = await fleet.listAll('ml-training-prod');
    expect(
      vms.map((vm) => [
        vm.name,
        vm.zone,
        vm.machineType,
        vm.provisioningModel,
        vm.terminationAction,
        vm.status,
        vm.managedBy ?? null,
        vm.gpus,
        vm.labels,
      ]),
    ).toEqual([
      [
        'trainer-l4-spot',
        'us-central1-a',
        'g2-standard-8',
        'SPOT',
        'STOP',
        'RUNNING',
        null,
        [{ type: 'nvidia-l4', count: 1 }],
        { team: 'nlp', app: 'finetune', cost_center: 'cc-210', priority: 'medium' },
      ],
      ['dashboard', 'us-central1-a', 'e2-small', 'STANDARD', undefined, 'RUNNING', null, [], {}],
      [
        'workers-7x2k',
        'us-central1-b',
        'n2d-standard-4',
        'SPOT',
        'DELETE',
        'RUNNING',
        'projects/481516234201/zones/us-central1-b/instanceGroupManagers/workers',
        [],
        { team: 'data', priority: 'low' },
      ],
      [
        'legacy-batch',
        'us-central1-b',
        'n1-standard-4',
        'PREEMPTIBLE',
        undefined,
        'TERMINATED',
        null,
        [],
        { team: 'research' },
      ],
    ]);
    expect(vms[0]).toMatchObject({
      id: '4567890123456789012',
      region: 'us-central1',
      labelFingerprint: 'h8Dq2dDsyQc=',
    });
  });

  it('reads hourly uptime, machine type metadata and clamps over-long samples', async () => {
    sandbox.faults.set('monitoring.timeSeries.list', {
      replay: { count: 1, body: loadFixture('monitoring/uptime-hourly.json') },
    });
    const reader = new UptimeReader(() => runtime.clients.metrics(), { logger: runtime.logger });
    const { samples } = await reader.hourly(
      'ml-training-prod',
      new Date('2026-11-20T00:00:00Z'),
      new Date('2026-11-20T02:00:00Z'),
    );
    expect(
      samples.map((s) => [
        s.instanceName,
        s.instanceId,
        s.zone,
        s.machineType,
        s.hourStart.toISOString(),
        s.seconds,
      ]),
    ).toEqual([
      [
        'trainer-l4-spot',
        '4567890123456789012',
        'us-central1-a',
        'g2-standard-8',
        '2026-11-20T01:00:00.000Z',
        3600,
      ],
      [
        'trainer-l4-spot',
        '4567890123456789012',
        'us-central1-a',
        'g2-standard-8',
        '2026-11-20T00:00:00.000Z',
        2712.5,
      ],
      [
        'workers-7x2k',
        '4567890123456789099',
        'us-central1-b',
        'n2d-standard-4',
        '2026-11-20T01:00:00.000Z',
        3600,
      ],
    ]);
  });
});

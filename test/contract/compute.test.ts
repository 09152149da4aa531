import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComputeFleet } from '../../functions/adapters/compute.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The real @google-cloud/compute client against the sandbox's Compute routes.
describe('Compute contract', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
    runtime = sandboxRuntime(sandbox);
  });
  afterEach(() => sandbox.close());

  const fleet = (): ComputeFleet =>
    new ComputeFleet(
      {
        instances: () => runtime.clients.instances(),
        zoneOperations: () => runtime.clients.zoneOperations(),
      },
      { logger: runtime.logger, retry: { baseDelayMs: 1 } },
    );

  it('pages aggregatedList across several pages and zones, with no credentials sent', async () => {
    const client = await runtime.clients.instances();
    const names: string[] = [];
    for await (const [, scoped] of client.aggregatedListAsync({
      project: 'ml-training-prod',
      maxResults: 3,
    })) {
      for (const instance of scoped.instances ?? []) names.push(instance.name ?? '');
    }
    expect(names).toHaveLength(10);
    expect(new Set(names).size).toBe(10);
    const pages = sandbox.calls.filter((c) => c.route === 'compute.instances.aggregatedList');
    expect(pages).toHaveLength(4);
    expect(sandbox.calls.every((c) => !c.authorization)).toBe(true);
  });

  it.each([
    {
      filter: '(status = RUNNING) (scheduling.provisioningModel = SPOT)',
      expected: [
        'batch-n2-1',
        'batch-n2-2',
        'custom-ext-1',
        'eu-c3-1',
        'mig-worker-x1',
        'trainer-a100-1',
        'trainer-l4-1',
      ],
    },
    {
      filter: 'labels.priority = low',
      expected: ['batch-n2-1', 'batch-n2-2', 'mig-worker-x1', 'trainer-a100-1'],
    },
    { filter: 'labels.app:*', expected: ['trainer-a100-1', 'trainer-l4-1', 'web-e2-small'] },
    { filter: '(status = TERMINATED)', expected: ['eu-stopped-1'] },
  ])('filters with $filter', async ({ filter, expected }) => {
    const client = await runtime.clients.instances();
    const names: string[] = [];
    for await (const [, scoped] of client.aggregatedListAsync({
      project: 'ml-training-prod',
      filter,
    })) {
      for (const instance of scoped.instances ?? []) names.push(instance.name ?? '');
    }
    expect(names.sort()).toEqual(expected);
  });

  it.each([
    { filter: 'name = "trainer-*"', expected: ['trainer-a100-1', 'trainer-l4-1'] },
    {
      filter: 'name = "*-1"',
      expected: [
        'trainer-a100-1',
        'trainer-l4-1',
        'batch-n2-1',
        'legacy-preempt-1',
        'custom-ext-1',
      ],
    },
    { filter: 'name != "*-1"', expected: ['web-e2-small', 'batch-n2-2', 'mig-worker-x1'] },
  ])('lists zone instances by a name pattern: $filter', async ({ filter, expected }) => {
    const client = await runtime.clients.instances();
    const names: string[] = [];
    for (const zone of ['us-central1-a', 'us-central1-b']) {
      for await (const instance of client.listAsync({
        project: 'ml-training-prod',
        zone,
        filter,
      })) {
        names.push(instance.name ?? '');
      }
    }
    expect(names.sort()).toEqual([...expected].sort());
  });

  it('reads FLEX_START and RESERVATION_BOUND VMs as such, not as on demand', async () => {
    for (const [name, provisioningModel] of [
      ['dws-flex-1', 'FLEX_START'],
      ['reserved-1', 'RESERVATION_BOUND'],
    ] as const) {
      sandbox.fleet.add({
        project: 'ml-training-prod',
        zone: 'us-central1-a',
        name,
        machineType: 'a3-highgpu-1g',
        provisioningModel,
        labels: {},
      });
    }
    const vms = await fleet().listAll('ml-training-prod');
    const models = new Map(vms.map((vm) => [vm.name, vm.provisioningModel]));
    expect(models.get('dws-flex-1')).toBe('FLEX_START');
    expect(models.get('reserved-1')).toBe('RESERVATION_BOUND');
  });

  it('reports the provisioning model, GPUs and MIG membership through the port', async () => {
    const vms = await fleet().listAll('ml-training-prod');
    const byName = new Map(vms.map((vm) => [vm.name, vm]));
    expect(byName.get('trainer-l4-1')).toMatchObject({
      provisioningModel: 'SPOT',
      region: 'us-central1',
      gpus: [{ type: 'nvidia-l4', count: 1 }],
    });
    expect(byName.get('legacy-preempt-1')?.provisioningModel).toBe('PREEMPTIBLE');
    expect(byName.get('web-e2-small')?.provisioningModel).toBe('STANDARD');
    expect(byName.get('mig-worker-x1')?.managedBy).toBe(
      'projects/481516234201/zones/us-central1-b/instanceGroupManagers/workers',
    );
    expect(byName.get('batch-n2-2')?.terminationAction).toBe('DELETE');
  });

  it('surfaces a stale label fingerprint as 412 in the client', async () => {
    const client = await runtime.clients.instances();
    await expect(
      client.setLabels({
        project: 'ml-training-prod',
        zone: 'us-central1-a',
        instance: 'trainer-l4-1',
        instancesSetLabelsRequestResource: { labelFingerprint: 'c3RhbGU=', labels: { team: 'x' } },
      }),
    ).rejects.toMatchObject({ code: 412 });
    expect(
      sandbox.fleet.get('ml-training-prod', 'us-central1-a', 'trainer-l4-1')?.labels.team,
    ).toBe('nlp');
  });

  it.each([
    { what: 'a key with a capital letter', labels: { Team: 'nlp' } },
    { what: 'a key that starts with a digit', labels: { '1team': 'nlp' } },
    { what: 'a value with a space', labels: { team: 'nlp research' } },
    { what: 'a value of 64 characters', labels: { team: 'x'.repeat(64) } },
    {
      what: '65 labels',
      labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
    },
  ])('rejects $what with 400 and keeps the labels', async ({ labels }) => {
    const client = await runtime.clients.instances();
    const vm = sandbox.fleet.get('ml-training-prod', 'us-central1-a', 'trainer-l4-1');
    const before = { ...vm?.labels };
    await expect(
      client.setLabels({
        project: 'ml-training-prod',
        zone: 'us-central1-a',
        instance: 'trainer-l4-1',
        instancesSetLabelsRequestResource: { labelFingerprint: vm?.labelFingerprint, labels },
      }),
    ).rejects.toMatchObject({ code: 400 });
    expect(vm?.labels).toEqual(before);
  });

  it('accepts 64 labels of the longest key and value', async () => {
    const client = await runtime.clients.instances();
    const vm = sandbox.fleet.get('ml-training-prod', 'us-central1-a', 'trainer-l4-1');
    const labels = Object.fromEntries(
      Array.from({ length: 64 }, (_, i) => [`k${String(i).padStart(62, '0')}`, 'v'.repeat(63)]),
    );
    await client.setLabels({
      project: 'ml-training-prod',
      zone: 'us-central1-a',
      instance: 'trainer-l4-1',
      instancesSetLabelsRequestResource: { labelFingerprint: vm?.labelFingerprint, labels },
    });
    expect(sandbox.fleet.get('ml-training-prod', 'us-central1-a', 'trainer-l4-1')?.labels).toEqual(
      labels,
    );
  });

  it('merges labels under the fingerprint and survives a concurrent writer', async () => {
    sandbox.faults.set('compute.instances.setLabels', {
      race: { count: 1, labels: { owner: 'someone-else' } },
    });
    const written = await fleet().updateLabels(
      { project: 'ml-training-prod', zone: 'us-central1-a', name: 'trainer-l4-1' },
      (labels) => ({ ...labels, cost_center: 'cc-200' }),
    );
    const labels = sandbox.fleet.get('ml-training-prod', 'us-central1-a', 'trainer-l4-1')?.labels;
    expect(labels).toEqual({
      team: 'nlp',
      app: 'finetune',
      priority: 'medium',
      owner: 'someone-else',
      cost_center: 'cc-200',
    });
    expect(written).toEqual(labels);
    expect(
      sandbox.calls.filter((c) => c.route === 'compute.instances.setLabels').map((c) => c.status),
    ).toEqual([412, 200]);
  });

  it('stops a VM, waits on its operation until DONE, and a repeated requestId stops nothing twice', async () => {
    sandbox.settings.operationSeconds = 300;
    const ref = { project: 'ml-training-prod', zone: 'us-central1-b', name: 'batch-n2-1' };
    const client = await runtime.clients.instances();
    const operations = await runtime.clients.zoneOperations();
    const started = sandbox.clock.nowMs();
    const [op] = await client.stop({
      ...ref,
      instance: ref.name,
      requestId: '0b7c9d3e-1111-4aaa-8bbb-000000000001',
    });
    const latest = op.latestResponse as { name: string; status?: string };
    const name = latest.name;
    expect(latest.status).toBe('PENDING');
    expect(sandbox.fleet.get(ref.project, ref.zone, ref.name)?.status).toBe('STOPPING');
    // wait returns after two minutes at most, done or not.
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [waited] = await operations.wait({
        project: ref.project,
        zone: ref.zone,
        operation: name,
      });
      statuses.push(String(waited.status));
    }
    expect(statuses).toEqual(['RUNNING', 'RUNNING', 'DONE']);
    expect(sandbox.clock.nowMs() - started).toBe(300_000);
    expect(sandbox.fleet.get(ref.project, ref.zone, ref.name)?.status).toBe('TERMINATED');

    const [again] = await client.stop({
      ...ref,
      instance: ref.name,
      requestId: '0b7c9d3e-1111-4aaa-8bbb-000000000001',
    });
    expect(again.latestResponse.name).toBe(name);
    expect(sandbox.fleet.operations.filter((o) => o.operationType === 'stop')).toHaveLength(1);
  });

  it('retries a transient failure and then stops the VM through the port', async () => {
    sandbox.faults.set('compute.instances.stop', { fail: { count: 2, status: 503 } });
    await fleet().stop(
      { project: 'ml-training-prod', zone: 'us-central1-b', name: 'batch-n2-1' },
      '0b7c9d3e-2222-4aaa-8bbb-000000000002',
    );
    expect(sandbox.fleet.get('ml-training-prod', 'us-central1-b', 'batch-n2-1')?.status).toBe(
      'TERMINATED',
    );
    expect(
      sandbox.calls.filter((c) => c.route === 'compute.instances.stop').map((c) => c.status),
    ).toEqual([503, 503, 200]);
  });

  it('lists a stopped VM with the time it stopped (lastStopTimestamp) and its last start', async () => {
    const ref = { project: 'ml-training-prod', zone: 'us-central1-b', name: 'batch-n2-1' };
    const before = (await fleet().listAll(ref.project)).find((vm) => vm.name === ref.name);
    sandbox.clock.advance(600_000);
    const stoppedAt = sandbox.clock.nowMs();
    await fleet().stop(ref, '0b7c9d3e-3333-4aaa-8bbb-000000000003');

    const after = (await fleet().listAll(ref.project)).find((vm) => vm.name === ref.name);
    expect(before).toMatchObject({ status: 'RUNNING', stoppedAt: undefined });
    // Compute writes RFC 3339 with an offset (`…-07:00`); the instant is what counts.
    expect(after).toMatchObject({ status: 'TERMINATED', startedAt: before?.startedAt });
    expect(Date.parse(after?.stoppedAt ?? '')).toBe(stoppedAt);
  });

  it('stops many VMs: every stop requested before any wait, every outcome kept', async () => {
    const targets = ['batch-n2-1', 'no-such-vm', 'custom-ext-1'].map((name, i) => ({
      ref: { project: 'ml-training-prod', zone: 'us-central1-b', name },
      requestId: `0b7c9d3e-3333-4aaa-8bbb-00000000000${i}`,
    }));
    sandbox.settings.operationSeconds = 45;
    const outcomes = await fleet().stopAll(targets, { requests: 2 });
    expect(
      outcomes.map((o) =>
        o.status === 'fulfilled' ? 'stopped' : (o.reason as { code?: number }).code,
      ),
    ).toEqual(['stopped', 404, 'stopped']);
    const stopOrWait = sandbox.calls
      .filter(
        (c) => c.route === 'compute.instances.stop' || c.route === 'compute.zoneOperations.wait',
      )
      .map((c) => c.route.split('.').pop());
    expect(stopOrWait.indexOf('wait')).toBeGreaterThan(stopOrWait.lastIndexOf('stop'));
    expect(sandbox.fleet.get('ml-training-prod', 'us-central1-b', 'custom-ext-1')?.status).toBe(
      'TERMINATED',
    );
  });

  it('lists preemption operations and serves machine types, custom ones included', async () => {
    sandbox.fleet.preempt(sandbox.fleet.get('ml-training-prod', 'us-central1-b', 'batch-n2-2')!);
    const ops = await fleet().listOperations(
      'ml-training-prod',
      'us-central1-b',
      'operationType = "compute.instances.preempted"',
    );
    expect(ops.map((o) => [o.operationType, o.targetName])).toEqual([
      ['compute.instances.preempted', 'batch-n2-2'],
    ]);
    expect(
      await fleet().get({ project: 'ml-training-prod', zone: 'us-central1-b', name: 'batch-n2-2' }),
    ).toBeUndefined();

    const types = await runtime.clients.machineTypes();
    const [custom] = await types.get({
      project: 'ml-training-prod',
      zone: 'us-central1-b',
      machineType: 'n2-custom-4-20480-ext',
    });
    expect([custom.guestCpus, custom.memoryMb]).toEqual([4, 20480]);
    const [g2] = await types.get({
      project: 'ml-training-prod',
      zone: 'us-central1-a',
      machineType: 'g2-standard-8',
    });
    expect(g2.accelerators).toEqual([
      expect.objectContaining({ guestAcceleratorType: 'nvidia-l4', guestAcceleratorCount: 1 }),
    ]);
    let listed = 0;
    for await (const [, scoped] of types.aggregatedListAsync({
      project: 'data-pipelines',
      maxResults: 50,
    })) {
      listed += scoped.machineTypes?.length ?? 0;
    }
    expect(listed).toBeGreaterThan(100);
  });
});

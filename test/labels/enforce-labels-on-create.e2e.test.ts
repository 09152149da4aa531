import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ledger } from '../../functions/adapters/bigquery.js';
import { pricedMachineKey } from '../../functions/core/pricing.js';
import { buildEnforceLabelsOnCreate } from '../../functions/labels/entry.js';
import {
  machinesToQuote,
  planCostRows,
  resolveAttributes,
} from '../../functions/recorder/plan-cost-rows.js';
import { SpotCostLedger } from '../../functions/recorder/spot-cost-ledger.js';
import { sinkPushBody } from '../../functions/sandbox/routes/logging.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';
import {
  callsTo,
  fakePrices,
  labelEnv,
  labelLedger,
  labelsOf,
  startLabelSandbox,
  type AuditEventFixture,
} from './label-sandbox.js';

// enforceLabelsOnCreate end to end: audit-log CloudEvents delivered as Eventarc does (binary
// mode: attributes in ce- headers, the LogEntry as the JSON body) to the Functions Framework.

const V1 = {
  project: 'ml-training-prod',
  zone: 'us-central1-a',
  name: 'vision-new-1',
  id: '4837261950184736251',
};
const BETA = {
  project: 'data-pipelines',
  zone: 'us-east1-b',
  name: 'etl-console-7',
  id: '6120938475610293847',
};

let served = 0;

describe('enforceLabelsOnCreate', () => {
  let sandbox: Sandbox;
  let ledger: Ledger;
  let target: ServedTarget;
  let runtime: ReturnType<typeof sandboxRuntime>;

  async function start(env: Record<string, string> = {}): Promise<void> {
    runtime = sandboxRuntime(sandbox, labelEnv(env));
    target = await serveTarget(`enforceLabelsOnCreate-${++served}`, {
      kind: 'event',
      handler: await buildEnforceLabelsOnCreate(runtime, { prices: fakePrices }),
    });
  }

  async function deliver(event: AuditEventFixture): Promise<number> {
    const { data, ...attributes } = event;
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    for (const [name, value] of Object.entries(attributes)) {
      if (name !== 'datacontenttype') headers[`ce-${name}`] = String(value);
    }
    const response = await fetch(target.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(data),
    });
    await response.text();
    return response.status;
  }

  function addProvisioning(
    vm: typeof V1,
    labels: Record<string, string>,
    machineType = 'n2-standard-8',
  ): void {
    sandbox.fleet.add({
      project: vm.project,
      zone: vm.zone,
      name: vm.name,
      id: vm.id,
      machineType,
      provisioningModel: 'SPOT',
      status: 'PROVISIONING',
      labels,
    });
  }

  async function rows(): Promise<Array<Record<string, unknown>>> {
    return ledger.query(
      'SELECT * FROM `${dataset}.label_compliance_checks` ORDER BY instance_name',
    );
  }

  async function rawRowCount(): Promise<number> {
    const [row] = await ledger.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM `${dataset}.label_compliance`',
    );
    return Number(row?.n);
  }

  const errorLines = (): Array<Record<string, unknown>> =>
    runtime.logger.entries.filter((e) => e.severity === 'ERROR');

  beforeEach(async () => {
    sandbox = await startLabelSandbox();
    ledger = labelLedger(sandbox);
    await ledger.migrate();
    addProvisioning(V1, { team: 'vision' });
    addProvisioning(BETA, { 'goog-ec-src': 'vm_add-tf' }, 'e2-standard-4');
  });
  afterEach(async () => {
    await target.close();
    await sandbox.close();
  });

  it.each([
    {
      case: 'v1 (gcloud)',
      prefix: 'insert-v1',
      vm: V1,
      expected: {
        team: 'vision',
        cost_center: 'cc-100',
        priority: 'low',
        'costguard-stop-after': '2026-11-23',
      },
      runId: 'create-operation-1795133100000-6440c3f0a2b1e-5b2a9d3c-8e1f4a7b',
    },
    {
      case: 'beta (the console)',
      prefix: 'insert-beta',
      vm: BETA,
      expected: {
        'goog-ec-src': 'vm_add-tf',
        team: 'data',
        cost_center: 'cc-200',
        priority: 'low',
        'costguard-stop-after': '2026-11-23',
      },
      runId: 'create-operation-1795133520000-6440c58a31d07-0c7e4b2f-93d5a1e6',
    },
  ])(
    '$case: the first entry fixes and marks the PROVISIONING VM, the last changes nothing',
    async ({ prefix, vm, expected, runId }) => {
      // Prepare
      await start();
      const first = loadFixture<AuditEventFixture>(`audit/${prefix}-first.json`);
      const last = loadFixture<AuditEventFixture>(`audit/${prefix}-last.json`);
      // Act: the first entry, while the VM is still PROVISIONING
      expect(await deliver(first)).toBeLessThan(300);
      // Assess
      expect(labelsOf(sandbox, vm.project, vm.zone, vm.name)).toEqual(expected);
      expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([200]);
      // Act: the VM runs; the last entry arrives, and Eventarc delivers it twice
      const created = sandbox.fleet.get(vm.project, vm.zone, vm.name);
      if (created) sandbox.fleet.setStatus(created, 'RUNNING');
      sandbox.clock.advance(15_000);
      expect(await deliver(last)).toBeLessThan(300);
      expect(await deliver(last)).toBeLessThan(300);
      // Assess: no further write, still one row for the insert, and it is the one that acted
      expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([200]);
      expect(labelsOf(sandbox, vm.project, vm.zone, vm.name)).toEqual(expected);
      const recorded = await rows();
      expect(recorded).toHaveLength(1);
      expect(recorded[0]).toMatchObject({
        run_id: runId,
        check_kind: 'create',
        instance_name: vm.name,
        instance_id: vm.id,
        action: 'mark',
        action_status: 'done',
        missing_keys: ['app'],
        compliant: false,
      });
      // Three deliveries, two rows: the repeated delivery's row was identical, so its insertId too.
      expect(await rawRowCount()).toBe(2);
      expect(sandbox.fleet.get(vm.project, vm.zone, vm.name)?.status).toBe('RUNNING');
      expect(errorLines()).toEqual([]);
    },
  );

  it("acts the same on an insert in another governed project, published by that project's Logging sink", async () => {
    // Prepare: Pub/Sub pushes the sink's message; the Functions Framework makes it a
    // messagePublished CloudEvent, as the Eventarc Pub/Sub trigger on the topic delivers it.
    await start();
    const entry = loadFixture<AuditEventFixture>('audit/insert-beta-first.json').data;
    const push = sinkPushBody(entry, 'ops-costguard', 'costguard-instance-inserts');

    // Act
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(push),
    });

    // Assess: the console-made VM is fixed and marked, and one row says so
    expect(response.status).toBeLessThan(300);
    expect(labelsOf(sandbox, BETA.project, BETA.zone, BETA.name)).toEqual({
      'goog-ec-src': 'vm_add-tf',
      team: 'data',
      cost_center: 'cc-200',
      priority: 'low',
      'costguard-stop-after': '2026-11-23',
    });
    expect(await rows()).toEqual([
      expect.objectContaining({ instance_name: BETA.name, check_kind: 'create', action: 'mark' }),
    ]);
    expect(errorLines()).toEqual([]);
  });

  it('snapshots the created VM, so the cost run prices it after it is gone', async () => {
    // Prepare
    await start();
    // Act: the first audit entry, then the Spot VM is deleted before any hourly cost run.
    expect(
      await deliver(loadFixture<AuditEventFixture>('audit/insert-v1-first.json')),
    ).toBeLessThan(300);
    const created = sandbox.fleet.get(V1.project, V1.zone, V1.name);
    if (created) sandbox.fleet.remove(created);
    // Assess: the recorder's read of the inventory finds its shape, and prices its hour as Spot.
    // (The run two hours later records the hour the VM was created in.)
    const history = await new SpotCostLedger(ledger).inventoryHistory(
      [V1.project],
      sandbox.clock.now(),
      new Date(sandbox.clock.now().getTime() + 2 * 3_600_000),
    );
    expect(history.get(`${V1.project}/${V1.id}`)).toEqual([
      expect.objectContaining({
        instanceName: V1.name,
        machineType: 'n2-standard-8',
        provisioningModel: 'SPOT',
      }),
    ]);
    const hourStart = new Date(Math.floor(sandbox.clock.now().getTime() / 3_600_000) * 3_600_000);
    const uptime = {
      project: V1.project,
      zone: V1.zone,
      instanceId: V1.id,
      instanceName: V1.name,
      machineType: undefined,
      hourStart,
      seconds: 1200,
    };
    const attributes = resolveAttributes([uptime], [], history);
    expect(attributes).toEqual([
      expect.objectContaining({ source: 'inventory', provisioningModel: 'SPOT' }),
    ]);
    const [machine] = machinesToQuote(attributes);
    const rate = await fakePrices.rate(machine!);
    const [row] = planCostRows(
      [uptime],
      attributes,
      new Map([[pricedMachineKey(machine!), { rate, shape: undefined }]]),
      'USD',
    );
    expect(row?.cost).toBeCloseTo((1200 / 3600) * rate.hourly, 12);
    expect(row?.priceSource).not.toBe('unknown');
  });

  it('handles the last entry arriving before the first', async () => {
    await start();
    expect(await deliver(loadFixture<AuditEventFixture>('audit/insert-v1-last.json'))).toBeLessThan(
      300,
    );
    expect(
      await deliver(loadFixture<AuditEventFixture>('audit/insert-v1-first.json')),
    ).toBeLessThan(300);

    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([200]);
    expect(await rows()).toHaveLength(1);
  });

  it('un-marks nothing and writes nothing for a VM created compliant', async () => {
    await start();
    const vm = sandbox.fleet.get(V1.project, V1.zone, V1.name);
    if (vm) vm.labels = { team: 'vision', app: 'trainer', cost_center: 'cc-100', priority: 'high' };

    expect(
      await deliver(loadFixture<AuditEventFixture>('audit/insert-v1-first.json')),
    ).toBeLessThan(300);

    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([]);
    expect(await rows()).toEqual([expect.objectContaining({ action: 'none', compliant: true })]);
  });

  it('leaves an exempt VM alone', async () => {
    await start();
    const vm = sandbox.fleet.get(V1.project, V1.zone, V1.name);
    if (vm) vm.labels = { 'costguard-exempt': 'true' };

    await deliver(loadFixture<AuditEventFixture>('audit/insert-v1-first.json'));

    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([]);
    expect(await rows()).toEqual([expect.objectContaining({ action: 'none', exempt: true })]);
  });

  it('in a dry run records the plan and changes nothing', async () => {
    await start({ COSTGUARD_LABELS_DRY_RUN: 'true' });

    await deliver(loadFixture<AuditEventFixture>('audit/insert-beta-first.json'));

    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([]);
    expect(labelsOf(sandbox, BETA.project, BETA.zone, BETA.name)).toEqual({
      'goog-ec-src': 'vm_add-tf',
    });
    expect(await rows()).toEqual([
      expect.objectContaining({ action: 'mark', action_status: 'planned', dry_run: true }),
    ]);
  });

  it.each([
    {
      case: 'the insert failed',
      fixture: 'insert-v1-failed',
      change: (e: AuditEventFixture) => e,
      reason: 'the insert failed (status 8:',
    },
    {
      case: 'the project is not governed',
      fixture: 'insert-v1-first',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName =
          'projects/someone-elses/zones/us-central1-a/instances/vision-new-1';
        return e;
      },
      reason: 'outside the governed projects',
    },
    {
      case: 'the VM is not visible yet',
      fixture: 'insert-v1-first',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName =
          'projects/ml-training-prod/zones/us-central1-a/instances/vision-new-9';
        return e;
      },
      reason: 'not visible yet; the last audit entry checks it',
    },
    {
      case: 'the VM is gone by the last entry',
      fixture: 'insert-v1-last',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName =
          'projects/ml-training-prod/zones/us-central1-a/instances/vision-new-9';
        return e;
      },
      reason: 'the VM no longer exists',
    },
    {
      case: 'the name belongs to a newer instance',
      fixture: 'insert-v1-last',
      change: (e: AuditEventFixture) => {
        if (e.data.resource) e.data.resource.labels.instance_id = '1111111111111111111';
        return e;
      },
      reason: 'the name now belongs to another instance',
    },
  ])('acknowledges without acting when $case', async ({ fixture, change, reason }) => {
    await start();
    const status = await deliver(change(loadFixture<AuditEventFixture>(`audit/${fixture}.json`)));

    expect(status).toBeLessThan(300);
    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([]);
    expect(await rows()).toEqual([]);
    const skipped = runtime.logger.entries.filter((e) => e.message === 'Created VM not checked');
    expect(skipped).toHaveLength(1);
    expect(String(skipped[0]?.reason)).toContain(reason);
  });

  it.each<{ case: string; change: (e: AuditEventFixture) => AuditEventFixture }>([
    {
      case: 'a Pub/Sub event',
      change: (e: AuditEventFixture) => ({
        ...e,
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
      }),
    },
    {
      case: 'no protoPayload',
      change: (e: AuditEventFixture) => ({
        ...e,
        data: { ...e.data, protoPayload: undefined as never },
      }),
    },
    {
      case: 'another method',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.methodName = 'v1.compute.instances.delete';
        return e;
      },
    },
    {
      case: 'a resource that is not an instance',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName = 'projects/ml-training-prod/global/networks/default';
        return e;
      },
    },
    {
      case: 'a list instead of an entry',
      change: (e: AuditEventFixture) => ({ ...e, data: [e.data] as never }),
    },
    { case: 'an empty entry', change: (e: AuditEventFixture) => ({ ...e, data: {} as never }) },
  ])(
    'acknowledges an event with $case after one structured error line, changing nothing',
    async ({ change }) => {
      await start();
      const event = change(loadFixture<AuditEventFixture>('audit/insert-v1-first.json'));

      const status = await deliver(event);

      expect(status).toBeLessThan(300);
      expect(errorLines()).toHaveLength(1);
      expect(errorLines()[0]).toMatchObject({
        message: 'Event failed permanently; acknowledged',
        eventId: event.id,
      });
      expect(sandbox.calls.filter((c) => c.route.startsWith('compute.'))).toEqual([]);
      expect(await rows()).toEqual([]);
    },
  );

  it('fails the delivery when Compute is unavailable, so Eventarc retries it', async () => {
    await start();
    sandbox.faults.set('compute.instances.get', { fail: { count: 4, status: 503 } });

    const status = await deliver(loadFixture<AuditEventFixture>('audit/insert-v1-first.json'));

    expect(status).toBe(500);
    expect(await rows()).toEqual([]);
    // The retry succeeds.
    expect(
      await deliver(loadFixture<AuditEventFixture>('audit/insert-v1-first.json')),
    ).toBeLessThan(300);
    expect(await rows()).toHaveLength(1);
  });
});

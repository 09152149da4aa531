/**
 * Responses in the shape the real APIs send them (fixtures/recorded/, each with the recording it
 * is modelled on in its README; the catalog and budget fixtures beside them) replayed through the
 * real client libraries into the adapters, with what the adapters make of them.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BillingCatalog } from '../../functions/adapters/billing-catalog.js';
import { BudgetDirectory } from '../../functions/adapters/budgets.js';
import { ComputeFleet } from '../../functions/adapters/compute.js';
import { UptimeReader } from '../../functions/adapters/monitoring.js';
import { isTransient } from '../../functions/core/errors.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

const REF = { project: 'ml-training-prod', zone: 'us-central1-b', name: 'batch-n2-1' };
const recorded = (name: string): unknown => loadFixture(`recorded/${name}.json`);

describe('recorded responses replayed through the adapters', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;
  let fleet: ComputeFleet;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    runtime = sandboxRuntime(sandbox);
    fleet = new ComputeFleet(
      {
        instances: () => runtime.clients.instances(),
        zoneOperations: () => runtime.clients.zoneOperations(),
      },
      {
        logger: runtime.logger,
        retry: { baseDelayMs: 1 },
        pollDelayMs: 1,
        sleep: () => Promise.resolve(),
      },
    );
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.faults.clear();
    sandbox.calls.length = 0;
  });

  const replay = (route: string, name: string, status = 200, count = 1) =>
    sandbox.faults.set(route, { replay: { count, status, body: recorded(name) } });
  const routes = () =>
    sandbox.calls.map((c) => `${c.route.split('.').slice(1).join('.')} ${c.status}`);

  it('reads a labelled Spot instance from instances.get', async () => {
    replay('compute.instances.get', 'compute-instances-get');
    expect(await fleet.get(REF)).toMatchObject({
      name: 'batch-n2-1',
      zone: 'us-central1-b',
      region: 'us-central1',
      machineType: 'n2-standard-4',
      provisioningModel: 'SPOT',
      terminationAction: 'STOP',
      labels: { team: 'ml', priority: 'low' },
      labelFingerprint: '42WmSpB8rSM=',
    });
  });

  it('reads an instance without a labels key as having none', async () => {
    replay('compute.instances.get', 'compute-instances-get-unlabelled');
    expect(await fleet.get(REF)).toMatchObject({ labels: {}, provisioningModel: 'STANDARD' });
  });

  it('lists every scope of an aggregatedList, empty zones with NO_RESULTS_ON_PAGE, and no gap', async () => {
    replay('compute.instances.aggregatedList', 'compute-aggregated-instances');
    const listing = await fleet.listing('ml-training-prod');
    expect(listing.vms.map((vm) => vm.name)).toEqual(['batch-n2-1', 'scratch-n2']);
    expect(listing.gaps).toEqual([]);
  });

  it('reports the unreachable zone of a partial aggregatedList', async () => {
    replay('compute.instances.aggregatedList', 'compute-aggregated-instances-partial');
    const listing = await fleet.listing('ml-training-prod');
    expect(listing.vms.map((vm) => vm.name)).toEqual(['batch-n2-1']);
    expect(listing.gaps).toEqual([
      { zone: 'us-central1-c', code: 'UNREACHABLE', message: 'zones/us-central1-c is unreachable' },
    ]);
  });

  it('keeps a SUSPENDED instance as it is listed', async () => {
    replay('compute.instances.aggregatedList', 'compute-aggregated-instances-suspended');
    const { vms } = await fleet.listing('ml-training-prod');
    expect(vms.map((vm) => [vm.name, vm.status])).toEqual([['notebook-n2', 'SUSPENDED']]);
  });

  it('decodes a zone instance list with the real client', async () => {
    replay('compute.instances.list', 'compute-instances-list-zone');
    const client = await runtime.clients.instances();
    const [items] = await client.list(
      { project: REF.project, zone: REF.zone },
      { autoPaginate: false },
    );
    expect(items.map((i) => [i.name, i.labels])).toEqual([
      ['batch-n2-1', { team: 'ml', priority: 'low' }],
    ]);
  });

  it('waits on a stop that answers PENDING until its operation is DONE', async () => {
    replay('compute.instances.stop', 'compute-stop-pending');
    replay('compute.zoneOperations.wait', 'compute-operation-done');
    await fleet.stop(REF, '0b7c9d3e-7777-4aaa-8bbb-000000000001');
    expect(routes()).toEqual(['instances.stop 200', 'zoneOperations.wait 200']);
  });

  it('reports a start whose operation ended with error.errors[] as a failure a retry can fix', async () => {
    replay('compute.instances.start', 'compute-start-pending');
    replay('compute.zoneOperations.wait', 'compute-operation-failed');
    const failed = await fleet
      .start(REF, '0b7c9d3e-7777-4aaa-8bbb-000000000002')
      .catch((e: unknown) => e);
    expect(String(failed)).toContain('ZONE_RESOURCE_POOL_EXHAUSTED');
    expect(isTransient(failed)).toBe(true);
  });

  it('writes labels answered RUNNING, and metadata answered PENDING, then confirms each', async () => {
    replay('compute.instances.setLabels', 'compute-setlabels-running');
    replay('compute.zoneOperations.wait', 'compute-operation-done', 200, 2);
    const known = { labels: { team: 'ml' }, labelFingerprint: '42WmSpB8rSM=' };
    expect(await fleet.updateLabels(REF, (l) => ({ ...l, priority: 'low' }), known)).toEqual({
      team: 'ml',
      priority: 'low',
    });
    replay('compute.instances.setMetadata', 'compute-setmetadata-pending');
    const raw = await fleet.read(REF);
    await fleet.mergeMetadata(REF, (m) => new Map([...m, ['k', 'v']]), raw!);
    expect(routes()).toEqual([
      'instances.setLabels 200',
      'zoneOperations.wait 200',
      'instances.get 200',
      'instances.setMetadata 200',
      'zoneOperations.wait 200',
    ]);
  });

  it('takes a 404 as a VM that is gone', async () => {
    replay('compute.instances.get', 'compute-404-not-found', 404);
    expect(await fleet.get(REF)).toBeUndefined();
    expect(routes()).toEqual(['instances.get 404']);
  });

  it('re-reads and writes again after a 412 conditionNotMet', async () => {
    replay('compute.instances.setLabels', 'compute-412-condition-not-met', 412);
    const stale = { labels: {}, labelFingerprint: 'stale' };
    const written = await fleet.updateLabels(REF, (l) => ({ ...l, app: 'etl' }), stale);
    expect(written).toMatchObject({ app: 'etl' });
    expect(routes()).toEqual([
      'instances.setLabels 412',
      'instances.get 200',
      'instances.setLabels 200',
      'zoneOperations.wait 200',
    ]);
  });

  it('retries a 403 rateLimitExceeded and stops once', async () => {
    replay('compute.instances.stop', 'compute-403-rate-limit', 403);
    await fleet.stop({ ...REF, name: 'batch-n2-2' }, '0b7c9d3e-7777-4aaa-8bbb-000000000003');
    expect(routes().slice(0, 2)).toEqual(['instances.stop 403', 'instances.stop 200']);
    expect(sandbox.fleet.operations.filter((o) => o.targetName === 'batch-n2-2')).toHaveLength(1);
  });

  it('gives up at once on a 403 accessNotConfigured', async () => {
    replay('compute.instances.get', 'compute-403-access-not-configured', 403, 5);
    const error = await fleet.get(REF).catch((e: unknown) => e);
    expect(isTransient(error)).toBe(false);
    expect(routes()).toEqual(['instances.get 403']);
  });

  it('reads hourly uptime and the machine type from a time series, clamped to the hour', async () => {
    replay('monitoring.timeSeries.list', 'monitoring-uptime-time-series');
    const reader = new UptimeReader(() => runtime.clients.metrics(), { logger: runtime.logger });
    const { samples } = await reader.hourly(
      'ml-training-prod',
      new Date('2026-11-20T00:00:00Z'),
      new Date('2026-11-20T02:00:00Z'),
    );
    expect(
      samples.map((s) => [s.instanceName, s.machineType, s.hourStart.toISOString(), s.seconds]),
    ).toEqual([
      ['batch-n2-1', 'n2-standard-4', '2026-11-20T01:00:00.000Z', 1831.994],
      ['batch-n2-1', 'n2-standard-4', '2026-11-20T00:00:00.000Z', 3600],
    ]);
  });

  it('reads Catalog SKUs and a budget as the adapters use them', async () => {
    sandbox.faults.set('billingCatalog.skus.list', {
      replay: { count: 1, body: loadFixture('catalog/compute-skus.json') },
    });
    const skus = await new BillingCatalog(() => runtime.clients.catalog(), {
      logger: runtime.logger,
    }).listSkus();
    expect(skus.length).toBeGreaterThan(10);
    expect(skus.every((s) => s.currency === 'USD' || s.currency === undefined)).toBe(true);

    sandbox.faults.set('billingbudgets.budgets.get', {
      replay: { count: 1, body: loadFixture('budget/get-budget.json') },
    });
    const scope = await new BudgetDirectory(() => runtime.clients.budgets(), {
      logger: runtime.logger,
    }).scope('01D4EE-079462-DFD6EC', 'de72f49d-779b-4945-a127-4d6ce8def0bb');
    expect(scope.projects).toEqual(['481516234201', '161803398874', '314159265358']);
  });
});

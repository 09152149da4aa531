/**
 * Every Google API route of the sandbox answers only what the real API can: each reply is
 * decoded with the message definitions its client library ships (protos.json) and any field the
 * message does not have, value of the wrong type or unknown enum name fails the test. Error
 * bodies are held to each API's error shape. BigQuery, Cloud Storage and Slack ship no message
 * definitions; their routes are covered by their contract tests.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeFleet } from '../../functions/adapters/compute.js';
import { UptimeReader } from '../../functions/adapters/monitoring.js';
import { VmTagDirectory } from '../../functions/adapters/vm-tags.js';
import { putBudget } from '../../functions/sandbox/routes/billing-budgets.js';
import { bindVmTags } from '../../functions/sandbox/routes/resource-manager.js';
import {
  addCloudRunJob,
  fixtureCloudRunJobs,
  planNextExecution,
} from '../../functions/sandbox/routes/cloud-run.js';
import { loadFixture } from '../support/fixtures.js';
import { conformanceIssues } from '../support/proto-conformance.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

const COMPUTE = '@google-cloud/compute';
const V1 = 'google.cloud.compute.v1';

const REPLY_TYPES: Record<string, [pkg: string, type: string]> = {
  'compute.instances.aggregatedList': [COMPUTE, `${V1}.InstanceAggregatedList`],
  'compute.instances.list': [COMPUTE, `${V1}.InstanceList`],
  'compute.instances.get': [COMPUTE, `${V1}.Instance`],
  'compute.instances.getSerialPortOutput': [COMPUTE, `${V1}.SerialPortOutput`],
  'compute.instances.start': [COMPUTE, `${V1}.Operation`],
  'compute.instances.stop': [COMPUTE, `${V1}.Operation`],
  'compute.instances.setLabels': [COMPUTE, `${V1}.Operation`],
  'compute.instances.setMetadata': [COMPUTE, `${V1}.Operation`],
  'compute.instances.setScheduling': [COMPUTE, `${V1}.Operation`],
  'compute.zoneOperations.get': [COMPUTE, `${V1}.Operation`],
  'compute.zoneOperations.wait': [COMPUTE, `${V1}.Operation`],
  'compute.zoneOperations.list': [COMPUTE, `${V1}.OperationList`],
  'compute.machineTypes.get': [COMPUTE, `${V1}.MachineType`],
  'compute.machineTypes.list': [COMPUTE, `${V1}.MachineTypeList`],
  'compute.machineTypes.aggregatedList': [COMPUTE, `${V1}.MachineTypeAggregatedList`],
  'monitoring.timeSeries.list': [
    '@google-cloud/monitoring',
    'google.monitoring.v3.ListTimeSeriesResponse',
  ],
  'billingCatalog.skus.list': ['@google-cloud/billing', 'google.cloud.billing.v1.ListSkusResponse'],
  'billingbudgets.budgets.get': [
    '@google-cloud/billing-budgets',
    'google.cloud.billing.budgets.v1.Budget',
  ],
  'billingbudgets.budgets.list': [
    '@google-cloud/billing-budgets',
    'google.cloud.billing.budgets.v1.ListBudgetsResponse',
  ],
  'resourcemanager.projects.get': [
    '@google-cloud/resource-manager',
    'google.cloud.resourcemanager.v3.Project',
  ],
  'resourcemanager.effectiveTags.list': [
    '@google-cloud/resource-manager',
    'google.cloud.resourcemanager.v3.ListEffectiveTagsResponse',
  ],
  'run.jobs.run': ['@google-cloud/run', 'google.longrunning.Operation'],
  'run.executions.get': ['@google-cloud/run', 'google.cloud.run.v2.Execution'],
  'run.executions.list': ['@google-cloud/run', 'google.cloud.run.v2.ListExecutionsResponse'],
  'run.executions.cancel': ['@google-cloud/run', 'google.longrunning.Operation'],
  'run.tasks.list': ['@google-cloud/run', 'google.cloud.run.v2.ListTasksResponse'],
  'run.operations.get': ['@google-cloud/run', 'google.longrunning.Operation'],
};

const APIARY_ERROR_KEYS = new Set(['code', 'message', 'errors']);
const APIARY_ITEM_KEYS = new Set(['message', 'domain', 'reason', 'location', 'locationType']);
const ONE_PLATFORM_ERROR_KEYS = new Set(['code', 'message', 'status', 'details']);

describe('sandbox replies against the client libraries’ message definitions', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    sandbox.settings.keepReplies = true;
    runtime = sandboxRuntime(sandbox);
    putBudget(sandbox, loadFixture<Record<string, unknown>>('budget/get-budget.json'));
    for (const job of fixtureCloudRunJobs()) addCloudRunJob(sandbox, job);
    await driveEveryRoute();
  }, 60_000);
  afterAll(() => sandbox.close());

  /** Calls every Google route through the real clients, errors and partial answers included. */
  async function driveEveryRoute(): Promise<void> {
    const { clients, logger } = runtime;
    const fleet = new ComputeFleet(
      { instances: () => clients.instances(), zoneOperations: () => clients.zoneOperations() },
      { logger, retry: { baseDelayMs: 1, attempts: 1, rateLimitAttempts: 1 } },
    );
    const p = 'ml-training-prod';
    const b = { project: p, zone: 'us-central1-b' };
    sandbox.settings.operationSeconds = 30;
    sandbox.faults.set('compute.instances.aggregatedList', {
      unreachable: { zones: ['us-central1-c'] },
    });
    await fleet.listing(p, undefined, 3);
    sandbox.faults.clear();
    const instances = await clients.instances();
    for await (const vm of instances.listAsync({ ...b, maxResults: 2 }, { autoPaginate: false }))
      void vm;
    const raw = await fleet.read({ ...b, name: 'batch-n2-1' });
    await fleet.updateLabels({ ...b, name: 'batch-n2-1' }, (l) => ({ ...l, team: 'ml' }));
    await fleet.mergeMetadata(
      { ...b, name: 'batch-n2-1' },
      (m) => new Map([...m, ['k', 'v']]),
      raw!,
    );
    await fleet.stop({ ...b, name: 'batch-n2-1' }, '0b7c9d3e-6666-4aaa-8bbb-000000000001');
    await fleet.limitRunTime(
      raw!,
      { maxRunSeconds: 3600, terminationAction: 'STOP' },
      '0b7c9d3e-6666-4aaa-8bbb-000000000002',
    );
    await fleet.start({ ...b, name: 'batch-n2-1' }, '0b7c9d3e-6666-4aaa-8bbb-000000000003');
    await instances.getSerialPortOutput({ ...b, instance: 'batch-n2-1', port: 1, start: 0 });
    await fleet.stopAll(
      ['batch-n2-2', 'custom-ext-1', 'legacy-preempt-1'].map((name, i) => ({
        ref: { ...b, name },
        requestId: `0b7c9d3e-6666-4aaa-8bbb-00000000001${i}`,
      })),
      { requests: 3 },
    );
    const operations = await clients.zoneOperations();
    const [ops] = await operations.list({ ...b, maxResults: 1 }, { autoPaginate: false });
    await operations.get({ ...b, operation: ops[0]?.name ?? '' });
    // Errors: not found, a lost fingerprint race, a rate limit.
    await instances.get({ ...b, instance: 'no-such-vm' }).catch(() => undefined);
    await instances
      .setLabels({
        ...b,
        instance: 'batch-n2-2',
        instancesSetLabelsRequestResource: { labels: {}, labelFingerprint: 'stale' },
      })
      .catch(() => undefined);
    sandbox.faults.set('compute.instances.get', {
      fail: { count: 1, status: 403, reason: 'rateLimitExceeded' },
    });
    await instances.get({ ...b, instance: 'batch-n2-2' }).catch(() => undefined);
    const types = await clients.machineTypes();
    await types.get({ ...b, machineType: 'n2-standard-4' });
    await types.list({ ...b, maxResults: 5 }, { autoPaginate: false });
    for await (const t of types.aggregatedListAsync({ project: p, maxResults: 400 })) void t;

    sandbox.clock.advance(3 * 3_600_000);
    const start = new Date(
      Math.floor(sandbox.clock.nowMs() / 3_600_000) * 3_600_000 - 2 * 3_600_000,
    );
    await new UptimeReader(() => clients.metrics(), { logger, pageSize: 5 }).hourly(
      p,
      start,
      new Date(start.getTime() + 2 * 3_600_000),
    );
    const catalog = await clients.catalog();
    await catalog.listSkus(
      { parent: 'services/6F81-5844-456A', pageSize: 50 },
      { autoPaginate: false },
    );
    await catalog.listSkus(
      { parent: 'services/6F81-5844-456A', pageSize: 50, currencyCode: 'EUR' },
      { autoPaginate: false },
    );
    const budgets = await clients.budgets();
    const [budget] = await budgets.getBudget({
      name: 'billingAccounts/01D4EE-079462-DFD6EC/budgets/de72f49d-779b-4945-a127-4d6ce8def0bb',
    });
    await budgets.listBudgets(
      { parent: 'billingAccounts/01D4EE-079462-DFD6EC' },
      { autoPaginate: false },
    );
    void budget;
    const projects = await clients.projects();
    await projects.getProject({ name: 'projects/481516234201' });
    await projects.getProject({ name: 'projects/no-such-project' }).catch(() => undefined);
    // Tags bound to a VM, read through the port, and a VM that does not exist.
    bindVmTags(sandbox, { ...b, name: 'batch-n2-2' }, { 'costguard-priority': 'critical' });
    const tagged = await fleet.read({ ...b, name: 'batch-n2-2' });
    const tags = new VmTagDirectory((zone) => clients.tagBindings(zone), {
      logger,
      retry: { baseDelayMs: 1, attempts: 1, rateLimitAttempts: 1 },
    });
    await tags.tagsOf([tagged!.vm, { ...tagged!.vm, id: '1' }]);

    const job = fixtureCloudRunJobs()[0]!;
    const jobName = `projects/${job.project}/locations/${job.region}/jobs/${job.name}`;
    const jobs = await clients.runJobs();
    // The task's first attempt fails and is retried: its tasks carry retried and lastAttemptResult.
    planNextExecution(sandbox, jobName, {
      outcome: 'succeed',
      durationSeconds: 60,
      failedAttempts: 1,
    });
    const [operation] = await jobs.runJob({ name: jobName });
    sandbox.clock.advance(90_000);
    await jobs.checkRunJobProgress(operation.name ?? '');
    const executions = await clients.runExecutions();
    const [listed] = await executions.listExecutions({ parent: jobName }, { autoPaginate: false });
    const execution = listed[0]?.name ?? '';
    await executions.getExecution({ name: execution });
    const tasks = await clients.runTasks();
    await tasks.listTasks({ parent: execution }, { autoPaginate: false });
    await executions.cancelExecution({ name: execution });
  }

  it('fails on a field the real API does not have, a wrong type and an unknown enum name', () => {
    expect(
      conformanceIssues(COMPUTE, `${V1}.Operation`, {
        status: 'FINISHED',
        progress: '12',
        zone: 'z',
        grpcStatus: 'OK',
        error: { errors: [{ code: 'X', reasons: [] }] },
      }),
    ).toEqual([
      'Operation.status: "FINISHED" is not a value of .google.cloud.compute.v1.Operation.Status',
      'Operation.progress: expected an integer, got "12"',
      'Operation.grpcStatus: google.cloud.compute.v1.Operation has no field grpcStatus',
      'Operation.error.errors[0].reasons: google.cloud.compute.v1.Errors has no field reasons',
    ]);
  });

  it('has called every Google API route the sandbox serves', () => {
    const seen = new Set(sandbox.replies.map((r) => r.route));
    expect(Object.keys(REPLY_TYPES).filter((route) => !seen.has(route))).toEqual([]);
  });

  it.each(Object.keys(REPLY_TYPES))('%s answers only fields the real API has', (route) => {
    const [pkg, type] = REPLY_TYPES[route]!;
    const replies = sandbox.replies.filter((r) => r.route === route && r.status < 400);
    expect(replies.length).toBeGreaterThan(0);
    const issues = replies.flatMap((r) => conformanceIssues(pkg, type, r.body));
    expect([...new Set(issues)]).toEqual([]);
  });

  it('answers errors in each API’s own shape: Compute without a status, the newer APIs with one', () => {
    const errors = sandbox.replies.filter((r) => r.status >= 400 && REPLY_TYPES[r.route]);
    expect(errors.map((r) => [r.route, r.status])).toEqual(
      expect.arrayContaining([
        ['compute.instances.get', 404],
        ['compute.instances.setLabels', 412],
        ['compute.instances.get', 403],
        ['resourcemanager.projects.get', 403],
        ['resourcemanager.effectiveTags.list', 403],
      ]),
    );
    const issues: string[] = [];
    for (const { route, body } of errors) {
      const error = (body as { error: Record<string, unknown> }).error;
      const apiary = route.startsWith('compute.');
      const allowed = apiary ? APIARY_ERROR_KEYS : ONE_PLATFORM_ERROR_KEYS;
      for (const key of Object.keys(error)) if (!allowed.has(key)) issues.push(`${route}: ${key}`);
      if (apiary) {
        for (const item of error.errors as Array<Record<string, unknown>>) {
          for (const key of Object.keys(item))
            if (!APIARY_ITEM_KEYS.has(key)) issues.push(`${route}: errors[].${key}`);
        }
      } else {
        // The HTTP form of google.rpc.Status adds the code's name as `status`.
        const status = Object.fromEntries(Object.entries(error).filter(([k]) => k !== 'status'));
        const decoded = conformanceIssues('@google-cloud/run', 'google.rpc.Status', status);
        issues.push(...decoded.map((i) => `${route}: ${i}`));
      }
    }
    expect(issues).toEqual([]);
  });
});

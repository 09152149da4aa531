/**
 * Compute as it behaves at the edge, through the real client and the sandbox: rate limits as
 * 403 with a reason, operations that return PENDING, waits that return at once, operations that
 * fail or never finish, and zones an aggregatedList cannot reach. One sandbox for the file.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ComputeFleet, OperationNotConfirmedError } from '../../functions/adapters/compute.js';
import { RateBudget } from '../../functions/core/concurrency.js';
import {
  errorReasons,
  httpStatusOf,
  isRateLimited,
  isTransient,
  PermanentError,
  TransientError,
} from '../../functions/core/errors.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

const B = { project: 'ml-training-prod', zone: 'us-central1-b' } as const;

describe('Compute at the edge', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    runtime = sandboxRuntime(sandbox);
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.faults.clear();
    sandbox.settings.operationSeconds = 0;
    sandbox.calls.length = 0;
  });

  const fleet = (options: Partial<ConstructorParameters<typeof ComputeFleet>[1]> = {}) =>
    new ComputeFleet(
      {
        instances: () => runtime.clients.instances(),
        zoneOperations: () => runtime.clients.zoneOperations(),
      },
      {
        logger: runtime.logger,
        retry: { baseDelayMs: 1 },
        now: () => sandbox.clock.nowMs(),
        sleep: (ms) => sandbox.clock.sleep(ms),
        ...options,
      },
    );

  /** The error the real client throws for a sandbox reply, as the adapters see it. */
  async function errorFor(status: number, reason?: string): Promise<unknown> {
    sandbox.faults.set('compute.instances.get', { fail: { count: 1, status, reason } });
    const client = await runtime.clients.instances();
    return client.get({ ...B, instance: 'batch-n2-1' }).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it.each([
    { status: 403, reason: 'rateLimitExceeded', transient: true },
    { status: 403, reason: 'userRateLimitExceeded', transient: true },
    { status: 403, reason: 'RESOURCE_OPERATION_RATE_EXCEEDED', transient: true },
    { status: 403, reason: 'forbidden', transient: false },
    { status: 403, reason: 'accessNotConfigured', transient: false },
    { status: 429, reason: undefined, transient: true },
    { status: 500, reason: undefined, transient: true },
    { status: 503, reason: undefined, transient: true },
    { status: 400, reason: undefined, transient: false },
    { status: 404, reason: undefined, transient: false },
    { status: 412, reason: undefined, transient: false },
    { status: 409, reason: 'alreadyExists', transient: false },
  ])(
    'a Compute $status $reason through the real client is transient: $transient',
    async ({ status, reason, transient }) => {
      const error = await errorFor(status, reason);
      expect(error).toBeDefined();
      expect(errorReasons(error)).toContain(reason ?? errorReasons(error)[0]);
      expect(isTransient(error)).toBe(transient);
    },
  );

  it('answers errors as Compute does: code, message, errors[] and no status', async () => {
    sandbox.faults.set('compute.instances.get', {
      fail: { count: 1, status: 403, reason: 'rateLimitExceeded' },
    });
    const response = await fetch(
      `${sandbox.url}/compute/v1/projects/${B.project}/zones/${B.zone}/instances/batch-n2-1`,
    );
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: {
        code: 403,
        message: 'Rate Limit Exceeded',
        errors: [
          { message: 'Rate Limit Exceeded', domain: 'usageLimits', reason: 'rateLimitExceeded' },
        ],
      },
    });
  });

  it('classifies errors the other libraries raise, and rate limits of every spelling', () => {
    expect(isRateLimited({ code: 403, errors: [{ reason: 'rateLimitExceeded' }] })).toBe(true);
    expect(isRateLimited({ response: { status: 429 } })).toBe(true);
    expect(isRateLimited({ code: 7, reason: 'RATE_LIMIT_EXCEEDED' })).toBe(true);
    expect(isTransient({ code: 403, errors: [{ reason: 'quotaExceeded' }] })).toBe(false);
    expect(isTransient(new TransientError('x'))).toBe(true);
    expect(isTransient(new PermanentError('x'))).toBe(false);
  });

  it('retries a storm of 403 rate limits until the stop goes through, and stops once', async () => {
    sandbox.faults.set('compute.instances.stop', {
      fail: { count: 6, status: 403, reason: 'rateLimitExceeded' },
    });
    await fleet().stop({ ...B, name: 'batch-n2-1' }, '0b7c9d3e-4444-4aaa-8bbb-000000000001');
    const stops = sandbox.calls.filter((c) => c.route === 'compute.instances.stop');
    expect(stops.map((c) => c.status)).toEqual([403, 403, 403, 403, 403, 403, 200]);
    expect(sandbox.fleet.operations.filter((o) => o.targetName === 'batch-n2-1')).toHaveLength(1);
    expect(sandbox.fleet.get(B.project, B.zone, 'batch-n2-1')?.status).toBe('TERMINATED');
  });

  it('polls with backoff when wait returns at once, until the operation is DONE', async () => {
    sandbox.settings.operationSeconds = 20;
    sandbox.faults.set('compute.zoneOperations.wait', { earlyWait: {} });
    const started = sandbox.clock.nowMs();
    await fleet({ pollDelayMs: 2_000 }).stop(
      { ...B, name: 'batch-n2-2' },
      '0b7c9d3e-4444-4aaa-8bbb-000000000002',
    );
    const waits = sandbox.calls.filter((c) => c.route === 'compute.zoneOperations.wait');
    // Waits at 0, 2, 6 and 14 s find it RUNNING; the pause doubles up to 15 s, so the fifth
    // wait, at 29 s, finds it DONE.
    expect(waits).toHaveLength(5);
    expect(sandbox.clock.nowMs() - started).toBeGreaterThanOrEqual(20_000);
    expect(sandbox.fleet.get(B.project, B.zone, 'batch-n2-2')?.status).toBe('TERMINATED');
  });

  it('leaves a stop that never finishes unconfirmed, and reports a failed operation', async () => {
    sandbox.faults.set('compute.instances.stop', { operation: { count: 1, stuck: true } });
    const stuck = fleet({ operationTimeoutMs: 600_000 }).stop(
      { ...B, name: 'legacy-preempt-1' },
      '0b7c9d3e-4444-4aaa-8bbb-000000000003',
    );
    await expect(stuck).rejects.toBeInstanceOf(OperationNotConfirmedError);
    await expect(stuck).rejects.toThrow(/still RUNNING; its outcome is unconfirmed/);
    expect(sandbox.fleet.get(B.project, B.zone, 'legacy-preempt-1')?.status).toBe('STOPPING');

    sandbox.faults.set('compute.instances.stop', {
      operation: { count: 1, error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } },
    });
    sandbox.faults.set('compute.instances.start', {
      operation: {
        count: 1,
        error: { code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message: 'No capacity.' },
      },
    });
    const failedStop = fleet().stop(
      { ...B, name: 'custom-ext-1' },
      '0b7c9d3e-4444-4aaa-8bbb-000000000004',
    );
    await expect(failedStop).rejects.toThrow(
      'Operation stop on custom-ext-1 failed: INTERNAL_ERROR: Internal error.',
    );
    await expect(failedStop).rejects.toBeInstanceOf(TransientError);
    expect(sandbox.fleet.get(B.project, B.zone, 'custom-ext-1')?.status).toBe('RUNNING');
  });

  it('confirms many operations of a zone with one wait and one list per round, within the concurrency', async () => {
    sandbox.settings.operationSeconds = 30;
    const vms = ['trainer-a100-1', 'trainer-l4-1', 'web-e2-small'];
    const targets = vms.map((name, i) => ({
      ref: { project: B.project, zone: 'us-central1-a', name },
      requestId: `0b7c9d3e-5555-4aaa-8bbb-00000000000${i}`,
    }));
    const f = fleet({ concurrency: 2 });
    const outcomes = await f.stopAll(targets, { requests: 2 });
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const routes = sandbox.calls.map((c) => c.route);
    expect(routes.filter((r) => r === 'compute.zoneOperations.wait')).toHaveLength(1);
    expect(routes.filter((r) => r === 'compute.zoneOperations.list')).toHaveLength(1);
    expect(f.stats().peakTotal).toBeLessThanOrEqual(2);
    for (const name of vms)
      expect(sandbox.fleet.get(B.project, 'us-central1-a', name)?.status).toBe('TERMINATED');
  });

  it('reads each VM, handed over as its JSON, as its listing describes it, and a missing one as gone', async () => {
    // Prepare
    const projects = ['ml-training-prod', 'data-pipelines'];
    const listed = (await Promise.all(projects.map((p) => fleet().listAll(p)))).flat();
    // Act
    const read = await Promise.all(listed.map((vm) => fleet().get(vm)));
    const missing = await fleet().get({ ...B, name: 'no-such-vm' });
    // Assess
    expect(listed.length).toBeGreaterThan(5);
    expect(read).toEqual(listed);
    expect(listed.some((vm) => vm.gpus.length > 0 && vm.createdAt !== undefined)).toBe(true);
    expect(missing).toBeUndefined();
  });

  it('reports the zones an aggregatedList could not reach instead of dropping them', async () => {
    sandbox.faults.set('compute.instances.aggregatedList', {
      unreachable: { zones: ['us-central1-b'] },
    });
    const listing = await fleet().listing('ml-training-prod');
    expect(listing.gaps).toEqual([
      { zone: 'us-central1-b', code: 'UNREACHABLE', message: 'zones/us-central1-b is unreachable' },
    ]);
    expect(listing.vms.map((vm) => vm.zone)).not.toContain('us-central1-b');
    expect(listing.vms.length).toBeGreaterThan(0);
  });

  it('paces writes to the per-minute budget: a storm slows down instead of failing', async () => {
    let now = 0;
    const slept: number[] = [];
    const budget = new RateBudget(60, {
      burst: 2,
      now: () => now,
      sleep: (ms) => {
        slept.push(ms);
        now += ms;
        return Promise.resolve();
      },
    });
    for (let i = 0; i < 5; i++) await budget.take();
    // Two from the burst, then one a second.
    expect(slept).toEqual([1_000, 1_000, 1_000]);
    expect(now).toBe(3_000);
  });

  describe('stops sent straight to its REST API', () => {
    const restFleet = () =>
      new ComputeFleet(
        {
          instances: () => runtime.clients.instances(),
          zoneOperations: () => runtime.clients.zoneOperations(),
          rest: () => runtime.clients.computeRest(),
        },
        {
          logger: runtime.logger,
          retry: { baseDelayMs: 1 },
          now: () => sandbox.clock.nowMs(),
          sleep: (ms) => sandbox.clock.sleep(ms),
        },
      );

    it.each([
      { status: 403, reason: 'rateLimitExceeded' },
      { status: 403, reason: 'RESOURCE_OPERATION_RATE_EXCEEDED' },
      { status: 403, reason: 'forbidden' },
      { status: 429, reason: undefined },
      { status: 503, reason: undefined },
      { status: 400, reason: undefined },
      { status: 404, reason: undefined },
      { status: 409, reason: 'alreadyExists' },
    ])(
      'a $status $reason is the error the real client raises, as the adapters judge it',
      async ({ status, reason }) => {
        // Prepare
        const viaClient = await errorFor(status, reason);
        sandbox.faults.set('compute.instances.stop', { fail: { count: 1, status, reason } });
        const rest = await runtime.clients.computeRest();
        // Act
        const viaRest = await rest
          .post(`projects/${B.project}/zones/${B.zone}/instances/batch-n2-1/stop`, {
            requestId: '0b7c9d3e-5555-4aaa-8bbb-000000000001',
          })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        // Assess
        expect(viaRest).toMatchObject({ code: status });
        expect({
          status: httpStatusOf(viaRest),
          reasons: errorReasons(viaRest),
          transient: isTransient(viaRest),
          rateLimited: isRateLimited(viaRest),
        }).toEqual({
          status: httpStatusOf(viaClient),
          reasons: errorReasons(viaClient),
          transient: isTransient(viaClient),
          rateLimited: isRateLimited(viaClient),
        });
      },
    );

    it('stops every VM once through rate limits, confirms each, and reports a missing one', async () => {
      // Prepare
      sandbox.settings.operationSeconds = 30;
      sandbox.faults.set('compute.instances.stop', {
        fail: { count: 3, status: 403, reason: 'rateLimitExceeded' },
      });
      const A = { project: B.project, zone: 'us-central1-a' };
      const names = ['trainer-a100-1', 'no-such-vm', 'trainer-l4-1'];
      const targets = names.map((name, i) => ({
        ref: { ...A, name },
        requestId: `0b7c9d3e-6666-4aaa-8bbb-00000000000${i}`,
      }));
      // Act
      const outcomes = await restFleet().stopAll(targets, { requests: 2 });
      const again = await restFleet().stopAll([targets[0] as (typeof targets)[number]], {
        requests: 1,
      });
      // Assess
      expect(
        outcomes.map((o) => (o.status === 'fulfilled' ? 'stopped' : httpStatusOf(o.reason))),
      ).toEqual(['stopped', 404, 'stopped']);
      expect(again.map((o) => o.status)).toEqual(['fulfilled']);
      for (const { ref, requestId } of [targets[0], targets[2]] as typeof targets) {
        expect(sandbox.fleet.get(A.project, A.zone, ref.name)?.status).toBe('TERMINATED');
        expect(sandbox.fleet.operations.filter((o) => o.requestId === requestId)).toHaveLength(1);
      }
      const stops = sandbox.calls.filter((c) => c.route === 'compute.instances.stop');
      expect(stops.filter((c) => c.status === 403)).toHaveLength(3);
      expect(sandbox.calls.every((c) => !c.authorization)).toBe(true);
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPreemptionRecorderFor,
  buildRecordPreemption,
} from '../../functions/preemptions/entry.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { loggingState, settleDeliveries } from '../../functions/sandbox/routes/logging.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { spotPrices } from '../support/stand-ins.js';
import { queryLedger } from '../recorder/recorder-sandbox.js';
import { recorderLedger } from '../recorder/recorder-ledger.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// recordPreemption against the sandbox: a Spot VM preempted with Compute's 30 s notice, its
// system event pushed through the Logging sink to the function, the preemptions row that lands;
// a redelivery and Compute's zone operation (the hourly backstop) add nothing; a preemption the
// event missed is filled in by the backstop; a bad event changes nothing.

const ENV = { COSTGUARD_PROJECTS: 'ml-training-prod', COSTGUARD_DATASET: 'costguard' };
const prices = spotPrices({ 'n2-standard-8': 0.08, 'c3-standard-8': 0.1 });

let sandbox: Sandbox;
let runtime: ReturnType<typeof sandboxRuntime>;
let target: ServedTarget;

async function post(body: unknown): Promise<number> {
  const response = await fetch(
    `${target.url}projects/ml-training-prod/topics/costguard-preemptions`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    },
  );
  return response.status;
}

async function preempt(zone: string, name: string, project = 'ml-training-prod'): Promise<string> {
  const response = await fetch(`${sandbox.url}/_sandbox/compute/preempt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ project, zone, name }),
  });
  const body = (await response.json()) as { operation: string; status: string };
  expect(body.status).toBe('STOPPING');
  sandbox.clock.advance(30_000);
  await settleDeliveries(sandbox);
  return body.operation;
}

const rows = () =>
  queryLedger(
    sandbox,
    `SELECT preemption_key, instance_name, machine_type, provisioning_model, team,
       CAST(preempted_at AS STRING) AS preempted_at, CAST(running_since AS STRING) AS running_since,
       lost_seconds, CAST(lost_cost AS STRING) AS lost_cost, currency, seen_by, operation_id
     FROM costguard.preemptions ORDER BY preempted_at`,
  );

beforeAll(async () => {
  sandbox = await startTestSandbox();
  runtime = sandboxRuntime(sandbox, ENV);
  await recorderLedger(runtime).migrate();
  target = await serveTarget('recordPreemptionTest', {
    kind: 'event',
    handler: await buildRecordPreemption(runtime, { prices }),
  });
  loggingState(sandbox).sinks.set('costguard-preemptions', {
    pushEndpoint: target.url,
    topic: 'costguard-preemptions',
  });
  // Three hours and twelve minutes of work before the preemption.
  sandbox.clock.advance((3 * 3600 + 12 * 60) * 1000);
});

afterAll(async () => {
  await target.close();
  await sandbox.close();
});

describe('recordPreemption', () => {
  it('records a preemption delivered through the Logging sink, priced for the run time it cut short', async () => {
    const operation = await preempt('us-central1-b', 'batch-n2-1');

    const vm = sandbox.fleet.all().find((v) => v.name === 'batch-n2-1')!;
    expect(vm.status).toBe('TERMINATED');
    expect(loggingState(sandbox).deliveries.map((d) => d.status)).toEqual([204]);
    expect(await rows()).toEqual([
      {
        preemption_key: `ml-training-prod/us-central1-b/${vm.id}/${operation}`,
        instance_name: 'batch-n2-1',
        machine_type: 'n2-standard-8',
        provisioning_model: 'SPOT',
        team: 'data',
        preempted_at: expect.stringMatching(/^2026-11-20 03:12:00/),
        running_since: expect.stringMatching(/^2026-11-20 00:00:00/),
        lost_seconds: 11_520,
        // 3 h 12 m at 0.08 USD an hour
        lost_cost: '0.256000000',
        currency: 'USD',
        seen_by: 'event',
        operation_id: operation,
      },
    ]);
  });

  it('changes nothing when the same event is delivered again', async () => {
    const [entry] = loggingState(sandbox).entries;
    const { sinkPushBody } = await import('../../functions/sandbox/routes/logging.js');

    expect(await post(sinkPushBody(entry!, 'ml-training-prod', 'costguard-preemptions'))).toBe(204);
    expect(await rows()).toHaveLength(1);
  });

  it('acknowledges a malformed event and records nothing', async () => {
    const status = await post({ message: { data: Buffer.from('{}').toString('base64') } });

    expect(status).toBe(204);
    expect(await rows()).toHaveLength(1);
    expect(
      runtime.logger.entries.some((e) => e.message === 'Event failed permanently; acknowledged'),
    ).toBe(true);
  });

  it('fills in a preemption the event missed from the zone operations, once, and not the recorded one again', async () => {
    loggingState(sandbox).sinks.clear();
    const missed = await preempt('us-central1-b', 'batch-n2-2');
    const backstop = createPreemptionRecorderFor(
      runtime,
      readConfig(commonSettings, runtime.env),
      prices,
    );

    const first = await backstop.sweep(new Date('2026-11-20T00:00:00Z'));
    const second = await backstop.sweep(new Date('2026-11-20T00:00:00Z'));

    expect(first).toMatchObject({ seen: 2, repeats: 1, failedProjects: [] });
    expect(first.recorded).toEqual([expect.stringContaining(missed)]);
    expect(second).toMatchObject({ seen: 2, repeats: 2, recorded: [] });
    expect((await rows()).map((r) => [r.instance_name, r.seen_by])).toEqual([
      ['batch-n2-1', 'event'],
      ['batch-n2-2', 'zone-operation'],
    ]);
    const aggregated = sandbox.calls.filter(
      (c) => c.route === 'compute.globalOperations.aggregatedList',
    );
    // One filtered list per governed project and sweep.
    expect(aggregated).toHaveLength(2);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchVmState } from '../../functions/sandbox/batch-vm.js';
import { getObject } from '../../functions/sandbox/routes/storage.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The simulated batch VM on its own: it plays the startup script's part when a VM boots with
// the run keys, and its plan is set through the sandbox's control API.
const RUN_ID = 'run-0a1b2c3d4e5f60718293';

describe('the simulated batch VM', () => {
  let sandbox: Sandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox('fleets/runs.json');
  });
  afterEach(() => sandbox.close());

  const vm = () => sandbox.fleet.get('data-pipelines', 'us-east1-b', 'batch-runner')!;
  const boot = (keys: Record<string, string>) => {
    vm().metadata.push(...Object.entries(keys).map(([key, value]) => ({ key, value })));
    sandbox.fleet.start(vm());
  };
  const control = (path: string, body?: unknown) =>
    fetch(`${sandbox.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('is told through the control API to be preempted, and is', async () => {
    const planned = await control(
      '/_sandbox/batch-vm/data-pipelines/us-east1-b/batch-runner/plan',
      {
        outcome: 'preempt',
        afterSeconds: 120,
      },
    );
    boot({
      'costguard-run-id': RUN_ID,
      'costguard-target': 'all',
      'costguard-results-prefix': `gs://results-bucket/results/${RUN_ID}/`,
    });
    sandbox.clock.advance(121_000);

    // Compute's 30 s notice: the guest is shutting down, then the VM is TERMINATED.
    expect(planned.status).toBe(201);
    expect(vm().status).toBe('STOPPING');
    sandbox.clock.advance(30_000);
    expect(vm().status).toBe('TERMINATED');
    expect(sandbox.fleet.operations.map((o) => o.operationType)).toEqual([
      'compute.instances.preempted',
    ]);
    expect(getObject(sandbox, 'results-bucket', `results/${RUN_ID}/_SUCCESS`)).toBeUndefined();
    const runs = (await (await control('/_sandbox/batch-vm/runs')).json()) as {
      runs: Array<{ outcome: string }>;
    };
    expect(runs.runs.map((r) => r.outcome)).toEqual(['preempted']);
  });

  it('refuses a target the script would refuse, leaving its error marker and the keys as they are', () => {
    boot({
      'costguard-run-id': RUN_ID,
      'costguard-target': '--eval=$(shell id)',
      'costguard-results-prefix': `gs://results-bucket/results/${RUN_ID}/`,
    });
    const keysAtBoot = vm().metadata.map((i) => i.key);
    sandbox.clock.advance(60_000);

    expect(keysAtBoot).toContain('costguard-run-id');
    expect(
      getObject(sandbox, 'results-bucket', `results/${RUN_ID}/startup_error.txt`)?.data.toString(),
    ).toMatch(/does not match the allowed pattern/);
    expect(vm().status).toBe('TERMINATED');
    expect(batchVmState(sandbox).runs.map((r) => r.outcome)).toEqual(['rejected']);
  });

  it('prints its console over time to serial port 1, read with the Compute client from an offset', async () => {
    // Prepare
    const instances = await sandboxRuntime(sandbox).clients.instances();
    const read = async (start: number) => {
      const [output] = await instances.getSerialPortOutput({
        project: 'data-pipelines',
        zone: 'us-east1-b',
        instance: 'batch-runner',
        port: 1,
        start,
      });
      return {
        contents: output.contents ?? '',
        next: Number(output.next),
        start: Number(output.start),
      };
    };
    await control('/_sandbox/batch-vm/data-pipelines/us-east1-b/batch-runner/plan', {
      outcome: 'succeed',
      afterSeconds: 1000,
    });
    vm().metadata.push({ key: 'costguard-telemetry-interval', value: '100' });

    // Act
    boot({
      'costguard-run-id': RUN_ID,
      'costguard-target': 'all',
      'costguard-results-prefix': `gs://results-bucket/results/${RUN_ID}/`,
    });
    sandbox.clock.advance(250_000);
    const early = await read(0);
    sandbox.clock.advance(800_000);
    const rest = await read(early.next);

    // Assess
    expect(early.contents).toContain(`[costguard] run ${RUN_ID} target all`);
    expect(early.contents).toMatch(/\[timer\] apt 50s/);
    expect(early.contents.match(/\[vmstat\]/g)).toHaveLength(2);
    expect(early.contents).not.toContain('[timer] total');
    expect(rest.start).toBe(early.next);
    expect(rest.contents.match(/\[mpstat\]/g)).toHaveLength(8);
    expect(rest.contents).toContain('[timer] make 840s');
    expect(rest.contents).toContain('[timer] total 1000s');
    expect(rest.next).toBe(early.next + Buffer.byteLength(rest.contents));
    expect(
      JSON.parse(
        getObject(sandbox, 'results-bucket', `results/${RUN_ID}/timings.json`)!.data.toString(),
      ),
    ).toEqual({
      fetch: 10,
      apt: 50,
      pip: 100,
      make: 840,
      upload: 0,
      total: 1000,
    });
    const detail = getObject(
      sandbox,
      'results-bucket',
      `results/${RUN_ID}/startup_detail.log`,
    )!.data.toString();
    expect(detail).toContain('[apt] (verbose output kept in startup_detail.log)');
    expect(early.contents + rest.contents).not.toContain('[apt] (verbose');
    expect(vm().status).toBe('TERMINATED');
  });

  it('fails as planned: the error on the console, startup_error.txt and build.log uploaded; a new boot starts a new console', async () => {
    const instances = await sandboxRuntime(sandbox).clients.instances();
    await control('/_sandbox/batch-vm/data-pipelines/us-east1-b/batch-runner/plan', {
      outcome: 'fail',
      afterSeconds: 600,
    });
    boot({
      'costguard-run-id': RUN_ID,
      'costguard-target': 'all',
      'costguard-results-prefix': `gs://results-bucket/results/${RUN_ID}/`,
    });
    sandbox.clock.advance(601_000);
    const [failed] = await instances.getSerialPortOutput({
      project: 'data-pipelines',
      zone: 'us-east1-b',
      instance: 'batch-runner',
      port: 1,
      start: 0,
    });
    sandbox.fleet.start(vm());
    const [fresh] = await instances.getSerialPortOutput({
      project: 'data-pipelines',
      zone: 'us-east1-b',
      instance: 'batch-runner',
      port: 1,
      start: 0,
    });

    expect(failed.contents).toContain('[costguard] error: make -- all exited with status 2');
    expect(failed.contents).toContain(
      `[costguard] run ${RUN_ID} finished with exit code 1; shutting down`,
    );
    expect(
      getObject(sandbox, 'results-bucket', `results/${RUN_ID}/startup_error.txt`)?.data.toString(),
    ).toBe('make -- all failed with exit code 2\n');
    expect(
      getObject(sandbox, 'results-bucket', `results/${RUN_ID}/build.log`)?.data.toString(),
    ).toContain('Error 2');
    expect(fresh.contents).toBe('');
    expect(fresh.next).toBe('0');
  });

  it('powers off without running the run again when it boots again with the same keys', () => {
    const keys = {
      'costguard-run-id': RUN_ID,
      'costguard-target': 'all',
      'costguard-results-prefix': `gs://results-bucket/results/${RUN_ID}/`,
      'costguard-claim': `${RUN_ID} 2026-11-20T00:00:00.000Z`,
    };
    boot(keys);
    sandbox.clock.advance(3 * 3600_000);

    sandbox.fleet.start(vm());
    sandbox.clock.advance(60_000);

    expect(vm().status).toBe('TERMINATED');
    expect(batchVmState(sandbox).runs).toHaveLength(1);
  });

  it('does nothing on a boot without run keys', () => {
    sandbox.fleet.start(vm());
    sandbox.clock.advance(24 * 3600_000);

    expect(vm().status).toBe('RUNNING');
    expect(batchVmState(sandbox).runs).toEqual([]);
  });

  it('answers 400 for a plan it does not know', async () => {
    const reply = await control('/_sandbox/batch-vm/data-pipelines/us-east1-b/batch-runner/plan', {
      outcome: 'explode',
    });

    expect(reply.status).toBe(400);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchVmState } from '../../functions/sandbox/batch-vm.js';
import { getObject } from '../../functions/sandbox/routes/storage.js';
import { startTestSandbox, type Sandbox } from '../support/sandbox.js';

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

    expect(planned.status).toBe(201);
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

  it('refuses a target the script would refuse, leaving its error marker, and clears the keys at boot', () => {
    boot({
      'costguard-run-id': RUN_ID,
      'costguard-target': '--eval=$(shell id)',
      'costguard-results-prefix': `gs://results-bucket/results/${RUN_ID}/`,
    });
    const keysAtBoot = vm().metadata.map((i) => i.key);
    sandbox.clock.advance(60_000);

    expect(keysAtBoot).not.toContain('costguard-run-id');
    expect(
      getObject(sandbox, 'results-bucket', `results/${RUN_ID}/startup_error.txt`)?.data.toString(),
    ).toMatch(/does not match the allowed pattern/);
    expect(vm().status).toBe('TERMINATED');
    expect(batchVmState(sandbox).runs.map((r) => r.outcome)).toEqual(['rejected']);
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

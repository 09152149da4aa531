import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { planBatchRun } from '../../functions/sandbox/batch-vm.js';
import type { Sandbox } from '../support/sandbox.js';
import {
  forwardedToken,
  runRows,
  serveTriggerRun,
  startRunsSandbox,
  type RunsApi,
} from '../support/runs.js';

// Who may run what: `reports` names dave and the CI service account as its invokers,
// `nightly-categories` alice, bob, carol and the CI service account. Every route checks the
// verified caller against the pipeline's invokers; a caller without a usable token gets 401.
const DAVE = { authorization: forwardedToken({ email: 'dave@example.com' }) };
const ALICE = { authorization: forwardedToken({ email: 'alice@example.com' }) };
const CI = {
  'x-serverless-authorization': forwardedToken({
    email: 'ci-runner@data-pipelines.iam.gserviceaccount.com',
  }),
};
const REPORTS_VM = { project: 'data-pipelines', zone: 'us-east1-c', name: 'batch-standard' };

describe('triggerRun lets each pipeline be run only by its invokers', () => {
  let sandbox: Sandbox;
  let api: RunsApi;
  let davesRun: string;

  beforeAll(async () => {
    sandbox = await startRunsSandbox();
    api = await serveTriggerRun(sandbox);
    planBatchRun(sandbox, REPORTS_VM, { outcome: 'succeed', afterSeconds: 3600 });
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'reports', target: 'weekly' },
      headers: DAVE,
    });
    // A refused start would leave no run to hide; the tests below would then fail on it.
    davesRun = String(started.body.runId);
  });
  afterAll(async () => {
    await api.close();
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.calls.length = 0;
  });

  const reportsVmStatus = () =>
    sandbox.fleet.get('data-pipelines', 'us-east1-c', 'batch-standard')?.status;

  it("starts the invoker's own run", () => {
    expect(davesRun).toMatch(/^run-[0-9a-f]{20}$/);
    expect(reportsVmStatus()).toBe('RUNNING');
  });

  it('403 to a caller who is not an invoker of the pipeline: nothing starts, nothing is recorded', async () => {
    const rowsBefore = (await runRows(api)).length;

    const reply = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
      headers: DAVE,
    });

    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({
      error: 'You are not an invoker of pipeline nightly-categories',
    });
    expect(sandbox.fleet.get('data-pipelines', 'us-east1-b', 'batch-runner')?.status).toBe(
      'TERMINATED',
    );
    expect((await runRows(api)).length).toBe(rowsBefore);
  });

  it("hides another team's run from reads and cancels: 404, and the run goes on", async () => {
    const read = await api.call('GET', `/runs/${davesRun}`, { headers: ALICE });
    const cancel = await api.call('POST', `/runs/${davesRun}:cancel`, { headers: ALICE });

    expect([read.status, read.body.error]).toEqual([404, 'No such run']);
    expect([cancel.status, cancel.body.error]).toEqual([404, 'No such run']);
    expect(reportsVmStatus()).toBe('RUNNING');
    const own = await api.call('GET', `/runs/${davesRun}`, { headers: DAVE });
    expect([own.status, own.body.status]).toEqual([200, 'RUNNING']);
  });

  it('lists only the runs of pipelines the caller may invoke', async () => {
    const alices = await api.call('GET', '/runs', { headers: ALICE });
    const filtered = await api.call('GET', '/runs?pipeline=reports', { headers: ALICE });
    const daves = await api.call('GET', '/runs', { headers: DAVE });

    expect(alices.status).toBe(200);
    const ids = (body: Record<string, unknown>) =>
      (body.runs as Array<{ runId: string }>).map((r) => r.runId);
    expect(ids(alices.body)).not.toContain(davesRun);
    expect(filtered.status).toBe(403);
    expect(ids(daves.body)).toContain(davesRun);
  });

  it('lets a service account named as invoker read and cancel the run', async () => {
    const read = await api.call('GET', `/runs/${davesRun}`, { headers: CI });
    expect(read.status).toBe(200);

    const cancel = await api.call('POST', `/runs/${davesRun}:cancel`, { headers: CI });

    expect(cancel.status).toBe(202);
    expect(cancel.body.detail).toBe(
      'cancelled by ci-runner@data-pipelines.iam.gserviceaccount.com',
    );
    expect(reportsVmStatus()).not.toBe('RUNNING');
  });

  const routes: Array<{ method: string; path: string; body: unknown }> = [
    { method: 'POST', path: '/runs', body: { pipeline: 'nightly-categories', target: 'all' } },
    { method: 'GET', path: '/runs', body: undefined },
    { method: 'GET', path: '/runs/run-0123456789abcdef0123', body: undefined },
    { method: 'POST', path: '/runs/run-0123456789abcdef0123:cancel', body: undefined },
  ];
  const callers: Array<{ who: string; headers: Record<string, string> }> = [
    { who: 'no token', headers: {} },
    {
      who: 'a token for another audience',
      headers: {
        authorization: forwardedToken({
          email: 'alice@example.com',
          aud: 'https://other.example.com',
        }),
      },
    },
    { who: 'a token with no email', headers: { authorization: forwardedToken({ sub: '1077' }) } },
    { who: 'an access token', headers: { authorization: 'Bearer ya29.a0AfH6SMBx' } },
    { who: 'Basic credentials', headers: { authorization: 'Basic YWxpY2U6cGFzcw==' } },
  ];
  it.each(routes.flatMap((route) => callers.map((caller) => ({ ...route, ...caller }))))(
    '401 for $method $path with $who, before any API call',
    async ({ method, path, headers, body }) => {
      const reply = await api.call(method, path, {
        headers: {
          ...headers,
          ...(Object.keys(headers).length === 0 ? { authorization: '' } : {}),
        },
        ...(body === undefined ? {} : { body }),
      });

      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe('Bearer');
      expect(reply.body).toEqual({ error: 'Call with an identity token issued for this function' });
      expect(sandbox.calls).toEqual([]);
    },
  );
});

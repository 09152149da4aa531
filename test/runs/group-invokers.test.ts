import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GroupMembership } from '../../functions/adapters/cloud-identity.js';
import { mayInvoke, MembershipUnknownError } from '../../functions/runs/authorize.js';
import { planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { setGroupMembers } from '../../functions/sandbox/routes/cloud-identity.js';
import { loadFixture } from '../support/fixtures.js';
import { forwardedToken, runRows, runsEnv, useTriggerRun } from '../support/runs.js';

// `reports` is invoked by the group ml-team@example.com only. erin is in it, frank through the
// nested group ml-leads@example.com, mallory in neither. The real Cloud Identity calls
// (groups:lookup, memberships:checkTransitiveMembership) go to the sandbox.
const REPORTS_VM = { project: 'data-pipelines', zone: 'us-east1-c', name: 'batch-standard' };
const as = (email: string) => ({ authorization: forwardedToken({ email }) });
const ERIN = as('erin@example.com');
const FRANK = as('frank@example.com');
const MALLORY = as('mallory@example.com');
const CHECK = 'cloudidentity.groups.memberships.checkTransitiveMembership';
const LOOKUP = 'cloudidentity.groups.lookup';

function groupPipelines(): Record<string, Record<string, unknown>> {
  const pipelines = loadFixture<Record<string, Record<string, unknown>>>('runs/pipelines.json');
  return {
    ...pipelines,
    reports: { ...pipelines.reports, invokers: ['group:ml-team@example.com'] },
  };
}

describe('triggerRun admits the members of a pipeline group, however nested', () => {
  const runs = useTriggerRun('file', {
    env: runsEnv({ COSTGUARD_PIPELINES: JSON.stringify(groupPipelines()) }),
  });
  let erinsRun: string;

  beforeAll(async () => {
    const members = ['erin@example.com', 'ml-leads@example.com'];
    // One more member per route, each asked for the first time while the API fails.
    for (const route of ['start', 'read', 'list', 'cancel', 'retry']) {
      members.push(`${route}-member@example.com`);
    }
    setGroupMembers(runs.sandbox, 'ml-team@example.com', members);
    setGroupMembers(runs.sandbox, 'ml-leads@example.com', ['frank@example.com']);
    planBatchRun(runs.sandbox, REPORTS_VM, { outcome: 'succeed', afterSeconds: 3600 });
    const started = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'reports', target: 'weekly' },
      headers: ERIN,
    });
    erinsRun = String(started.body.runId);
  });
  beforeEach(() => {
    runs.sandbox.calls.length = 0;
    runs.sandbox.faults.clear();
  });

  const reportsVmStatus = () =>
    runs.sandbox.fleet.get(REPORTS_VM.project, REPORTS_VM.zone, REPORTS_VM.name)?.status;
  const identityCalls = () =>
    runs.sandbox.calls.filter((c) => c.route.startsWith('cloudidentity.'));

  it("starts a direct member's run", () => {
    expect(erinsRun).toMatch(/^run-[0-9a-f]{20}$/);
    expect(reportsVmStatus()).toBe('RUNNING');
  });

  it('lets a member of a nested group read and list the run', async () => {
    const read = await runs.api.call('GET', `/runs/${erinsRun}`, { headers: FRANK });
    const listed = await runs.api.call('GET', '/runs?pipeline=reports', { headers: FRANK });

    expect([read.status, read.body.status]).toEqual([200, 'RUNNING']);
    expect(listed.status).toBe(200);
    expect((listed.body.runs as Array<{ runId: string }>).map((r) => r.runId)).toContain(erinsRun);
  });

  it('keeps an answer for a while: a second request asks Cloud Identity nothing', async () => {
    await runs.api.call('GET', `/runs/${erinsRun}`, { headers: FRANK });

    expect(identityCalls()).toEqual([]);
  });

  it('refuses a caller in no group of the pipeline on every route, and nothing changes', async () => {
    const rowsBefore = (await runRows(runs.api)).length;

    const start = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'reports', target: 'weekly' },
      headers: MALLORY,
    });
    const read = await runs.api.call('GET', `/runs/${erinsRun}`, { headers: MALLORY });
    const filtered = await runs.api.call('GET', '/runs?pipeline=reports', { headers: MALLORY });
    const all = await runs.api.call('GET', '/runs', { headers: MALLORY });
    const cancel = await runs.api.call('POST', `/runs/${erinsRun}:cancel`, { headers: MALLORY });

    expect([start.status, start.body.error]).toEqual([
      403,
      'You are not an invoker of pipeline reports',
    ]);
    expect([read.status, cancel.status, filtered.status]).toEqual([404, 404, 403]);
    expect((all.body.runs as Array<{ runId: string }>).map((r) => r.runId)).not.toContain(erinsRun);
    expect(reportsVmStatus()).toBe('RUNNING');
    expect((await runRows(runs.api)).length).toBe(rowsBefore);
    expect(identityCalls().map((c) => c.route)).toContain(CHECK);
  });

  const failingRoutes: Array<{
    route: string;
    method: string;
    path: (runId: string) => string;
    body?: unknown;
  }> = [
    {
      route: 'start',
      method: 'POST',
      path: () => '/runs',
      body: { pipeline: 'reports', target: 'weekly' },
    },
    { route: 'read', method: 'GET', path: (id) => `/runs/${id}` },
    { route: 'list', method: 'GET', path: () => '/runs?pipeline=reports' },
    { route: 'cancel', method: 'POST', path: (id) => `/runs/${id}:cancel` },
  ];
  it.each(failingRoutes)(
    'refuses $route with 503 when Cloud Identity denies the check: a member is not let through',
    async ({ route, method, path, body }) => {
      runs.sandbox.faults.set(CHECK, {
        fail: { count: 100, status: 403, message: 'Permission denied' },
      });
      const rowsBefore = (await runRows(runs.api)).length;

      const reply = await runs.api.call(method, path(erinsRun), {
        headers: as(`${route}-member@example.com`),
        ...(body === undefined ? {} : { body }),
      });

      expect(reply.status).toBe(503);
      expect(reply.body).toEqual({
        error:
          "The pipeline's invoker groups could not be checked, so nothing was done; retry later",
      });
      expect(reportsVmStatus()).toBe('RUNNING');
      expect((await runRows(runs.api)).length).toBe(rowsBefore);
      // A permission refusal is not retried.
      expect(identityCalls().filter((c) => c.route === CHECK)).toHaveLength(1);
    },
  );

  it('refuses with 503 while the API keeps failing, after retrying it', async () => {
    runs.sandbox.faults.set(LOOKUP, { fail: { count: 100, status: 503 } });
    runs.sandbox.faults.set(CHECK, { fail: { count: 100, status: 503 } });

    const reply = await runs.api.call('GET', `/runs/${erinsRun}`, {
      headers: as('nobody@example.com'),
    });

    expect(reply.status).toBe(503);
    expect(identityCalls().filter((c) => c.status === 503).length).toBeGreaterThan(1);
  });

  it('retries a transient failure and then admits the member', async () => {
    runs.sandbox.faults.set(CHECK, { fail: { count: 2, status: 503 } });

    const reply = await runs.api.call('GET', `/runs/${erinsRun}`, {
      headers: as('retry-member@example.com'),
    });

    expect(reply.status).toBe(200);
    expect(identityCalls().map((c) => c.status)).toEqual([503, 503, 200]);
  });

  it('refuses a member removed from the group once the kept answer is five minutes old', async () => {
    const before = await runs.api.call('GET', `/runs/${erinsRun}`, { headers: FRANK });
    setGroupMembers(runs.sandbox, 'ml-leads@example.com', []);
    const kept = await runs.api.call('GET', `/runs/${erinsRun}`, { headers: FRANK });
    runs.sandbox.clock.advance(5 * 60_000 + 1_000);

    const later = await runs.api.call('GET', `/runs/${erinsRun}`, { headers: FRANK });

    expect([before.status, kept.status, later.status]).toEqual([200, 200, 404]);
    setGroupMembers(runs.sandbox, 'ml-leads@example.com', ['frank@example.com']);
    runs.sandbox.clock.advance(5 * 60_000 + 1_000);
  });

  it('lets a nested member cancel the run', async () => {
    const cancel = await runs.api.call('POST', `/runs/${erinsRun}:cancel`, { headers: FRANK });

    expect([cancel.status, cancel.body.detail]).toEqual([202, 'cancelled by frank@example.com']);
    expect(reportsVmStatus()).not.toBe('RUNNING');
  });
});

describe('mayInvoke', () => {
  /** Groups as a directory answers: members per group; a group listed in `failing` errors. */
  function directory(
    members: Record<string, string[]>,
    failing: string[] = [],
  ): GroupMembership & { asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      isMember(group, member) {
        asked.push(group);
        if (failing.includes(group)) return Promise.reject(new Error('403 Permission denied'));
        return Promise.resolve((members[group] ?? []).includes(member));
      },
    };
  }
  const pipeline = (invokers: string[]) => ({ name: 'reports', invokers });

  it.each([
    {
      case: 'a user named directly, without asking any group',
      invokers: ['user:erin@example.com', 'group:ml-team@example.com'],
      caller: 'erin@example.com',
      failing: ['ml-team@example.com'],
      admitted: true,
      asked: [],
    },
    {
      case: 'a member of the second group',
      invokers: ['group:ops@example.com', 'group:ml-team@example.com'],
      caller: 'frank@example.com',
      failing: [],
      admitted: true,
      asked: ['ops@example.com', 'ml-team@example.com'],
    },
    {
      case: 'a member of a group that answers when another group fails',
      invokers: ['group:ops@example.com', 'group:ml-team@example.com'],
      caller: 'frank@example.com',
      failing: ['ops@example.com'],
      admitted: true,
      asked: ['ops@example.com', 'ml-team@example.com'],
    },
    {
      case: 'a caller in none of the groups',
      invokers: ['serviceAccount:ci@p.iam.gserviceaccount.com', 'group:ml-team@example.com'],
      caller: 'mallory@example.com',
      failing: [],
      admitted: false,
      asked: ['ml-team@example.com'],
    },
  ])('admits $case: $admitted', async ({ invokers, caller, failing, admitted, asked }) => {
    const groups = directory({ 'ml-team@example.com': ['frank@example.com'] }, failing);

    const verdict = await mayInvoke(pipeline(invokers), { email: caller }, groups);

    expect(verdict).toBe(admitted);
    expect(groups.asked).toEqual(asked);
  });

  it('refuses, with the groups it could not ask, when no group admits and one failed', async () => {
    const groups = directory({}, ['ml-team@example.com']);

    const verdict = mayInvoke(
      pipeline(['group:ops@example.com', 'group:ml-team@example.com']),
      { email: 'frank@example.com' },
      groups,
    );

    await expect(verdict).rejects.toBeInstanceOf(MembershipUnknownError);
    await expect(verdict).rejects.toMatchObject({ groups: ['group:ml-team@example.com'] });
  });
});

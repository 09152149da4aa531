import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ledger } from '../../functions/adapters/bigquery.js';
import { TransientError } from '../../functions/core/errors.js';
import { pricedMachineKey } from '../../functions/core/pricing.js';
import { buildEnforceLabels, type LabelEntryOverrides } from '../../functions/labels/entry.js';
import { bindVmTags, ORGANIZATION } from '../../functions/sandbox/routes/resource-manager.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { FIXTURES } from '../support/fixtures.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';
import {
  callsTo,
  fakePrices,
  labelEnv,
  labelLedger,
  labelsOf,
  slackMessages,
  startLabelSandbox,
} from './label-sandbox.js';

// enforceLabels end to end: the Functions Framework, the real Compute, Resource Manager,
// BigQuery and Slack clients, against the sandbox with the label fleet (three projects).
interface ComplianceRow {
  run_id: string;
  instance_name: string;
  project_id: string;
  compliant: boolean;
  exempt: boolean;
  missing_keys: string[];
  invalid_keys: string[];
  fixed_keys: string[];
  action: string;
  action_status: string;
  stop_after: string | null;
  hourly_cost: number | null;
  dry_run: boolean;
  team: string | null;
}

const DAY_MS = 86_400_000;
let served = 0;

describe('enforceLabels', () => {
  let sandbox: Sandbox;
  let ledger: Ledger;
  let target: ServedTarget;
  let runtime: ReturnType<typeof sandboxRuntime>;

  async function start(
    env: Record<string, string> = {},
    overrides: LabelEntryOverrides = {},
  ): Promise<void> {
    runtime = sandboxRuntime(sandbox, labelEnv(env));
    target = await serveTarget(`enforceLabels-${++served}`, {
      kind: 'http',
      handler: await buildEnforceLabels(runtime, { prices: fakePrices, ...overrides }),
    });
  }

  async function sweep(
    body: unknown = {},
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function rows(runId?: string): Promise<ComplianceRow[]> {
    const found = await ledger.query<Record<string, unknown>>(
      `SELECT * FROM \`\${dataset}.label_compliance_checks\`
       ${runId ? 'WHERE run_id = @runId' : ''} ORDER BY checked_at, project_id, instance_name`,
      runId ? { runId } : undefined,
    );
    // NUMERIC arrives as a string and DATE as a BigQueryDate, as from BigQuery itself.
    return found.map((r) => ({
      ...r,
      hourly_cost: r.hourly_cost === null ? null : Number(r.hourly_cost),
      stop_after: (r.stop_after as { value: string } | null)?.value ?? null,
    })) as unknown as ComplianceRow[];
  }

  const byName = (list: ComplianceRow[]): Map<string, ComplianceRow> =>
    new Map(list.map((r) => [r.instance_name, r]));

  beforeEach(async () => {
    sandbox = await startLabelSandbox();
    ledger = labelLedger(sandbox);
    await ledger.migrate();
    fakePrices.asked.length = 0;
  });
  afterEach(async () => {
    await target.close();
    await sandbox.close();
  });

  it('sweeps every project: fixes, marks, un-marks and stops, one row per VM, one digest', async () => {
    // Prepare
    await start();
    // Act
    const reply = await sweep({}, { 'X-CloudScheduler-ScheduleTime': '2026-11-20T00:00:00Z' });
    // Assess: the HTTP caller
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      runId: 'sweep-2026-11-20T00:00:00.000Z',
      dryRun: false,
      failedProjects: [],
      rowsRecorded: 11,
      digestPosted: true,
      counts: {
        checked: 11,
        exempt: 1,
        compliant: 3,
        nonCompliant: 7,
        fixed: 8,
        marked: 3,
        unmarked: 1,
        stopped: 1,
        failed: 0,
      },
    });
    // Assess: the fleet
    expect(labelsOf(sandbox, 'ml-training-prod', 'us-central1-a', 'vision-train-untagged')).toEqual(
      {
        app: 'trainer',
        cost_center: 'cc-100',
        team: 'vision',
        priority: 'low',
      },
    );
    expect(
      labelsOf(sandbox, 'ml-training-prod', 'us-central1-a', 'vision-eval-mixed-case'),
    ).toEqual({
      team: 'vision',
      app: 'eval',
      cost_center: 'cc-100',
      priority: 'low',
    });
    expect(labelsOf(sandbox, 'data-pipelines', 'us-east1-b', 'etl-backfill-1')).toEqual({
      team: 'data',
      cost_center: 'cc-200',
      priority: 'low',
      'costguard-stop-after': '2026-11-23',
    });
    expect(
      labelsOf(sandbox, 'ml-training-prod', 'us-central1-b', 'nlp-scratch-gpu')?.[
        'costguard-stop-after'
      ],
    ).toBe('2026-11-23');
    expect(
      labelsOf(sandbox, 'ml-training-prod', 'us-central1-b', 'recsys-stale-mark'),
    ).not.toHaveProperty('costguard-stop-after');
    for (const [zone, name] of [
      ['us-central1-b', 'recsys-pool-k2x9'],
      ['us-central1-f', 'platform-gateway-critical'],
      ['us-central1-f', 'nlp-adhoc-standard'],
    ] as const) {
      expect(labelsOf(sandbox, 'ml-training-prod', zone, name)).not.toHaveProperty(
        'costguard-stop-after',
      );
    }
    expect(labelsOf(sandbox, 'data-pipelines', 'us-east1-c', 'etl-exempt-scratch')).toEqual({
      'costguard-exempt': 'true',
    });
    const stopped = sandbox.fleet
      .live()
      .filter((vm) => vm.status === 'TERMINATED')
      .map((vm) => vm.name);
    expect(stopped.sort()).toEqual(['ingest-legacy-2', 'research-tmp-9']);
    // Assess: the ledger
    const recorded = byName(await rows());
    expect(recorded.size).toBe(11);
    expect(recorded.get('ingest-legacy-2')).toMatchObject({
      action: 'stop',
      action_status: 'done',
      compliant: false,
      invalid_keys: ['cost_center'],
    });
    expect(recorded.get('nlp-scratch-gpu')).toMatchObject({
      action: 'mark',
      missing_keys: ['app'],
      fixed_keys: ['cost_center', 'priority'],
      stop_after: '2026-11-23',
      hourly_cost: 0.2948,
    });
    expect(recorded.get('vision-train-untagged')).toMatchObject({
      action: 'fix',
      compliant: true,
      fixed_keys: ['team', 'priority'],
    });
    expect(recorded.get('recsys-stale-mark')).toMatchObject({
      action: 'unmark',
      compliant: true,
      stop_after: null,
    });
    expect(recorded.get('etl-exempt-scratch')).toMatchObject({
      action: 'none',
      exempt: true,
      hourly_cost: null,
    });
    const [cost] = await ledger.query<{ total: number }>(
      'SELECT SUM(hourly_cost) AS total FROM `${dataset}.label_compliance_checks` WHERE NOT compliant AND NOT exempt',
    );
    // nlp-scratch-gpu, recsys-pool, platform-gateway, nlp-adhoc (on demand), etl-backfill, ingest-legacy; research-tmp-9 too.
    expect(cost?.total).toBeCloseTo(
      0.2948 + 0.0292 + 0.0402 + 0.0388 * 4 + 0.0906 + 0.04 + 0.0388,
      6,
    );
    // Assess: Slack
    const messages = slackMessages(sandbox);
    expect(messages).toHaveLength(1);
    const digest = JSON.stringify(messages[0]?.blocks);
    expect(messages[0]?.text).toContain('Label compliance: 3 of 10 VMs compliant');
    expect(digest).toContain('2 VMs stopped after the next deadline, 2026-11-23');
    expect(digest).toContain('ml-training-prod/us-central1-b/nlp-scratch-gpu');
    expect(digest).not.toContain('research-tmp-9'); // not running: nothing to stop
    expect(digest).toContain('Worst offenders by team');
    expect(digest).toContain('lookerstudio.google.com');
    // Each machine shape is priced once per sweep.
    expect(fakePrices.asked).toHaveLength(new Set(fakePrices.asked.map(pricedMachineKey)).size);
  });

  it('stops the marked Spot VMs once the grace period has passed on the simulated clock', async () => {
    await start();
    await sweep();
    sandbox.clock.advance(3 * DAY_MS);
    const onDeadline = await sweep();
    expect((onDeadline.body.counts as { stopped: number }).stopped).toBe(0);

    sandbox.clock.advance(DAY_MS);
    const after = await sweep();

    expect(after.status).toBe(200);
    expect((after.body.counts as { stopped: number }).stopped).toBe(2);
    const status = (zone: string, name: string, project = 'ml-training-prod'): string | undefined =>
      sandbox.fleet.get(project, zone, name)?.status;
    expect(status('us-central1-b', 'nlp-scratch-gpu')).toBe('TERMINATED');
    expect(status('us-east1-b', 'etl-backfill-1', 'data-pipelines')).toBe('TERMINATED');
    expect(status('us-central1-f', 'platform-gateway-critical')).toBe('RUNNING');
    expect(status('us-central1-f', 'nlp-adhoc-standard')).toBe('RUNNING');
    expect(status('us-central1-b', 'recsys-pool-k2x9')).toBe('RUNNING');
    const daily = await ledger.query<{ day: string; vms: number; stopped_vms: number }>(
      'SELECT CAST(day AS STRING) AS day, SUM(vms) AS vms, SUM(stopped_vms) AS stopped_vms FROM `${dataset}.label_compliance_daily` GROUP BY day ORDER BY day',
    );
    expect(daily.map((d) => [d.day, Number(d.vms), Number(d.stopped_vms)])).toEqual([
      ['2026-11-20', 11, 1],
      ['2026-11-23', 11, 0],
      ['2026-11-24', 11, 2],
    ]);
  });

  it('under an exempt tag, stops a VM its owner labelled exempt and spares a tag-exempt one', async () => {
    // Prepare: the fixture policy, with exemptions from a tag only a tag user can bind.
    const policy = JSON.parse(readFileSync(`${FIXTURES}policies/labels.json`, 'utf8')) as object;
    const dir = mkdtempSync(join(tmpdir(), 'costguard-labels-'));
    const file = join(dir, 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({ ...policy, exemptTag: `${ORGANIZATION}/costguard-exempt` }),
    );
    bindVmTags(
      sandbox,
      { project: 'ml-training-prod', zone: 'us-central1-b', name: 'nlp-scratch-gpu' },
      { 'costguard-exempt': 'true' },
    );
    await start({ COSTGUARD_LABEL_POLICY_FILE: file });
    const status = (zone: string, name: string, project = 'ml-training-prod'): string | undefined =>
      sandbox.fleet.get(project, zone, name)?.status;

    // Act: a sweep marks, a sweep past the grace period stops.
    const first = await sweep();
    sandbox.clock.advance(4 * DAY_MS);
    sandbox.calls.length = 0;
    const after = await sweep();
    const tagReads = callsTo(sandbox, 'resourcemanager.effectiveTags.list').length;
    rmSync(dir, { recursive: true });

    // Assess: the owner's exempt label spares nothing; the tag does.
    expect([first.status, after.status]).toEqual([200, 200]);
    expect(status('us-east1-c', 'etl-exempt-scratch', 'data-pipelines')).toBe('TERMINATED');
    expect(status('us-east1-b', 'etl-backfill-1', 'data-pipelines')).toBe('TERMINATED');
    expect(status('us-central1-b', 'nlp-scratch-gpu')).toBe('RUNNING');
    const recorded = byName(await rows());
    expect(recorded.get('nlp-scratch-gpu')).toMatchObject({ exempt: true, action: 'none' });
    // Tags are read only for VMs the sweep would act on or report, never for compliant ones.
    const afterRows = await rows(String(after.body.runId));
    expect(tagReads).toBe(afterRows.filter((r) => !(r.compliant && r.action === 'none')).length);
    expect(tagReads).toBeLessThan(afterRows.length);
  });

  it('re-running the same sweep stops nothing twice and does not double count', async () => {
    await start();
    const schedule = { 'X-CloudScheduler-ScheduleTime': '2026-11-20T00:00:00Z' };
    await sweep({}, schedule);
    sandbox.clock.advance(60_000);
    const again = await sweep({}, schedule);

    expect(again.status).toBe(200);
    expect(sandbox.fleet.operations.filter((o) => o.operationType === 'stop')).toHaveLength(1);
    const recorded = await rows('sweep-2026-11-20T00:00:00.000Z');
    expect(recorded).toHaveLength(11);
    // The rows that carried out an action are the ones kept.
    expect(byName(recorded).get('vision-train-untagged')?.action).toBe('fix');
    expect(byName(recorded).get('ingest-legacy-2')?.action).toBe('stop');
    const [raw] = await ledger.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM `${dataset}.label_compliance`',
    );
    expect(Number(raw?.n)).toBe(22);
  });

  it.each([
    { case: 'configured', env: {}, body: {} },
    {
      case: 'asked for in the request',
      env: { COSTGUARD_LABELS_DRY_RUN: 'false' },
      body: { dryRun: true },
    },
  ])('in a dry run ($case) plans everything and changes nothing', async ({ env, body }) => {
    await start({ COSTGUARD_LABELS_DRY_RUN: 'true', ...env });
    const before = sandbox.fleet.live().map((vm) => [vm.name, vm.status, { ...vm.labels }]);

    const reply = await sweep(body);

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ dryRun: true, counts: { fixed: 8, marked: 3, stopped: 1 } });
    expect(sandbox.fleet.live().map((vm) => [vm.name, vm.status, vm.labels])).toEqual(before);
    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([]);
    expect(callsTo(sandbox, 'compute.instances.stop')).toEqual([]);
    const recorded = await rows();
    expect(recorded.every((r) => r.dry_run)).toBe(true);
    expect(byName(recorded).get('ingest-legacy-2')).toMatchObject({
      action: 'stop',
      action_status: 'planned',
    });
    // Nothing was written, so the row says what the VM is: not compliant yet.
    expect(byName(recorded).get('vision-train-untagged')).toMatchObject({
      action: 'fix',
      action_status: 'planned',
      compliant: false,
      missing_keys: ['team', 'priority'],
      fixed_keys: ['team', 'priority'],
    });
    expect(slackMessages(sandbox)[0]?.text).toContain('(dry run)');
  });

  it('keeps a concurrent writer\u2019s labels when it wins the fingerprint race', async () => {
    await start();
    sandbox.faults.set('compute.instances.setLabels', {
      race: { count: 2, labels: { app: 'notebook', owner: 'li' } },
    });

    const reply = await sweep({ projects: ['research-sandbox'] });

    expect(reply.status).toBe(200);
    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([412, 412, 200]);
    expect(labelsOf(sandbox, 'research-sandbox', 'europe-west4-a', 'research-tmp-9')).toEqual({
      team: 'research',
      app: 'notebook',
      owner: 'li',
      priority: 'low',
      'costguard-stop-after': '2026-11-23',
    });
    const [row] = await rows();
    expect(row).toMatchObject({
      action: 'mark',
      action_status: 'done',
      missing_keys: ['cost_center'],
    });
  });

  it('writes nothing when the concurrent writer already made the VM compliant', async () => {
    await start();
    sandbox.faults.set('compute.instances.setLabels', {
      race: { count: 1, labels: { app: 'notebook', cost_center: 'cc-300', priority: 'medium' } },
    });

    await sweep({ projects: ['research-sandbox'] });

    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([412]);
    expect(labelsOf(sandbox, 'research-sandbox', 'europe-west4-a', 'research-tmp-9')).toEqual({
      team: 'research',
      app: 'notebook',
      cost_center: 'cc-300',
      priority: 'medium',
    });
    const [row] = await rows();
    expect(row).toMatchObject({ action: 'none', compliant: true, action_status: 'done' });
  });

  it('gives up after losing the race five times and records the failure', async () => {
    await start();
    sandbox.faults.set('compute.instances.setLabels', {
      race: { count: 5, labels: { owner: 'li' } },
    });

    const reply = await sweep({ projects: ['research-sandbox'] });

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ counts: { failed: 1 } });
    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([412, 412, 412, 412, 412]);
    expect(labelsOf(sandbox, 'research-sandbox', 'europe-west4-a', 'research-tmp-9')).toEqual({
      team: 'research',
      owner: 'li',
    });
    const [row] = await rows();
    expect(row).toMatchObject({ action_status: 'failed' });
    expect(runtime.logger.entries.filter((e) => e.message === 'Label check failed')).toHaveLength(
      1,
    );
  });

  it('answers 503 when a stop fails transiently, and a retry of the same sweep finishes it', async () => {
    await start();
    const schedule = { 'X-CloudScheduler-ScheduleTime': '2026-11-20T00:00:00Z' };
    sandbox.faults.set('compute.instances.stop', { fail: { count: 4, status: 503 } });

    const first = await sweep({ projects: ['data-pipelines'] }, schedule);
    expect(first).toEqual({ status: 503, body: { error: 'Temporarily unavailable; retry later' } });
    expect(sandbox.fleet.get('data-pipelines', 'us-east1-c', 'ingest-legacy-2')?.status).toBe(
      'RUNNING',
    );

    const retry = await sweep({ projects: ['data-pipelines'] }, schedule);
    expect(retry.status).toBe(200);
    expect(sandbox.fleet.get('data-pipelines', 'us-east1-c', 'ingest-legacy-2')?.status).toBe(
      'TERMINATED',
    );
    const recorded = byName(await rows());
    expect(recorded.size).toBe(3);
    expect(recorded.get('ingest-legacy-2')).toMatchObject({
      action: 'stop',
      action_status: 'done',
    });
  });

  it.each([
    {
      case: 'before its labels are written',
      route: 'compute.instances.get',
      project: 'research-sandbox',
      name: 'research-tmp-9',
    },
    {
      case: 'before it is stopped',
      route: 'compute.instances.stop',
      project: 'data-pipelines',
      name: 'ingest-legacy-2',
    },
  ])('records a VM deleted $case as gone, not failed', async ({ route, project, name }) => {
    await start();
    sandbox.faults.set(route, { fail: { count: 1, status: 404 } });

    const reply = await sweep({ projects: [project] });

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ counts: { failed: 0 } });
    expect(byName(await rows()).get(name)).toMatchObject({ action_status: 'gone' });
  });

  it('records a VM as failed when its project labels cannot be had, and asks for a retry', async () => {
    await start(
      {},
      {
        projectLabels: {
          labelsOf: () => Promise.reject(new TransientError('Resource Manager unavailable')),
        },
      },
    );

    const reply = await sweep({ projects: ['research-sandbox'] });

    expect(reply.status).toBe(503);
    expect(callsTo(sandbox, 'compute.instances.setLabels')).toEqual([]);
    expect(await rows()).toMatchObject([
      {
        instance_name: 'research-tmp-9',
        action_status: 'failed',
        error: 'Resource Manager unavailable',
      },
    ]);
    expect(runtime.logger.entries.filter((e) => e.message === 'Label check failed')).toHaveLength(
      1,
    );
  });

  it('checks the other projects when one cannot be listed, and says so in the digest', async () => {
    await start();
    sandbox.faults.set('compute.instances.aggregatedList', { fail: { count: 1, status: 403 } });

    const reply = await sweep();

    expect(reply.status).toBe(200);
    const failed = reply.body.failedProjects as string[];
    expect(failed).toHaveLength(1);
    expect((reply.body.counts as { checked: number }).checked).toBeGreaterThan(0);
    expect(new Set((await rows()).map((r) => r.project_id)).has(failed[0] as string)).toBe(false);
    expect(JSON.stringify(slackMessages(sandbox)[0]?.blocks)).toContain(
      `Not checked (listing failed): \`${failed[0]}\``,
    );
  });

  it('records a zone Compute cannot reach, checks the rest, and its retry checks the zone', async () => {
    // Prepare
    await start();
    sandbox.faults.set('compute.instances.aggregatedList', {
      unreachable: { zones: ['us-east1-c'] },
    });
    const scheduled = { 'X-CloudScheduler-ScheduleTime': '2026-11-20T06:00:00Z' };

    // Act
    const first = await sweep({}, scheduled);

    // Assess: Cloud Scheduler is asked to retry; the gap is in the digest and the log.
    expect(first.status).toBe(503);
    const checked = (await rows()).map((r) => r.instance_name);
    expect(checked).not.toContain('ingest-legacy-2');
    expect(checked).toContain('etl-backfill-1');
    expect(JSON.stringify(slackMessages(sandbox)[0]?.blocks)).toContain(
      'Not checked (zone unreachable): `data-pipelines/us-east1-c`',
    );
    const finished = runtime.logger.entries.find((e) => e.message === 'Label sweep finished');
    expect(finished).toMatchObject({ unreachableZones: ['data-pipelines/us-east1-c'] });

    // Act: the zone is back; Cloud Scheduler retries the same sweep.
    sandbox.faults.clear();
    const retry = await sweep({}, scheduled);

    // Assess
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ unreachableZones: [] });
    expect((await rows()).map((r) => r.instance_name)).toContain('ingest-legacy-2');
  });

  it('still checks VMs when project labels cannot be read, without those defaults', async () => {
    await sandbox.close();
    sandbox = await startLabelSandbox({ resourceManager: false });
    ledger = labelLedger(sandbox);
    await ledger.migrate();
    await start();

    const reply = await sweep({ projects: ['data-pipelines'] });

    expect(reply.status).toBe(200);
    expect(labelsOf(sandbox, 'data-pipelines', 'us-east1-b', 'etl-backfill-1')).toEqual({
      priority: 'low',
      'costguard-stop-after': '2026-11-23',
    });
    expect(
      runtime.logger.entries.some(
        (e) => e.message === 'Project labels unavailable; defaults from them are skipped',
      ),
    ).toBe(true);
  });

  it.each<{
    case: string;
    method: string;
    body: string | undefined;
    headers: Readonly<Record<string, string>>;
    status: number;
  }>([
    { case: 'a GET', method: 'GET', body: undefined, headers: {}, status: 405 },
    {
      case: 'a body that is not JSON',
      method: 'POST',
      body: '{"dryRun":',
      headers: {},
      status: 400,
    },
    {
      case: 'an unknown field',
      method: 'POST',
      body: JSON.stringify({ force: true }),
      headers: {},
      status: 400,
    },
    {
      case: 'a project outside the governed ones',
      method: 'POST',
      body: JSON.stringify({ projects: ['someone-elses'] }),
      headers: {},
      status: 400,
    },
    {
      case: 'a schedule time that is not a time',
      method: 'POST',
      body: '{}',
      headers: { 'X-CloudScheduler-ScheduleTime': 'yesterday' },
      status: 400,
    },
  ])('refuses $case and changes nothing', async ({ method, body, headers, status }) => {
    await start();
    const response = await fetch(target.url, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    expect(response.status).toBe(status);
    expect(sandbox.calls.filter((c) => c.route.startsWith('compute.'))).toEqual([]);
    expect(await rows()).toEqual([]);
  });

  it('accepts Cloud Scheduler\u2019s octet-stream body', async () => {
    await start();
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: JSON.stringify({ projects: ['research-sandbox'] }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { projects: string[] }).projects).toEqual([
      'research-sandbox',
    ]);
  });
});

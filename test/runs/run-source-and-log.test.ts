/**
 * A run's own source and its live console, through triggerRun served on the sandbox: a start
 * may name a tarball under the pipeline's allow-listed prefix, which is pinned to the generation
 * it has then; `GET /runs/{runId}/log?offset=N` follows the batch VM's serial port (or links a
 * Cloud Run execution's log) for exactly those who may read the run. Every reply is held to
 * docs/openapi.json by the support's `call`.
 */
import { describe, expect, it } from 'vitest';
import { batchVmState, planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { getObject, putObject } from '../../functions/sandbox/routes/storage.js';
import { forwardedToken, runRows, useTriggerRun } from '../support/runs.js';

const VM = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
const BUCKET = 'costguard-batch-results';
const SOURCE = `gs://${BUCKET}/src/alice/repo-0123456789abcdef.tar.gz`;
const DAVE = { authorization: forwardedToken({ email: 'dave@example.com' }) };

describe('per-run sources and the run log', () => {
  const runs = useTriggerRun('file');

  const start = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    runs.api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all', ...body },
      headers,
    });
  const metadataOf = () =>
    Object.fromEntries(
      runs.sandbox.fleet.get(VM.project, VM.zone, VM.name)!.metadata.map((i) => [i.key, i.value]),
    );

  it.each([
    {
      name: 'outside the allow-listed prefix',
      pipeline: 'nightly-categories',
      source: `gs://${BUCKET}/results/x.tar.gz`,
      issue: `source: a .tar.gz or .tgz object under gs://${BUCKET}/src/`,
    },
    {
      name: 'in another bucket',
      pipeline: 'nightly-categories',
      source: 'gs://other-bucket/src/x.tar.gz',
      issue: `source: a .tar.gz or .tgz object under gs://${BUCKET}/src/`,
    },
    {
      name: 'with a parent folder',
      pipeline: 'nightly-categories',
      source: `gs://${BUCKET}/src/../results/x.tar.gz`,
      issue: `source: a .tar.gz or .tgz object under gs://${BUCKET}/src/`,
    },
    {
      name: 'not a tarball',
      pipeline: 'nightly-categories',
      source: `gs://${BUCKET}/src/x.zip`,
      issue: `source: a .tar.gz or .tgz object under gs://${BUCKET}/src/`,
    },
    {
      name: 'for a pipeline without a source prefix',
      pipeline: 'shared-runner',
      source: `gs://${BUCKET}/src/x.tar.gz`,
      issue: 'source: pipeline shared-runner runs only its own source',
    },
  ])('refuses a source $name with 400, starting nothing', async ({ pipeline, source, issue }) => {
    const calls = runs.sandbox.calls.length;

    const reply = await start({ pipeline, source });

    expect(reply.status).toBe(400);
    expect(reply.body.issues).toEqual([issue]);
    expect(runs.sandbox.calls.slice(calls).filter((c) => c.route.startsWith('compute.'))).toEqual(
      [],
    );
  });

  it('refuses a source that does not exist as a failed start (422), leaving the VM alone', async () => {
    const reply = await start({ source: `gs://${BUCKET}/src/missing.tar.gz` });

    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({
      status: 'FAILED',
      detail: `The source gs://${BUCKET}/src/missing.tar.gz does not exist`,
    });
    expect(metadataOf()['costguard-run-id']).toBeUndefined();
  });

  it('pins the source to its generation, follows the console by offset, and shows the phase timings at the end', async () => {
    // Prepare
    const uploaded = putObject(
      runs.sandbox,
      BUCKET,
      'src/alice/repo-0123456789abcdef.tar.gz',
      'tarball v1',
    );
    planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 600 });

    // Act
    const started = await start({ source: SOURCE }, { 'idempotency-key': 'alice-run-1' });
    const runId = started.body.runId as string;
    // A later upload under the same name is another generation: the run keeps its own.
    putObject(runs.sandbox, BUCKET, 'src/alice/repo-0123456789abcdef.tar.gz', 'tarball v2');
    runs.sandbox.clock.advance(200_000);
    const first = await runs.api.call('GET', `/runs/${runId}/log`);
    const again = await runs.api.call(
      'GET',
      `/runs/${runId}/log?offset=${String(first.body.next)}`,
    );
    runs.sandbox.clock.advance(500_000);
    const rest = await runs.api.call('GET', `/runs/${runId}/log?offset=${String(first.body.next)}`);
    const ended = await runs.api.call('GET', `/runs/${runId}`);

    // Assess
    const pinned = `${SOURCE}#${uploaded.generation}`;
    expect(started.status).toBe(202);
    expect(started.body.source).toBe(pinned);
    expect(batchVmState(runs.sandbox).runs.at(-1)).toMatchObject({ runId, outcome: 'succeeded' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ runId, start: 0, skipped: 0, link: null });
    expect(first.body.contents).toContain(`fetching ${pinned}`);
    expect(first.body.contents).toMatch(/\[vmstat\]/);
    expect(first.body.contents).not.toContain('[timer] total');
    expect(first.body.next).toBe(Buffer.byteLength(first.body.contents as string));
    expect(again.body).toMatchObject({
      contents: '',
      start: first.body.next,
      next: first.body.next,
    });
    expect(rest.body.start).toBe(first.body.next);
    expect(rest.body.contents).toContain('[timer] total 600s');
    expect(ended.body).toMatchObject({
      status: 'SUCCEEDED',
      source: pinned,
      phases: { fetch: 6, apt: 30, pip: 60, make: 504, upload: 0, total: 600 },
    });
    const rows = await runRows(runs.api, runId);
    expect(rows.at(-1)).toMatchObject({
      source: pinned,
      phases: JSON.stringify(ended.body.phases),
    });
  });

  it('gives the log of a run only to who may read the run, and checks the offset', async () => {
    const [row] = (await runRows(runs.api)).filter(
      (r) => r.source !== null && r.status === 'SUCCEEDED',
    );
    const runId = String(row?.run_id);

    const stranger = await runs.api.call('GET', `/runs/${runId}/log`, { headers: DAVE });
    const anonymous = await runs.api.call('GET', `/runs/${runId}/log`, {
      headers: { authorization: '' },
    });
    const badOffset = await runs.api.call('GET', `/runs/${runId}/log?offset=-5`);
    const unknown = await runs.api.call('GET', '/runs/run-ffffffffffffffffffff/log');
    const posted = await runs.api.call('POST', `/runs/${runId}/log`);

    expect(stranger.status).toBe(404);
    expect(anonymous.status).toBe(401);
    expect(badOffset.status).toBe(400);
    expect(unknown.status).toBe(404);
    expect(posted.status).toBe(405);
  });

  it('refuses the same Idempotency-Key with another source (422)', async () => {
    putObject(runs.sandbox, BUCKET, 'src/alice/other.tar.gz', 'other');

    const reply = await start(
      { source: `gs://${BUCKET}/src/alice/other.tar.gz` },
      { 'idempotency-key': 'alice-run-1' },
    );

    expect(reply.status).toBe(422);
  });

  it('has no console for a run once its VM has moved on to another run', async () => {
    const [row] = (await runRows(runs.api)).filter(
      (r) => r.source !== null && r.status === 'SUCCEEDED',
    );
    planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 60 });
    const next = await start({});
    runs.sandbox.clock.advance(30_000);

    const old = await runs.api.call('GET', `/runs/${String(row?.run_id)}/log?offset=7`);
    const current = await runs.api.call('GET', `/runs/${String(next.body.runId)}/log`);

    expect(old.body).toMatchObject({ contents: '', start: 7, next: 7 });
    expect(current.body.contents).toContain(
      `[costguard] run ${String(next.body.runId)} target all`,
    );
    expect(
      getObject(runs.sandbox, BUCKET, `results/${String(next.body.runId)}/_SUCCESS`),
    ).toBeUndefined();
  });

  it("links a Cloud Run execution's log instead of a console", async () => {
    const started = await runs.api.call('POST', '/runs', {
      body: {
        pipeline: 'feature-extraction',
        target: 'extract',
        params: { TARGET_PAIR: 'gbpusd' },
      },
    });

    const log = await runs.api.call('GET', `/runs/${String(started.body.runId)}/log`);

    expect(log.body).toMatchObject({ contents: '', next: 0 });
    expect(log.body.link).toEqual(
      expect.stringMatching(/^https:\/\/console\.cloud\.google\.com\/logs/),
    );
  });
});

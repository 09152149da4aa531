import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectStore, parseGsUri } from '../../functions/adapters/storage.js';
import { ValidationError } from '../../functions/core/errors.js';
import { getObject, putObject } from '../../functions/sandbox/routes/storage.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The real @google-cloud/storage client against the sandbox's Storage routes.
describe('Storage contract', () => {
  let sandbox: Sandbox;
  let store: ObjectStore;

  beforeEach(async () => {
    sandbox = await startTestSandbox('fleets/runs.json');
    const runtime = sandboxRuntime(sandbox);
    store = new ObjectStore(() => runtime.clients.storage(), {
      logger: runtime.logger,
      retry: { baseDelayMs: 1 },
    });
  });
  afterEach(() => sandbox.close());

  it('lists only the objects under a prefix, in name order, with no credentials sent', async () => {
    // Prepare
    putObject(sandbox, 'results-bucket', 'results/run-b/_SUCCESS', '');
    putObject(sandbox, 'results-bucket', 'results/run-a/build.log', 'line 1\n');
    putObject(sandbox, 'results-bucket', 'results/run-a/_SUCCESS', '');
    putObject(sandbox, 'results-bucket', 'results/run-a/output/part-0.parquet', 'PAR1');

    // Act
    const listed = await store.list('results-bucket', 'results/run-a/');

    // Assess
    expect(listed.map((o) => [o.name, o.size])).toEqual([
      ['results/run-a/_SUCCESS', 0],
      ['results/run-a/build.log', 7],
      ['results/run-a/output/part-0.parquet', 4],
    ]);
    expect(await store.list('results-bucket', 'results/run-c/')).toEqual([]);
    expect(sandbox.calls.map((c) => [c.route, c.method])).toEqual([
      ['storage.objects.list', 'GET'],
      ['storage.objects.list', 'GET'],
    ]);
    expect(sandbox.calls.every((c) => !c.authorization)).toBe(true);
  });

  it('reads the head of an object with a ranged download, and undefined for a missing one', async () => {
    putObject(
      sandbox,
      'results-bucket',
      'results/run-a/startup_error.txt',
      `make failed\n${'x'.repeat(5000)}`,
    );

    const head = await store.readHead('results-bucket', 'results/run-a/startup_error.txt', 16);

    expect(head).toBe('make failed\nxxxx');
    expect(await store.readHead('results-bucket', 'results/run-a/nothing.txt', 16)).toBeUndefined();
  });

  it('uploads an object that the client accepts by its md5 and crc32c', async () => {
    await store.write('results-bucket', 'results/run-a/notes é.txt', 'first line\nsecond line\n');

    expect(getObject(sandbox, 'results-bucket', 'results/run-a/notes é.txt')?.data.toString()).toBe(
      'first line\nsecond line\n',
    );
    expect(await store.readHead('results-bucket', 'results/run-a/notes é.txt', 1024)).toBe(
      'first line\nsecond line\n',
    );
  });

  it('uploads a local file once: a second upload of the same name keeps the first generation', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'costguard-store-'));
    const file = join(dir, 'src.tar.gz');
    writeFileSync(file, Buffer.from('tarball bytes'));

    // Act
    const first = await store.uploadOnce('src-bucket', 'src/repo-1.tar.gz', file);
    writeFileSync(file, Buffer.from('other bytes'));
    const second = await store.uploadOnce('src-bucket', 'src/repo-1.tar.gz', file);

    // Assess
    expect(first).toMatchObject({ uploaded: true, size: 13 });
    expect(second).toEqual({ ...first, uploaded: false });
    expect(getObject(sandbox, 'src-bucket', 'src/repo-1.tar.gz')?.data.toString()).toBe(
      'tarball bytes',
    );
    expect(await store.stat('src-bucket', 'src/none.tar.gz')).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  });

  it('treats a lost race for the name as uploaded by the other writer (precondition 412)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'costguard-store-'));
    const file = join(dir, 'src.tar.gz');
    writeFileSync(file, 'mine');
    // The object appears between the look-up and the upload.
    sandbox.faults.set('storage.objects.get', { fail: { count: 1, status: 404 } });
    putObject(sandbox, 'src-bucket', 'src/race.tar.gz', 'theirs');

    const stored = await store.uploadOnce('src-bucket', 'src/race.tar.gz', file);

    expect(stored.generation).toBe(getObject(sandbox, 'src-bucket', 'src/race.tar.gz')?.generation);
    expect(getObject(sandbox, 'src-bucket', 'src/race.tar.gz')?.data.toString()).toBe('theirs');
    expect(
      sandbox.calls.filter((c) => c.route === 'storage.objects.insert').map((c) => c.status),
    ).toEqual([412]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every page of a prefix and downloads objects to files', async () => {
    for (let i = 0; i < 1203; i++)
      putObject(sandbox, 'results-bucket', `results/run-a/o/${String(i).padStart(4, '0')}`, `${i}`);
    const dir = mkdtempSync(join(tmpdir(), 'costguard-store-'));

    const all = await store.listAll('results-bucket', 'results/run-a/');
    await store.download('results-bucket', 'results/run-a/o/1202', join(dir, 'last'));

    expect(all).toHaveLength(1203);
    expect(readFileSync(join(dir, 'last'), 'utf8')).toBe('1202');
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries a transient listing failure', async () => {
    sandbox.faults.set('storage.objects.list', { fail: { count: 2, status: 503 } });
    putObject(sandbox, 'results-bucket', 'results/run-a/_SUCCESS', '');

    const listed = await store.list('results-bucket', 'results/run-a/');

    expect(listed.map((o) => o.name)).toEqual(['results/run-a/_SUCCESS']);
    expect(
      sandbox.calls.filter((c) => c.route === 'storage.objects.list').map((c) => c.status),
    ).toEqual([503, 503, 200]);
  });

  it.each([
    {
      uri: 'gs://costguard-batch-results/results/run-a/',
      expected: { bucket: 'costguard-batch-results', path: 'results/run-a/' },
    },
    { uri: 'gs://b1c/', expected: { bucket: 'b1c', path: '' } },
  ])('parses $uri', ({ uri, expected }) => {
    expect(parseGsUri(uri)).toEqual(expected);
  });

  it.each(['s3://bucket/x', 'gs://UPPER/x', 'gs://b', '/etc/passwd'])(
    'refuses %s as a gs:// URI',
    (uri) => {
      expect(() => parseGsUri(uri)).toThrow(ValidationError);
    },
  );
});

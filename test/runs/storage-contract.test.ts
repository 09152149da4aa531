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

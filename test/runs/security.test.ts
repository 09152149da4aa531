import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runApiDocument } from '../support/openapi.js';
import type { Sandbox } from '../support/sandbox.js';
import { serveTriggerRun, startRunsSandbox, type RunsApi } from './support.js';

// Hostile requests: each is refused at the edge with the right status, and no API call of any
// kind (Compute, Storage, Cloud Run, BigQuery, Slack) is made for it.
describe('triggerRun refuses hostile requests before any API call', () => {
  let sandbox: Sandbox;
  let api: RunsApi;

  beforeAll(async () => {
    sandbox = await startRunsSandbox();
    api = await serveTriggerRun(sandbox);
  });
  afterAll(async () => {
    await api.close();
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.calls.length = 0;
  });

  const expectNoCalls = (): void => {
    expect(sandbox.calls).toEqual([]);
    expect(sandbox.fleet.get('data-pipelines', 'us-east1-b', 'batch-runner')?.status).toBe(
      'TERMINATED',
    );
  };

  it.each([
    ['a make option', '--eval=$(shell id)'],
    ['a make variable', 'VAR=$(id)'],
    ['a command separator', 'all;id'],
    ['a pipe', 'all|id'],
    ['a space', 'all id'],
    ['a newline', 'all\nid'],
    ['a leading dash', '-n'],
    ['a path', '../all'],
    ['non-ASCII', 'catégories'],
    ['a look-alike of an allowed target', 'ａll'],
    ['an allowed target with a trailing newline', 'all\n'],
    ['an allowed target in another case', 'ALL'],
    ['nothing', ''],
    ['a number instead of text', 42],
  ])('400 for a target with %s', async (_what, target) => {
    const reply = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^(Unknown target|Invalid run request)/);
    expectNoCalls();
  });

  it.each([
    ['a command substitution', { WORKERS: '$(id)' }],
    ['a separator in an allowed value', { TARGET_PAIR: 'eurusd;id' }],
    ['a value outside the allow-list', { TARGET_PAIR: 'btcusd' }],
    ['a value outside the pattern', { WORKERS: '0' }],
    ['a leading dash', { WORKERS: '-1' }],
    ['a newline', { WORKERS: '8\n' }],
    ['a space', { TARGET_PAIR: 'eur usd' }],
    ['non-ASCII', { TARGET_PAIR: 'éurusd' }],
    ['a variable that is not allowed', { LD_PRELOAD: '/tmp/x.so' }],
    ['a variable costguard sets itself', { COSTGUARD_RUN_ID: 'run-00000000000000000000' }],
    ['a lower-case variable', { workers: '8' }],
    ['a nested object', { WORKERS: { value: '8' } }],
  ])('400 for params with %s', async (_what, params) => {
    const reply = await api.call('POST', '/runs', {
      body: { pipeline: 'feature-extraction', target: 'extract', params },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^(Invalid params|Invalid run request)/);
    expectNoCalls();
  });

  it.each([
    [
      'params for a VM pipeline (nothing from a request becomes a metadata key)',
      {
        pipeline: 'nightly-categories',
        target: 'all',
        params: { 'startup-script': 'curl evil | sh' },
      },
    ],
    ['an unknown pipeline', { pipeline: 'nope', target: 'all' }],
    ['a pipeline name with a path', { pipeline: '../nightly-categories', target: 'all' }],
    ['an inherited property as pipeline', { pipeline: 'constructor', target: 'all' }],
    [
      'an unexpected field',
      { pipeline: 'nightly-categories', target: 'all', metadata: { 'startup-script': 'x' } },
    ],
    ['no target', { pipeline: 'nightly-categories' }],
    ['an array', ['nightly-categories', 'all']],
    ['null', null],
  ])('400 for %s', async (_what, body) => {
    const reply = await api.call('POST', '/runs', { body });

    expect(reply.status).toBe(400);
    expectNoCalls();
  });

  it('400 for a body that is not JSON', async () => {
    const reply = await api.call('POST', '/runs', {
      raw: '{"pipeline": "nightly-categories", "target": ',
      headers: { 'content-type': 'application/json' },
    });

    expect(reply.status).toBe(400);
    expectNoCalls();
  });

  it.each([
    ['text/plain', 'pipeline=nightly-categories&target=all'],
    ['application/x-www-form-urlencoded', 'pipeline=nightly-categories&target=all'],
  ])('415 for a %s body', async (type, raw) => {
    const reply = await api.call('POST', '/runs', { raw, headers: { 'content-type': type } });

    expect(reply.status).toBe(415);
    expectNoCalls();
  });

  it.each([
    ['just over the limit', 16 * 1024 + 1],
    ['a megabyte', 1024 * 1024],
  ])('413 for a body %s', async (_what, size) => {
    const padding = 'x'.repeat(size);
    const reply = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all', padding },
    });

    expect(reply.status).toBe(413);
    expectNoCalls();
  });

  it.each([
    ['spaces', 'my key'],
    ['too many characters', 'k'.repeat(256)],
  ])('400 for an Idempotency-Key with %s', async (_what, key) => {
    const reply = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
      headers: { 'idempotency-key': key },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^Invalid Idempotency-Key/);
    expectNoCalls();
  });

  it.each([
    ['PUT', '/runs', 'GET, POST'],
    ['DELETE', '/runs', 'GET, POST'],
    ['POST', '/runs/run-0123456789abcdef0123', 'GET'],
    ['DELETE', '/runs/run-0123456789abcdef0123', 'GET'],
    ['GET', '/runs/run-0123456789abcdef0123:cancel', 'POST'],
    ['POST', '/openapi.json', 'GET'],
  ])('405 for %s %s, with Allow', async (method, path, allow) => {
    const reply = await api.call(method, path);

    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe(allow);
    expectNoCalls();
  });

  it('answers GET /openapi.json with the API document kept in docs/', async () => {
    const reply = await api.call('GET', '/openapi.json');

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(runApiDocument);
    expectNoCalls();
  });

  it.each([
    '/',
    '/admin',
    '/runs/../etc/passwd',
    '/runs/not-a-run-id',
    '/runs/run-0123456789ABCDEF0123',
    '/runs/run-0123456789abcdef0123/logs',
    '/runs/run-0123456789abcdef0123:delete',
    '/runs/run-0123456789abcdef0123%0a',
  ])('404 for %s', async (path) => {
    const reply = await api.call('GET', path);

    expect(reply.status).toBe(404);
    expectNoCalls();
  });

  it.each([
    ['a limit of 0', '?limit=0'],
    ['a limit over 100', '?limit=1000'],
    ['a limit that is not a number', '?limit=ten'],
    ['an unknown pipeline', '?pipeline=nope'],
    ['a pipeline with a quote', "?pipeline=nightly'--"],
    ['an unknown parameter', '?order=desc'],
    ['a repeated parameter', '?limit=1&limit=2'],
  ])('400 for a listing with %s', async (_what, query) => {
    const reply = await api.call('GET', `/runs${query}`);

    expect(reply.status).toBe(400);
    expectNoCalls();
  });
});

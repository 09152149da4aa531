import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installHttpEdge } from '../../functions/core/http-edge.js';
import { FORBIDDEN_KEYS, forbiddenKeyPaths } from '../../functions/core/json-body.js';
import { createMemoryLogger } from '../../functions/core/logger.js';
import { ENTRY_POINTS } from '../../functions/entry-points.js';
import { buildEnforceLabels } from '../../functions/labels/entry.js';
import { buildRecordSpotCosts } from '../../functions/recorder/entry.js';
import { buildTriggerRun } from '../../functions/runs/entry.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { fakePrices as labelPrices, labelEnv } from '../labels/label-sandbox.js';
import { RECORDER_ENV } from '../recorder/recorder-sandbox.js';
import {
  DEFAULT_CALLER,
  fakePrices,
  forwardedToken,
  runsEnv,
  startRunsSandbox,
} from '../support/runs.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';

// Every HTTP entry point, as the Functions Framework serves it, answers what it refuses with
// `{"error": …}` JSON, the right status and nothing about its insides, whatever NODE_ENV says.
const HTTP_TARGETS = ENTRY_POINTS.filter((e) => e.kind === 'http').map((e) => e.name);

interface Answer {
  status: number;
  type: string;
  text: string;
}

async function send(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> },
): Promise<Answer> {
  const response = await fetch(url, { method: init.method ?? 'POST', ...init });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** A JSON error reply that says nothing about the code or the machine it runs on. */
function expectJsonError(answer: Answer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.type).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  expect(typeof body.error).toBe('string');
  expect(answer.text).not.toMatch(/ at |node_modules|\/work\/|\.ts:|\.js:|<html|<pre/i);
}

describe('what the framework refuses before a function runs', () => {
  const logger = createMemoryLogger();
  const nodeEnv = process.env.NODE_ENV;

  beforeAll(async () => {
    // The real registration: the module Cloud Functions loads, with its lazy targets.
    await import('../../functions/index.js');
  });
  afterAll(() => {
    process.env.NODE_ENV = nodeEnv;
  });

  it('is installed by the module that registers the functions', async () => {
    const server = getTestServer('triggerRun');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = await send(`http://127.0.0.1:${(server.address() as AddressInfo).port}/runs`, {
        body: '{"pipeline": ',
        headers: { 'content-type': 'application/json' },
      });

      expectJsonError(answer, 400);
    } finally {
      server.closeAllConnections();
      server.close();
    }
    // From here on the replies are logged where the tests can read them.
    installHttpEdge(() => logger);
  });

  const bodies: Array<{
    case: string;
    body: string;
    headers: Record<string, string>;
    status: number;
  }> = [
    {
      case: 'a truncated JSON body',
      body: '{"pipeline": "nightly-categories", "target": ',
      headers: {},
      status: 400,
    },
    { case: 'a body that is not JSON', body: 'pipeline=nightly', headers: {}, status: 400 },
    { case: 'a JSON string instead of an object', body: '"all"', headers: {}, status: 400 },
    { case: 'a JSON null', body: 'null', headers: {}, status: 400 },
    {
      case: 'an unsupported charset',
      body: '{}',
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      status: 415,
    },
  ];

  describe.each(['development', 'production', 'test'])('with NODE_ENV=%s', (env) => {
    const served = new Map<string, string>();

    beforeAll(async () => {
      process.env.NODE_ENV = env;
      for (const name of HTTP_TARGETS) {
        const server = getTestServer(name);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        served.set(name, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
        afterAll(
          () =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        );
      }
    });

    it.each(HTTP_TARGETS.flatMap((target) => bodies.map((b) => ({ target, ...b }))))(
      '$target answers $case with a JSON error',
      async ({ target, body, headers, status }) => {
        const before = logger.entries.length;

        const answer = await send(served.get(target)!, {
          body,
          headers: { 'content-type': 'application/json', ...headers },
        });

        expectJsonError(answer, status);
        expect(logger.entries.slice(before)).toEqual([
          expect.objectContaining({
            severity: 'WARNING',
            message: 'Request refused before the function ran',
            status,
          }),
        ]);
      },
    );

    it.each(HTTP_TARGETS)(
      '%s refuses a body declared over 10 MiB before reading it',
      async (target) => {
        const url = new URL(served.get(target)!);
        const answer = await new Promise<Answer>((resolve, reject) => {
          const req = httpRequest(
            {
              host: url.hostname,
              port: url.port,
              method: 'POST',
              path: '/',
              headers: { 'content-type': 'application/json', 'content-length': 64 * 1024 * 1024 },
            },
            (res) => {
              let text = '';
              res.on('data', (chunk: Buffer) => (text += chunk.toString()));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  type: res.headers['content-type'] ?? '',
                  text,
                }),
              );
            },
          );
          req.on('error', reject);
          req.write('{"padding": "');
        });

        expectJsonError(answer, 413);
      },
    );
  });
});

describe('what every HTTP function refuses at its own edge', () => {
  let sandbox: Sandbox;
  const targets = new Map<string, ServedTarget>();

  beforeAll(async () => {
    sandbox = await startRunsSandbox();
    const serve = async (name: string, handler: functions.HttpFunction) =>
      targets.set(name, await serveTarget(`${name}Edge`, { kind: 'http', handler }));
    await serve(
      'recordSpotCosts',
      buildRecordSpotCosts(sandboxRuntime(sandbox, { ...RECORDER_ENV, ...runsEnv() })),
    );
    await serve(
      'enforceLabels',
      await buildEnforceLabels(sandboxRuntime(sandbox, labelEnv()), { prices: labelPrices }),
    );
    await serve(
      'triggerRun',
      await buildTriggerRun(sandboxRuntime(sandbox, runsEnv()), { prices: fakePrices({}) }),
    );
  });
  afterAll(async () => {
    for (const target of targets.values()) await target.close();
    await sandbox.close();
  });
  beforeEach(() => {
    sandbox.calls.length = 0;
  });

  const url = (target: string, path = ''): string => `${targets.get(target)!.url}${path}`;
  /** JSON, and for the run trigger the identity of one of its invokers. */
  const headersFor = (target: string): Record<string, string> => ({
    'content-type': 'application/json',
    ...(target === 'triggerRun'
      ? { authorization: forwardedToken({ email: DEFAULT_CALLER }) }
      : {}),
  });

  it.each([
    { target: 'recordSpotCosts', method: 'GET' },
    { target: 'recordSpotCosts', method: 'PUT' },
    { target: 'recordSpotCosts', method: 'DELETE' },
    { target: 'enforceLabels', method: 'GET' },
    { target: 'enforceLabels', method: 'PATCH' },
  ])(
    '$target acts only on POST: $method gets 405 and changes nothing',
    async ({ target, method }) => {
      const answer = await send(url(target), { method });

      expectJsonError(answer, 405);
      expect(sandbox.calls).toEqual([]);
    },
  );

  it.each([
    { target: 'recordSpotCosts', path: '', body: { catchUpHours: '6' } },
    { target: 'recordSpotCosts', path: '', body: [1, 2] },
    { target: 'enforceLabels', path: '', body: { dryRun: 'yes' } },
    { target: 'enforceLabels', path: '', body: { projects: 'data-pipelines' } },
    { target: 'triggerRun', path: 'runs', body: { pipeline: 5, target: 'all' } },
    {
      target: 'triggerRun',
      path: 'runs',
      body: { pipeline: 'nightly-categories', target: 'all', params: { A: 1 } },
    },
  ])('$target answers a wrongly typed body with 400', async ({ target, path, body }) => {
    const answer = await send(url(target, path), {
      body: JSON.stringify(body),
      headers: headersFor(target),
    });

    expectJsonError(answer, 400);
    expect(sandbox.calls).toEqual([]);
  });

  it.each([
    { target: 'recordSpotCosts', path: '', limit: 64 * 1024 },
    { target: 'enforceLabels', path: '', limit: 64 * 1024 },
    { target: 'triggerRun', path: 'runs', limit: 16 * 1024 },
  ])('$target answers a body over its limit with 413', async ({ target, path, limit }) => {
    const answer = await send(url(target, path), {
      body: JSON.stringify({ padding: 'x'.repeat(limit) }),
      headers: headersFor(target),
    });

    expectJsonError(answer, 413);
    expect(sandbox.calls).toEqual([]);
  });

  // Each forbidden key at every depth of each function's body: at the top, inside an object
  // field, inside an array, and as the only key.
  const placements = (key: string): Array<{ target: string; path: string; body: string }> => [
    { target: 'recordSpotCosts', path: '', body: `{"${key}": {"catchUpHours": 1}}` },
    { target: 'enforceLabels', path: '', body: `{"projects": ["data-pipelines"], "${key}": true}` },
    { target: 'enforceLabels', path: '', body: `{"projects": [{"${key}": "x"}]}` },
    {
      target: 'triggerRun',
      path: 'runs',
      body: `{"pipeline": "nightly-categories", "target": "all", "${key}": 1}`,
    },
    {
      target: 'triggerRun',
      path: 'runs',
      body: `{"pipeline": "feature-extraction", "target": "extract", "params": {"${key}": {"admin": true}}}`,
    },
    {
      target: 'triggerRun',
      path: 'runs',
      body: `{"pipeline": "feature-extraction", "target": "extract", "params": {"${key}": "8"}}`,
    },
  ];

  it.each([...FORBIDDEN_KEYS].flatMap((key) => placements(key).map((p) => ({ key, ...p }))))(
    'refuses an own $key key: $target $path $body',
    async ({ key, target, path, body }) => {
      const answer = await send(url(target, path), { body, headers: headersFor(target) });

      expectJsonError(answer, 400);
      expect(answer.text).toContain(`${key}: this name is not allowed`);
      expect(sandbox.calls).toEqual([]);
    },
  );

  it('finds forbidden keys at any depth and nothing else', () => {
    const parsed: unknown = JSON.parse(
      '{"a": [{"b": {"__proto__": 1}}], "constructor": 2, "ok": {"prototypes": 3}}',
    );

    expect(forbiddenKeyPaths(parsed)).toEqual([
      'body.a[0].b.__proto__: this name is not allowed',
      'body.constructor: this name is not allowed',
    ]);
    expect(forbiddenKeyPaths({ params: { WORKERS: '8' } })).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { runApiDocument, runApiProblems, schemaAt } from '../support/openapi.js';

const RUN = {
  runId: 'run-0123456789abcdef0123',
  pipeline: 'nightly-categories',
  executor: 'vm',
  target: 'all',
  params: {},
  status: 'RUNNING',
  caller: 'alice@example.com',
  requestedAt: '2026-11-20T10:00:00.000Z',
  startedAt: '2026-11-20T10:00:05.000Z',
  finishedAt: null,
  deadline: '2026-11-20T16:00:00.000Z',
  resultsPrefix: 'gs://results/runs/run-0123456789abcdef0123/',
  exitMarker: null,
  logs: { buildLog: null, execution: null },
  execution: null,
  detail: null,
  cost: { amount: 0.02, currency: 'USD', source: 'estimate' },
  source: null,
  phases: null,
  statusUrl: '/runs/run-0123456789abcdef0123',
};

function received(
  method: string,
  path: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return {
    method,
    path,
    status,
    headers: new Headers({ 'content-type': 'application/json; charset=utf-8', ...headers }),
    text: JSON.stringify(body),
  };
}

const LOCATION = { location: RUN.statusUrl };

describe('the run API document (docs/openapi.json)', () => {
  it('is OpenAPI 3.1 whose every operation has an id, a documented answer and declared path parameters', () => {
    expect(runApiDocument.openapi).toMatch(/^3\.1\.\d+$/);
    const operations = Object.entries(runApiDocument.paths).flatMap(([path, item]) =>
      ['get', 'post', 'put', 'delete', 'patch']
        .filter((method) => item[method])
        .map((method) => ({
          path,
          method,
          item,
          operation: item[method] as { operationId?: string; responses: object },
        })),
    );
    expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).toEqual([
      'GET /openapi.json',
      'GET /runs',
      'GET /runs/{runId}',
      'GET /runs/{runId}/log',
      'POST /runs',
      'POST /runs/{runId}:cancel',
    ]);
    for (const { path, item, operation } of operations) {
      expect(operation.operationId).toEqual(expect.any(String));
      expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
      const declared = ((item.parameters as unknown as { $ref: string }[] | undefined) ?? []).map(
        (p) => p.$ref.split('/').pop(),
      );
      for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
        expect(declared.map((d) => d?.toLowerCase())).toContain(name!.toLowerCase());
      }
    }
  });

  it('compiles every schema as JSON Schema 2020-12', () => {
    const schemas = Object.keys(
      (runApiDocument.components as { schemas: Record<string, unknown> }).schemas,
    );
    for (const name of schemas) {
      expect(() => schemaAt(`/components/schemas/${name}`)).not.toThrow();
    }
    expect(schemas.length).toBeGreaterThan(10);
  });

  it('accepts a response as documented', () => {
    expect(runApiProblems(received('POST', '/runs', 202, RUN, LOCATION))).toEqual([]);
    expect(runApiProblems(received('GET', '/runs?limit=5', 200, { runs: [RUN] }))).toEqual([]);
    expect(
      runApiProblems(
        received('PUT', '/runs', 405, { error: 'Method not allowed' }, { allow: 'GET, POST' }),
      ),
    ).toEqual([]);
    expect(runApiProblems(received('GET', '/admin', 404, { error: 'Not found' }))).toEqual([]);
  });

  it.each([
    {
      what: 'a status the operation does not list',
      response: received('GET', `/runs/${RUN.runId}`, 202, RUN),
      problem: /status not documented/,
    },
    {
      what: 'a field the document does not know',
      response: received('GET', `/runs/${RUN.runId}`, 200, { ...RUN, vm: 'x' }),
      problem: /unevaluated propert/,
    },
    {
      what: 'a required field missing',
      response: received('GET', `/runs/${RUN.runId}`, 200, { ...RUN, deadline: undefined }),
      problem: /deadline/,
    },
    {
      what: 'a status outside the enumeration',
      response: received('GET', `/runs/${RUN.runId}`, 200, { ...RUN, status: 'DONE' }),
      problem: /status/,
    },
    {
      what: 'a time that is not ISO 8601',
      response: received('GET', `/runs/${RUN.runId}`, 200, { ...RUN, startedAt: 'yesterday' }),
      problem: /date-time/,
    },
    {
      what: 'a start without its Location header',
      response: received('POST', '/runs', 202, RUN),
      problem: /header Location is missing/,
    },
    {
      what: 'a 405 without Allow',
      response: received('PUT', '/runs', 405, { error: 'Method not allowed' }),
      problem: /header Allow is missing/,
    },
    {
      what: 'an error body with more than it documents',
      response: received('GET', `/runs/${RUN.runId}`, 404, { error: 'No such run', stack: 'at x' }),
      problem: /additional propert/,
    },
    {
      what: 'an unknown path answered 200',
      response: received('GET', '/runs/not-a-run-id', 200, RUN),
      problem: /not 404/,
    },
    {
      what: 'a media type not listed',
      response: {
        ...received('GET', '/runs', 200, { runs: [] }),
        headers: new Headers({ 'content-type': 'text/plain' }),
      },
      problem: /media type 'text\/plain'/,
    },
  ])('rejects $what', ({ response, problem }) => {
    const problems = runApiProblems(response);

    expect(problems.join('\n')).toMatch(problem);
  });
});

import { describe, expect, it } from 'vitest';
import { apiMessage } from '../../functions/runs/api-message.js';
import { ANONYMOUS, callerOf, UNKNOWN_CALLER } from '../../functions/runs/caller.js';
import { planCost, runSpans } from '../../functions/runs/run-cost.js';
import { newRunId, requestIdFor, RUN_ID, runIdForKey } from '../../functions/runs/run-id.js';
import { routeRequest } from '../../functions/runs/request.js';
import type { HourlyRate } from '../../functions/core/pricing.js';
import { forwardedToken } from '../support/runs.js';

describe('routeRequest', () => {
  const id = 'run-0123456789abcdef0123';
  it.each([
    { method: 'POST', path: '/runs', expected: { kind: 'start' } },
    { method: 'POST', path: '/runs/', expected: { kind: 'start' } },
    { method: 'GET', path: '/runs', expected: { kind: 'list' } },
    { method: 'GET', path: `/runs/${id}`, expected: { kind: 'get', runId: id } },
    { method: 'POST', path: `/runs/${id}:cancel`, expected: { kind: 'cancel', runId: id } },
    {
      method: 'PATCH',
      path: '/runs',
      expected: { kind: 'method-not-allowed', allow: ['GET', 'POST'] },
    },
    {
      method: 'GET',
      path: `/runs/${id}:cancel`,
      expected: { kind: 'method-not-allowed', allow: ['POST'] },
    },
    { method: 'GET', path: '/runs/run-1', expected: { kind: 'not-found' } },
    { method: 'GET', path: `/runs/${id}:stop`, expected: { kind: 'not-found' } },
    { method: 'GET', path: '/', expected: { kind: 'not-found' } },
  ])('$method $path', ({ method, path, expected }) => {
    expect(routeRequest(method, path)).toEqual(expected);
  });
});

describe('callerOf', () => {
  it.each([
    {
      what: 'a forwarded token with an email',
      headers: { authorization: forwardedToken({ email: 'alice@example.com', sub: '1' }) },
      expected: 'alice@example.com',
    },
    {
      what: 'X-Serverless-Authorization before Authorization',
      headers: {
        authorization: forwardedToken({ email: 'a@x.io' }),
        'x-serverless-authorization': forwardedToken({ email: 'b@x.io' }),
      },
      expected: 'b@x.io',
    },
    {
      what: 'a token with only a subject',
      headers: { authorization: forwardedToken({ sub: '110169484474386276334' }) },
      expected: '110169484474386276334',
    },
    { what: 'no header', headers: {}, expected: ANONYMOUS },
    {
      what: 'an access token (not a JWT)',
      headers: { authorization: 'Bearer ya29.a0AfH6SMBx' },
      expected: UNKNOWN_CALLER,
    },
    {
      what: 'a payload that is not JSON',
      headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.sig' },
      expected: UNKNOWN_CALLER,
    },
    {
      what: 'an email with a newline',
      headers: { authorization: forwardedToken({ email: 'a@x.io\nsevere: forged' }) },
      expected: UNKNOWN_CALLER,
    },
    {
      what: 'Basic credentials',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
      expected: UNKNOWN_CALLER,
    },
  ])('$what', ({ headers, expected }) => {
    expect(callerOf(headers)).toBe(expected);
  });
});

describe('run ids', () => {
  it('are label values, path segments and metadata values; a key always names the same run', () => {
    expect(newRunId()).toMatch(RUN_ID);
    expect(newRunId()).not.toBe(newRunId());
    const ana = 'ana@example.com';
    expect(runIdForKey('nightly', ana, 'k-1')).toBe(runIdForKey('nightly', ana, 'k-1'));
    expect(runIdForKey('nightly', ana, 'k-1')).not.toBe(runIdForKey('reports', ana, 'k-1'));
    expect(runIdForKey('nightly', ana, 'k-1')).not.toBe(
      runIdForKey('nightly', 'bob@example.com', 'k-1'),
    );
    expect(runIdForKey('nightly', ana, 'k-1')).toMatch(RUN_ID);
  });

  it('derive one UUID requestId per run and step', () => {
    const start = requestIdFor('run-0123456789abcdef0123', 'start');
    expect(start).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestIdFor('run-0123456789abcdef0123', 'start')).toBe(start);
    expect(requestIdFor('run-0123456789abcdef0123', 'cancel')).not.toBe(start);
  });
});

describe('planCost', () => {
  const rate: HourlyRate = {
    hourly: 0.5,
    spot: 0.5,
    onDemand: 1.5,
    currency: 'USD',
    source: 'catalog',
  };
  const from = new Date('2026-11-20T00:00:00Z');
  const until = new Date('2026-11-20T02:30:00Z');
  const recorded = { amount: 0.9, currency: 'USD', coveredUntil: new Date('2026-11-20T02:00:00Z') };

  it.each([
    {
      what: 'an estimate from uptime and price',
      input: { recorded: undefined, rate, spans: [{ from, until }] },
      expected: { amount: 1.25, currency: 'USD', source: 'estimate' },
    },
    {
      what: 'recorder rows plus the tail after them',
      input: { recorded, rate, spans: [{ from, until }] },
      expected: { amount: 1.15, currency: 'USD', source: 'recorder+estimate' },
    },
    {
      what: 'recorder rows alone when they cover the run',
      input: { recorded, rate, spans: [{ from, until: new Date('2026-11-20T01:45:00Z') }] },
      expected: { amount: 0.9, currency: 'USD', source: 'recorder' },
    },
    {
      what: 'recorder rows alone without a price',
      input: { recorded, rate: undefined, spans: [{ from, until }] },
      expected: { amount: 0.9, currency: 'USD', source: 'recorder' },
    },
    {
      what: 'nothing without a known price',
      input: {
        recorded: undefined,
        rate: { ...rate, source: 'unknown' as const },
        spans: [{ from, until }],
      },
      expected: undefined,
    },
  ])('$what', ({ input, expected }) => {
    expect(planCost(input)).toEqual(expected);
  });

  // Attempt 1 ran 00:00–01:00 and was preempted; after the 30 s notice and a 600 s backoff,
  // attempt 2 started at 01:10:30 and is running at 02:10:30: two hours of VM time, not 2 h 10 m 30 s.
  const preemptedOnce = {
    attempt: 2,
    resumeAt: new Date('2026-11-20T01:10:30Z'),
    earlierAttempts: [
      {
        attempt: 1,
        startedAt: new Date('2026-11-20T00:00:00Z'),
        endedAt: new Date('2026-11-20T01:00:00Z'),
      },
    ],
  };
  const now = new Date('2026-11-20T02:10:30Z');

  it.each([
    {
      what: 'an estimate of both attempts, without the notice and the backoff',
      recorded: undefined,
      expected: { amount: 1, currency: 'USD', source: 'estimate' },
    },
    {
      what: 'the first attempt recorded, the second estimated in full',
      recorded: { amount: 0.5, currency: 'USD', coveredUntil: new Date('2026-11-20T01:00:00Z') },
      expected: { amount: 1, currency: 'USD', source: 'recorder+estimate' },
    },
    {
      what: 'hours recorded up to 02:00, then 10 m 30 s of the second attempt estimated',
      recorded: { amount: 0.9125, currency: 'USD', coveredUntil: new Date('2026-11-20T02:00:00Z') },
      expected: { amount: 1, currency: 'USD', source: 'recorder+estimate' },
    },
  ])('a run preempted once with a backoff: $what', ({ recorded, expected }) => {
    const spans = runSpans(preemptedOnce, from, now);

    expect(spans).toEqual([
      { from, until: new Date('2026-11-20T01:00:00Z') },
      { from: new Date('2026-11-20T01:10:30Z'), until: now },
    ]);
    expect(planCost({ recorded, rate, spans })).toEqual(expected);
  });

  it('counts a resumed run from its first start when its earlier attempts were not kept', () => {
    const spans = runSpans({ attempt: 2, resumeAt: preemptedOnce.resumeAt }, from, now);

    expect(planCost({ recorded: undefined, rate, spans })?.amount).toBe(1.0875);
  });
});

describe('apiMessage', () => {
  it.each([
    {
      error: new Error('{"error":{"code":400,"message":"Invalid value\\n for field"}}'),
      expected: 'Invalid value for field',
    },
    { error: new Error('plain words'), expected: 'plain words' },
    { error: 'x'.repeat(600), expected: `${'x'.repeat(499)}…` },
  ])('reduces $error to one line', ({ error, expected }) => {
    expect(apiMessage(error)).toBe(expected);
  });
});

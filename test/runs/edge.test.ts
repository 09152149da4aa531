import { describe, expect, it } from 'vitest';
import { apiMessage } from '../../functions/runs/api-message.js';
import { ANONYMOUS, callerOf, UNKNOWN_CALLER } from '../../functions/runs/caller.js';
import { planCost } from '../../functions/runs/run-cost.js';
import { newRunId, requestIdFor, RUN_ID, runIdForKey } from '../../functions/runs/run-id.js';
import { routeRequest } from '../../functions/runs/request.js';
import type { HourlyRate } from '../../functions/core/pricing.js';
import { forwardedToken } from './support.js';

describe('routeRequest', () => {
  const id = 'run-0123456789abcdef0123';
  it.each([
    ['POST', '/runs', { kind: 'start' }],
    ['POST', '/runs/', { kind: 'start' }],
    ['GET', '/runs', { kind: 'list' }],
    ['GET', `/runs/${id}`, { kind: 'get', runId: id }],
    ['POST', `/runs/${id}:cancel`, { kind: 'cancel', runId: id }],
    ['PATCH', '/runs', { kind: 'method-not-allowed', allow: ['GET', 'POST'] }],
    ['GET', `/runs/${id}:cancel`, { kind: 'method-not-allowed', allow: ['POST'] }],
    ['GET', '/runs/run-1', { kind: 'not-found' }],
    ['GET', `/runs/${id}:stop`, { kind: 'not-found' }],
    ['GET', '/', { kind: 'not-found' }],
  ])('%s %s', (method, path, expected) => {
    expect(routeRequest(method, path)).toEqual(expected);
  });
});

describe('callerOf', () => {
  it.each([
    [
      'a forwarded token with an email',
      { authorization: forwardedToken({ email: 'alice@example.com', sub: '1' }) },
      'alice@example.com',
    ],
    [
      'X-Serverless-Authorization before Authorization',
      {
        authorization: forwardedToken({ email: 'a@x.io' }),
        'x-serverless-authorization': forwardedToken({ email: 'b@x.io' }),
      },
      'b@x.io',
    ],
    [
      'a token with only a subject',
      { authorization: forwardedToken({ sub: '110169484474386276334' }) },
      '110169484474386276334',
    ],
    ['no header', {}, ANONYMOUS],
    ['an access token (not a JWT)', { authorization: 'Bearer ya29.a0AfH6SMBx' }, UNKNOWN_CALLER],
    [
      'a payload that is not JSON',
      { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.sig' },
      UNKNOWN_CALLER,
    ],
    [
      'an email with a newline',
      { authorization: forwardedToken({ email: 'a@x.io\nsevere: forged' }) },
      UNKNOWN_CALLER,
    ],
    ['Basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }, UNKNOWN_CALLER],
  ])('%s', (_what, headers, expected) => {
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
    [
      'an estimate from uptime and price',
      { recorded: undefined, rate, from, until },
      { amount: 1.25, currency: 'USD', source: 'estimate' },
    ],
    [
      'recorder rows plus the tail after them',
      { recorded, rate, from, until },
      { amount: 1.15, currency: 'USD', source: 'recorder+estimate' },
    ],
    [
      'recorder rows alone when they cover the run',
      { recorded, rate, from, until: new Date('2026-11-20T01:45:00Z') },
      { amount: 0.9, currency: 'USD', source: 'recorder' },
    ],
    [
      'recorder rows alone without a price',
      { recorded, rate: undefined, from, until },
      { amount: 0.9, currency: 'USD', source: 'recorder' },
    ],
    [
      'nothing without a known price',
      { recorded: undefined, rate: { ...rate, source: 'unknown' as const }, from, until },
      undefined,
    ],
  ])('%s', (_what, input, expected) => {
    expect(planCost(input)).toEqual(expected);
  });
});

describe('apiMessage', () => {
  it.each([
    [
      new Error('{"error":{"code":400,"message":"Invalid value\\n for field"}}'),
      'Invalid value for field',
    ],
    [new Error('plain words'), 'plain words'],
    ['x'.repeat(600), `${'x'.repeat(499)}…`],
  ])('reduces %s to one line', (error, expected) => {
    expect(apiMessage(error)).toBe(expected);
  });
});

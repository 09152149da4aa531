import { describe, expect, it } from 'vitest';
import {
  httpStatusOf,
  isTransient,
  PermanentError,
  TransientError,
  ValidationError,
} from '../../functions/core/errors.js';
import { createMemoryLogger } from '../../functions/core/logger.js';
import { maskSecrets } from '../../functions/core/redact.js';
import { withRetry } from '../../functions/core/retry.js';
import { settleAll } from '../../functions/core/concurrency.js';
import { normaliseLabelValue } from '../../functions/core/labels.js';

describe('retry decisions', () => {
  it.each([
    { error: new TransientError('x'), expected: true },
    { error: new PermanentError('x'), expected: false },
    { error: new ValidationError('bad', ['a']), expected: false },
    { error: Object.assign(new Error('gax unavailable'), { code: 14 }), expected: true },
    { error: Object.assign(new Error('gax not found'), { code: 5 }), expected: false },
    { error: Object.assign(new Error('http 503'), { code: 503 }), expected: true },
    { error: Object.assign(new Error('http 429'), { code: 429 }), expected: true },
    { error: Object.assign(new Error('http 412'), { code: 412 }), expected: false },
    { error: Object.assign(new Error('gaxios'), { response: { status: 502 } }), expected: true },
    { error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }), expected: true },
    { error: new TypeError('bug'), expected: false },
    {
      error: new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }),
      expected: true,
    },
  ])('$error is transient: $expected', ({ error, expected }) => {
    expect(isTransient(error)).toBe(expected);
  });

  it.each([
    { error: { code: 9 }, status: 412 },
    { error: { code: 5 }, status: 404 },
    { error: { code: 412 }, status: 412 },
    { error: { response: { status: 404 } }, status: 404 },
    { error: {}, status: undefined },
  ])('maps $error to HTTP $status', ({ error, status }) => {
    expect(httpStatusOf(error)).toBe(status);
  });

  it('retries transient failures and gives up on permanent ones', async () => {
    let calls = 0;
    const value = await withRetry(
      () => (++calls < 3 ? Promise.reject(new TransientError('again')) : Promise.resolve('done')),
      { baseDelayMs: 1 },
    );
    expect([value, calls]).toEqual(['done', 3]);
    let permanentCalls = 0;
    await expect(
      withRetry(() => {
        permanentCalls++;
        return Promise.reject(new PermanentError('no'));
      }),
    ).rejects.toThrow('no');
    expect(permanentCalls).toBe(1);
  });

  it('runs tasks with bounded concurrency and keeps every outcome', async () => {
    let running = 0;
    let peak = 0;
    const results = await settleAll([1, 2, 3, 4, 5, 6], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (n % 3 === 0) throw new Error(`fail ${n}`);
      return n * 10;
    });
    expect(peak).toBe(2);
    expect(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    ).toEqual([10, 20, 'fail 3', 40, 50, 'fail 6']);
  });
});

describe('logger', () => {
  it('writes one JSON line per entry with severity, message, context, and redacts secrets', () => {
    const logger = createMemoryLogger();
    logger.child({ budgetId: 'b-1' }).error('Stop failed', {
      messageId: 'm-1',
      slackToken: 'xoxb-secret',
      request: { headers: { authorization: 'Bearer abc' } },
      error: Object.assign(new Error('boom'), { code: 503 }),
    });
    const [entry] = logger.entries;
    expect(entry).toMatchObject({
      severity: 'ERROR',
      message: 'Stop failed',
      budgetId: 'b-1',
      messageId: 'm-1',
      slackToken: '[redacted]',
      request: { headers: { authorization: '[redacted]' } },
      error: { name: 'Error', message: 'boom', code: 503 },
    });
    expect(String(entry?.stack_trace)).toContain('Error: boom');
    expect(JSON.stringify(logger.entries)).not.toContain('xoxb-secret');
  });
});

describe('token-shaped values', () => {
  // Fake, token-shaped strings: none of them is a credential.
  it.each([
    {
      case: 'a Slack bot token',
      text: 'token xoxb-123456789012-1234567890123-AbCdEfGhIjKl set',
      masked: 'token [redacted] set',
    },
    {
      case: 'a Slack app token',
      text: 'xapp-1-A0123456789-0123456789012-abcdef',
      masked: '[redacted]',
    },
    {
      case: 'a Google access token',
      text: 'got ya29.a0AfH6SMBxExampleNotReal_123',
      masked: 'got [redacted]',
    },
    { case: 'a Google API key', text: `key=AIza${'x'.repeat(35)}`, masked: 'key=[redacted]' },
    {
      case: 'a JWT',
      text: 'id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln end',
      masked: 'id [redacted] end',
    },
    { case: 'a GitHub token', text: `GH=ghp_${'a'.repeat(36)}`, masked: 'GH=[redacted]' },
    { case: 'an AWS access key id', text: 'AKIAABCDEFGHIJKLMNOP', masked: '[redacted]' },
    {
      case: 'a bearer credential',
      text: 'Authorization: Bearer abc.def-ghi_jkl',
      masked: 'Authorization: Bearer [redacted]',
    },
    {
      case: 'a password in a URL',
      text: 'https://ci:hunter2secret@git.example.com/x.git',
      masked: 'https://ci:[redacted]@git.example.com/x.git',
    },
    {
      case: 'a private key',
      text: '-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\nafter',
      masked: '[redacted]\nafter',
    },
  ])('masks $case', ({ text, masked }) => {
    expect(maskSecrets(text)).toBe(masked);
  });

  it.each([
    'make -- d_anchor_category exited with status 2',
    'gs://costguard-batch-results/results/run-0a1b2c3d4e5f60718293/build.log',
    'alice@example.com started run-0a1b2c3d4e5f60718293 on data-pipelines/us-east1-b/batch-runner',
    'https://us-central1-ops-costguard.cloudfunctions.net/costguard-trigger-run',
  ])('leaves %j as it is', (text) => {
    expect(maskSecrets(text)).toBe(text);
  });

  it('are masked in log lines under any key and in error messages', () => {
    const logger = createMemoryLogger();
    const token = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKl';

    logger.error('Build failed', {
      detail: `exported SLACK=${token}`,
      lines: [`echo ${token}`],
      error: new Error(`request with ${token} refused`),
    });

    expect(JSON.stringify(logger.entries)).not.toContain(token);
    expect(logger.entries[0]).toMatchObject({
      detail: 'exported SLACK=[redacted]',
      lines: ['echo [redacted]'],
      error: { message: 'request with [redacted] refused' },
    });
  });
});

describe('label value normalisation', () => {
  it.each([
    { value: 'Research Team', expected: 'research-team' },
    { value: '  ML_Ops ', expected: 'ml_ops' },
    { value: 'cc/100', expected: 'cc-100' },
    { value: 'équipe', expected: undefined },
    { value: '!!!', expected: undefined },
    { value: 'x'.repeat(64), expected: undefined },
  ])('$value becomes $expected', ({ value, expected }) => {
    expect(normaliseLabelValue(value)).toBe(expected);
  });
});

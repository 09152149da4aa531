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
    [new TransientError('x'), true],
    [new PermanentError('x'), false],
    [new ValidationError('bad', ['a']), false],
    [Object.assign(new Error('gax unavailable'), { code: 14 }), true],
    [Object.assign(new Error('gax not found'), { code: 5 }), false],
    [Object.assign(new Error('http 503'), { code: 503 }), true],
    [Object.assign(new Error('http 429'), { code: 429 }), true],
    [Object.assign(new Error('http 412'), { code: 412 }), false],
    [Object.assign(new Error('gaxios'), { response: { status: 502 } }), true],
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true],
    [new TypeError('bug'), false],
    [new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }), true],
  ])('%s is transient: %s', (error, expected) => {
    expect(isTransient(error)).toBe(expected);
  });

  it.each([
    [{ code: 9 }, 412],
    [{ code: 5 }, 404],
    [{ code: 412 }, 412],
    [{ response: { status: 404 } }, 404],
    [{}, undefined],
  ])('maps %j to HTTP %s', (error, status) => {
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
    [
      'a Slack bot token',
      'token xoxb-123456789012-1234567890123-AbCdEfGhIjKl set',
      'token [redacted] set',
    ],
    ['a Slack app token', 'xapp-1-A0123456789-0123456789012-abcdef', '[redacted]'],
    ['a Google access token', 'got ya29.a0AfH6SMBxExampleNotReal_123', 'got [redacted]'],
    ['a Google API key', `key=AIza${'x'.repeat(35)}`, 'key=[redacted]'],
    ['a JWT', 'id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln end', 'id [redacted] end'],
    ['a GitHub token', `GH=ghp_${'a'.repeat(36)}`, 'GH=[redacted]'],
    ['an AWS access key id', 'AKIAABCDEFGHIJKLMNOP', '[redacted]'],
    [
      'a bearer credential',
      'Authorization: Bearer abc.def-ghi_jkl',
      'Authorization: Bearer [redacted]',
    ],
    [
      'a password in a URL',
      'https://ci:hunter2secret@git.example.com/x.git',
      'https://ci:[redacted]@git.example.com/x.git',
    ],
    [
      'a private key',
      '-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\nafter',
      '[redacted]\nafter',
    ],
  ])('masks %s', (_what, text, masked) => {
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
    ['Research Team', 'research-team'],
    ['  ML_Ops ', 'ml_ops'],
    ['cc/100', 'cc-100'],
    ['équipe', undefined],
    ['!!!', undefined],
    ['x'.repeat(64), undefined],
  ])('%j becomes %j', (value, expected) => {
    expect(normaliseLabelValue(value)).toBe(expected);
  });
});

import type { LogContext, Logger } from './logger.js';
import { isRateLimited, isTransient } from './errors.js';

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts?: number;
  /**
   * Total attempts when the API said "slow down" (403 rateLimitExceeded, 429): a rate limit
   * refills within a minute, so it is worth more patience than other faults (default 10).
   */
  rateLimitAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  isRetryable?: (error: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter: a random delay up to min(max, base × 2^(attempt−1)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.round(Math.random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or runs out
 * of attempts (more of them for rate limits); waits with exponential backoff and full jitter.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 8_000;
  const rateLimitAttempts = Math.max(attempts, options.rateLimitAttempts ?? 10);
  const isRetryable = options.isRetryable ?? isTransient;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const limit = isRateLimited(error) ? rateLimitAttempts : attempts;
      if (attempt >= limit || !isRetryable(error)) throw error;
      const delay = backoffDelay(attempt, base, max);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/** Retry options that log each retry as one warning line: `Retrying <what>` with the context. */
export function loggedRetries(
  logger: Logger,
  what: string,
  options: RetryOptions = {},
  context: LogContext = {},
): RetryOptions {
  return {
    ...options,
    onRetry: (error, attempt, delayMs) =>
      logger.warn(`Retrying ${what}`, { ...context, attempt, delayMs, error }),
  };
}

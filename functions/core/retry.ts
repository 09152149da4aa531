import type { LogContext, Logger } from './logger.js';
import { isTransient } from './errors.js';

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  isRetryable?: (error: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or runs out
 * of attempts; waits with exponential backoff and full jitter in between.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 8_000;
  const isRetryable = options.isRetryable ?? isTransient;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const delay = Math.round(Math.random() * Math.min(max, base * 2 ** (attempt - 1)));
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

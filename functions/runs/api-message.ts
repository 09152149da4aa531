/**
 * The message an API error carries, on one line and short enough for a ledger row and a reply:
 * REST client errors hold the whole JSON error body as their message, of which only
 * `error.message` is meant for people.
 */
import { errorMessage } from '../core/errors.js';

export function apiMessage(error: unknown, maxLength = 500): string {
  const raw = errorMessage(error);
  let message = raw;
  try {
    const parsed = JSON.parse(raw) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    // Not JSON: the message is already text.
  }
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}

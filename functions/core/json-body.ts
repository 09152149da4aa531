/**
 * Keys that no JSON body may carry as its own: assigned into an object they reach its
 * prototype (`__proto__`) or shadow what every object inherits, and a schema that copies
 * entries drops or mis-reads them silently. A body with one is refused, not cleaned.
 */

import { ValidationError } from './errors.js';

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** Deeper bodies than this are refused too; no costguard request nests more than a few levels. */
const MAX_DEPTH = 32;

/** The paths of every forbidden own key in a parsed JSON value (`body.params.__proto__`). */
export function forbiddenKeyPaths(value: unknown, path = 'body', depth = 0): string[] {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return [];
  if (depth > MAX_DEPTH) return [`${path}: nested more than ${MAX_DEPTH} levels`];
  const found: string[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => found.push(...forbiddenKeyPaths(item, `${path}[${i}]`, depth + 1)));
    return found;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) found.push(`${path}.${key}: this name is not allowed`);
    else {
      const child = (value as Record<string, unknown>)[key];
      found.push(...forbiddenKeyPaths(child, `${path}.${key}`, depth + 1));
    }
  }
  return found;
}

/** Throws a ValidationError naming every forbidden own key of a parsed JSON value. */
export function refuseForbiddenKeys(value: unknown, what = 'Invalid request body'): void {
  const found = forbiddenKeyPaths(value);
  if (found.length > 0) throw new ValidationError(what, found);
}

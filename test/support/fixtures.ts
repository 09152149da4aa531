import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root and its fixtures/ folder. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** A JSON fixture, parsed fresh on every call so a test may change it freely. */
export function loadFixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${path}`, 'utf8')) as T;
}

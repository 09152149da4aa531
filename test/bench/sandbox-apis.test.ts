/**
 * The benchmarks' latency reaches every API the sandbox serves: each route belongs to an API of
 * SANDBOX_APIS or is one of the sandbox's own routes, and each API listed has routes.
 */
import { describe, expect, it } from 'vitest';
import { defaultModules } from '../../functions/sandbox/routes/index.js';
import { SANDBOX_APIS } from './sandbox-apis.js';

describe('SANDBOX_APIS', () => {
  const names = defaultModules().flatMap((m) => m.routes.map((r) => r.name));
  const apiOf = (name: string): string => name.slice(0, name.indexOf('.'));

  it('covers every route but the sandbox’s own', () => {
    const uncovered = names.filter(
      (n) => apiOf(n) !== 'sandbox' && !(SANDBOX_APIS as readonly string[]).includes(apiOf(n)),
    );
    expect(uncovered).toEqual([]);
  });

  it('lists only APIs the sandbox serves', () => {
    expect(SANDBOX_APIS.filter((api) => !names.some((n) => apiOf(n) === api))).toEqual([]);
  });
});

/**
 * Where `npm start` serves: the sandbox on COSTGUARD_SANDBOX_PORT (8790 by default), then each
 * entry point on the next port, in ENTRY_POINTS order (any free port when the sandbox's is 0).
 * The helpers that talk to a running `npm start` find it here.
 */

import { ENTRY_POINTS, type EntryPointName } from '../entry-points.js';

export const DEFAULT_SANDBOX_PORT = 8790;
export const LOCAL_HOST = '127.0.0.1';

export function sandboxPortOf(env: Readonly<Record<string, string | undefined>>): number {
  const port = Number(env.COSTGUARD_SANDBOX_PORT ?? DEFAULT_SANDBOX_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`COSTGUARD_SANDBOX_PORT must be a port number (0 for any free port)`);
  }
  return port;
}

/** The port an entry point is served on, or 0 (any free port) when the sandbox's is 0. */
export function entryPointPort(sandboxPort: number, name: EntryPointName): number {
  if (sandboxPort === 0) return 0;
  return sandboxPort + 1 + ENTRY_POINTS.findIndex((entry) => entry.name === name);
}

export function localUrl(port: number): string {
  return `http://${LOCAL_HOST}:${port}`;
}

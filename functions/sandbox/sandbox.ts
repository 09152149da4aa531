import type { Fleet } from './fleet.js';
import type { Faults } from './faults.js';
import type { Route } from './http.js';
import type { SimulatedClock } from './clock.js';

/** What every sandbox route handler sees. */
export interface Sandbox {
  readonly clock: SimulatedClock;
  readonly fleet: Fleet;
  readonly faults: Faults;
  readonly calls: CallRecord[];
  /** Every reply's body, kept only while `settings.keepReplies` is on (the conformance test). */
  readonly replies: ReplyRecord[];
  readonly settings: SandboxSettings;
  /** `http://127.0.0.1:PORT` once listening. */
  readonly url: string;
  /** `127.0.0.1:PORT`, the value of the `*_EMULATOR_HOST` variables. */
  readonly hostPort: string;
  /** Per-module state, created on first use and dropped by `reset`. */
  extension<T>(key: string, init: () => T): T;
  /** The endpoint variables that point every client at this sandbox. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export interface SandboxSettings {
  /** Simulated seconds a zone operation (start, stop, ...) takes to reach DONE. */
  operationSeconds: number;
  /** Simulated seconds before Monitoring has a point (uptime ingest delay is up to 240 s). */
  monitoringIngestDelaySeconds: number;
  /** Keep every reply's body in `replies`. */
  keepReplies: boolean;
}

export interface ReplyRecord {
  route: string;
  status: number;
  body: unknown;
}

export interface CallRecord {
  /** Simulated time of the call. */
  at: string;
  route: string;
  method: string;
  path: string;
  status: number;
  /** Whether the request carried an Authorization header (Google clients must not, here). */
  authorization: boolean;
}

/** One API of the sandbox: its routes, plus optional set-up and tear-down. */
export interface SandboxModule {
  readonly name: string;
  readonly routes: ReadonlyArray<Route<Sandbox>>;
  start?(sandbox: Sandbox): void | Promise<void>;
  stop?(sandbox: Sandbox): void | Promise<void>;
}

/**
 * The recorder's end-to-end rig: a sandbox with the Billing Catalog route, the recorder's own
 * tables and views migrated (recorder-ledger.ts), `recordSpotCosts` served in-process by the
 * Functions Framework, and the ledger read back through the BigQuery dialect layer the sandbox
 * runs on.
 */

import type { Runtime } from '../../functions/adapters/runtime.js';
import { buildRecordSpotCosts } from '../../functions/recorder/entry.js';
import { bigQueryEngine } from '../../functions/sandbox/routes/bigquery.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { serveTarget } from '../../functions/sandbox/serve-target.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';
import { recorderLedger } from './recorder-ledger.js';

export const RECORDER_ENV = {
  COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines',
  COSTGUARD_DATASET: 'costguard',
  COSTGUARD_SLACK_CHANNEL: 'C0SPOTCOST',
  SLACK_BOT_TOKEN: 'xoxb-test-token',
};

export async function startRecorderSandbox(
  fleet: string | FleetFixture = 'recorder/fleet.json',
): Promise<Sandbox> {
  return startTestSandbox(fleet);
}

export async function migrateRecorderTables(runtime: Runtime): Promise<string[]> {
  return recorderLedger(runtime).migrate();
}

export interface RecorderCall {
  status: number;
  body: Record<string, unknown>;
}

export interface ServedRecorder {
  runtime: ReturnType<typeof sandboxRuntime>;
  call(body?: unknown, init?: { method?: string; contentType?: string }): Promise<RecorderCall>;
  close(): Promise<void>;
}

let served = 0;

/** Builds recordSpotCosts from a sandbox runtime and serves it through the Functions Framework. */
export async function serveRecorder(
  sandbox: Sandbox,
  env: Record<string, string> = {},
): Promise<ServedRecorder> {
  const runtime = sandboxRuntime(sandbox, { ...RECORDER_ENV, ...env });
  const target = await serveTarget(`recordSpotCostsTest${++served}`, {
    kind: 'http',
    handler: buildRecordSpotCosts(runtime),
  });
  return {
    runtime,
    async call(body, init = {}) {
      const response = await fetch(target.url, {
        method: init.method ?? 'POST',
        headers: { 'content-type': init.contentType ?? 'application/json' },
        ...(body === undefined
          ? {}
          : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    close: () => target.close(),
  };
}

/** Rows of a BigQuery query against the sandbox's ledger, as objects. */
export async function queryLedger(
  sandbox: Sandbox,
  sql: string,
): Promise<Array<Record<string, unknown>>> {
  const result = await bigQueryEngine(sandbox).query(sql, { now: sandbox.clock.now() });
  // 64-bit integers come back as strings; the counts here fit a number.
  return result.rows.map((row) =>
    Object.fromEntries(
      result.fields.map((field, i) => [
        field.name,
        field.type === 'INTEGER' && row[i] !== null ? Number(row[i]) : row[i],
      ]),
    ),
  );
}

/** Sets the sandbox clock to an ISO time. */
export function at(sandbox: Sandbox, iso: string): void {
  sandbox.clock.set(new Date(iso));
}

export function slackMessages(sandbox: Sandbox) {
  return slackState(sandbox).messages;
}

/**
 * The real Pub/Sub emulator pushing a budget notification to enforceBudget: topic, push
 * subscription whose endpoint is the function served by functions-framework on 127.0.0.1,
 * publish, and the VMs stop in the sandbox. Skipped, with the reason printed, where gcloud, its
 * pubsub-emulator component or Java is missing. The emulator runs in its own process group,
 * which is always killed.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetPubsubMessage } from '../../functions/sandbox/demos/budget-notifications.js';
import { BudgetHarness } from '../budget/budget-harness.js';

const PROJECT = 'costguard-e2e';
const TOPIC = 'budget-alerts';
const LOW = ['low-a100', 'low-n2-4', 'low-n2-8', 'unlabelled-e2'];

function emulatorMissing(): string | undefined {
  const gcloud = spawnSync('gcloud', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (gcloud.error || gcloud.status !== 0) return 'gcloud is not installed';
  if (!/pubsub-emulator/.test(gcloud.stdout)) {
    return 'the gcloud pubsub-emulator component is not installed';
  }
  const java = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (java.error || java.status !== 0) return 'Java, which the Pub/Sub emulator needs, is missing';
  return undefined;
}

const missing = emulatorMissing();
if (missing) {
  console.log(`Skipping the Pub/Sub emulator end-to-end test: ${missing}.`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function rest(url: string, method: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

describe.skipIf(missing !== undefined)('enforceBudget pushed by the Pub/Sub emulator', () => {
  let emulator: ChildProcess | undefined;
  let emulatorUrl = '';
  let harness: BudgetHarness;
  let functionUrl = '';

  beforeAll(async () => {
    const port = await freePort();
    emulatorUrl = `http://127.0.0.1:${port}`;
    emulator = spawn(
      'gcloud',
      [
        'beta',
        'emulators',
        'pubsub',
        'start',
        `--host-port=127.0.0.1:${port}`,
        `--project=${PROJECT}`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    harness = await BudgetHarness.start();
    functionUrl = (await harness.serve()).url;
    await until(
      'the Pub/Sub emulator',
      async () => ((await fetch(emulatorUrl)).ok ? true : undefined),
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    if (emulator?.pid !== undefined && emulator.exitCode === null) {
      const exited = new Promise((resolve) => emulator?.once('exit', resolve));
      // gcloud starts Java as a child; the whole group goes.
      process.kill(-emulator.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (emulator?.pid !== undefined) process.kill(-emulator.pid, 'SIGKILL');
      }, 10_000);
      await exited;
      clearTimeout(timer);
      try {
        process.kill(-emulator.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }
    // The function's server goes with the harness.
    await harness?.close();
  }, 30_000);

  it('stops the VMs when a budget notification is published, once per tier', async () => {
    // Prepare: a topic and a push subscription to the function, as the budget's Pub/Sub wiring.
    const topic = `projects/${PROJECT}/topics/${TOPIC}`;
    await rest(`${emulatorUrl}/v1/${topic}`, 'PUT', {});
    await rest(`${emulatorUrl}/v1/projects/${PROJECT}/subscriptions/enforce-budget`, 'PUT', {
      topic,
      ackDeadlineSeconds: 10,
      pushConfig: { pushEndpoint: `${functionUrl}${topic}` },
    });
    const { data, attributes } = budgetPubsubMessage(harness.figures({ costAmount: 5000 }));

    // Act: the budget publishes, twice with the same figures (it re-sends every 20-30 minutes).
    const published = await rest(`${emulatorUrl}/v1/${topic}:publish`, 'POST', {
      messages: [{ data, attributes }],
    });
    const [messageId] = published.messageIds as string[];
    await until(
      'the first notification to be handled',
      async () => ((await harness.notifications()).length >= 1 ? true : undefined),
      30_000,
    );
    await rest(`${emulatorUrl}/v1/${topic}:publish`, 'POST', { messages: [{ data, attributes }] });
    const rows = await until(
      'the second notification to be handled',
      async () => {
        const all = await harness.notifications();
        return all.length >= 2 ? all : undefined;
      },
      30_000,
    );

    // Assess
    expect(harness.stoppedNames()).toEqual(LOW);
    expect(harness.stopOperations()).toEqual(Object.fromEntries(LOW.map((n) => [n, 1])));
    expect(rows.map((r) => r.outcome)).toEqual(['ACTED', 'ALREADY_ACTED']);
    expect(rows[0]?.message_id).toBe(messageId);
    expect(harness.slack()).toHaveLength(1);
  }, 90_000);
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/fixtures.js';

// `npm start -- --once` as a user runs it, on free loopback ports, with no Google credentials.
describe('the local run', () => {
  it('serves every entry point and plays the demo: costs recorded, runs finished, labels fixed, VMs stopped', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'functions/sandbox/start.ts', '--once'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          COSTGUARD_SANDBOX_PORT: '0',
        },
        timeout: 120_000,
      },
    );
    for (const target of [
      'recordSpotCosts',
      'enforceBudget',
      'enforceLabels',
      'enforceLabelsOnCreate',
      'triggerRun',
    ]) {
      expect(stdout).toMatch(new RegExp(`${target} +http://127\\.0\\.0\\.1:\\d+/`));
    }
    expect(stdout).toMatch(/recorded hours 18:00, 19:00, 20:00, 21:00, 22:00, 23:00: \d+ rows/);
    expect(stdout).toMatch(/nightly-categories: SUCCEEDED; marker _SUCCESS/);
    expect(stdout).toMatch(/POST \/runs again while the VM is busy -> 409/);
    expect(stdout).toMatch(/stop {3}ml-training-prod\/us-central1-b\/nlp-scratch-gpu/);
    expect(stdout).toMatch(/spend 102% \(5100 USD\): stopped \d+:/);
    // Critical, exempt and MIG-managed VMs are never stopped.
    expect(stdout).not.toMatch(
      /stop[^\n]*(platform-api-01|vision-trainer-critical|etl-nightly-exempt|workers-7x2k)/,
    );
  }, 150_000);
});

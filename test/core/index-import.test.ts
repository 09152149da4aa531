import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/fixtures.js';

describe('importing the functions module', () => {
  it('registers every public target, reads no configuration, builds no client and loads no client library', () => {
    const output = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'test/support/import-probe.ts'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          COSTGUARD_PROJECTS: 'ml-training-prod',
          GCP_EMULATOR_HOST: '127.0.0.1:1',
        },
      },
    );
    const probe = JSON.parse(output) as {
      read: string[];
      clientLibraries: string[];
      registered: string[];
    };
    const ours = probe.read.filter(
      (name) => name === '*' || /^(COSTGUARD_|GCP_|SLACK_|GOOGLE_)|_EMULATOR_HOST$/.test(name),
    );
    expect(ours).toEqual([]);
    expect(probe.clientLibraries).toEqual([]);
    expect(probe.registered).toEqual([
      'recordSpotCosts',
      'enforceBudget',
      'enforceLabels',
      'enforceLabelsOnCreate',
      'enforceSpotCap',
      'triggerRun',
      'slackActions',
      'recordPreemption',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { playRunDemo, runDemoSettings } from '../../functions/sandbox/demos/runs.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { sandboxRuntime, startTestSandbox } from '../support/sandbox.js';
import { fakePrices } from '../support/runs.js';

// What `npm start` plays for the run trigger, on the demo fleet.
describe('the run demo', () => {
  it('follows a batch VM run and a Cloud Run execution to completion on the simulated clock', async () => {
    // Prepare
    const sandbox = await startTestSandbox('fleets/demo.json');
    const runtime = sandboxRuntime(sandbox, {
      COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines,research-sandbox',
      COSTGUARD_SLACK_CHANNEL: 'C0COSTGUARD',
      SLACK_BOT_TOKEN: 'xoxb-local-sandbox',
      ...runDemoSettings(),
    });
    await commonAdapters(runtime, readConfig(commonSettings, runtime.env)).ledger.migrate();
    const lines: string[] = [];

    try {
      // Act
      const outcome = await playRunDemo({
        sandbox,
        runtime,
        out: (line) => lines.push(line),
        prices: fakePrices({ 'c4d-highcpu-32': 0.0898 }),
      });

      // Assess
      expect(outcome.runs.map((r) => [r.pipeline, r.status])).toEqual([
        ['nightly-categories', 'SUCCEEDED'],
        ['feature-extraction', 'SUCCEEDED'],
      ]);
      expect(outcome.runs[0]?.cost).toEqual({
        amount: 0.142183,
        currency: 'USD',
        source: 'estimate',
      });
      expect(outcome.simulatedMinutes).toBe(105);
      expect(lines.find((l) => l.includes('while the VM is busy'))).toMatch(/-> 409 /);
      expect(
        slackState(sandbox).messages.map((m) => m.text.split(' ').slice(-4).join(' ')),
      ).toHaveLength(4);
      expect(sandbox.fleet.get('data-pipelines', 'us-east1-b', 'batch-runner')?.status).toBe(
        'TERMINATED',
      );
    } finally {
      await sandbox.close();
    }
  });
});

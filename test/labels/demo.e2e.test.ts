import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { playLabelEnforcementDemo } from '../../functions/sandbox/demos/labels.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { fakePrices, labelEnv, labelLedger, slackMessages } from './label-sandbox.js';

// What `npm start` shows of label enforcement: fix, mark, and stop after the grace period.
describe('the label enforcement demo', () => {
  let sandbox: Sandbox;

  beforeEach(async () => {
    // The demo fleet with the label violators folded in, as the local run uses it.
    const demo = loadFixture<FleetFixture>('fleets/demo.json');
    const violators = loadFixture<FleetFixture>('fleets/labels.json');
    sandbox = await startTestSandbox({
      ...demo,
      instances: [...demo.instances, ...violators.instances],
    });
    await labelLedger(sandbox).migrate();
  });
  afterEach(() => sandbox.close());

  it('fixes and marks on the first sweep and stops the marked Spot VMs after the grace period', async () => {
    const lines: string[] = [];
    const env = labelEnv({ COSTGUARD_LABELS_DRY_RUN: 'true' });
    delete env.COSTGUARD_LABEL_POLICY_FILE;

    const { first, second } = await playLabelEnforcementDemo(
      sandboxRuntime(sandbox, env),
      sandbox,
      {
        print: (line) => lines.push(line),
        overrides: { prices: fakePrices },
      },
    );

    expect(first.dryRun).toBe(false);
    expect(first.counts.fixed).toBeGreaterThan(0);
    expect(first.counts.marked).toBeGreaterThan(0);
    const marked = first.actions.filter((a) => a.action === 'mark').map((a) => a.vm);
    expect(marked).toEqual(
      expect.arrayContaining([
        'ml-training-prod/us-central1-b/nlp-scratch-gpu',
        'research-sandbox/europe-west4-a/research-sweep-untagged',
      ]),
    );
    const stoppedLater = second.actions
      .filter((a) => a.action === 'stop' && a.status === 'done')
      .map((a) => a.vm);
    expect(stoppedLater).toEqual(
      expect.arrayContaining(['ml-training-prod/us-central1-b/nlp-scratch-gpu']),
    );
    for (const vm of stoppedLater) {
      const [project, zone, name] = vm.split('/') as [string, string, string];
      expect(sandbox.fleet.get(project, zone, name)?.status).toBe('TERMINATED');
    }
    expect(sandbox.clock.now().toISOString()).toBe('2026-11-24T01:00:00.000Z');
    expect(
      lines.some((l) => l.includes('mark') && l.includes('nlp-scratch-gpu (until 2026-11-23)')),
    ).toBe(true);
    expect(lines.some((l) => /^\s+stop\s/.test(l))).toBe(true);
    expect(slackMessages(sandbox)).toHaveLength(2);
  });
});

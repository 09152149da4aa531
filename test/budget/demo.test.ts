import { afterEach, describe, expect, it } from 'vitest';
import { runBudgetDemo } from '../../functions/sandbox/demos/budget.js';
import { BudgetHarness, fakePrices } from './budget-harness.js';

describe('runBudgetDemo (what npm start shows)', () => {
  let harness: BudgetHarness | undefined;
  afterEach(() => harness?.close());

  it('walks simulated spend through the tiers and the VMs visibly stop', async () => {
    harness = await BudgetHarness.start({ env: { COSTGUARD_BUDGET_ENFORCE: '' } });
    const steps = await runBudgetDemo({
      sandbox: harness.sandbox,
      runtime: { ...harness.runtime, env: { ...harness.runtime.env } },
      prices: fakePrices,
    });
    const names = (stopped: readonly string[]): string[] =>
      stopped.map((s) => s.split('/').pop() ?? '').sort();
    expect(steps.map((s) => [s.spend, s.costAmount, names(s.stopped)])).toEqual([
      [0.5, 2500, []],
      [0.85, 4250, []],
      [1.02, 5100, ['low-a100', 'low-n2-4', 'low-n2-8', 'pipeline-low', 'unlabelled-e2']],
      [
        1.15,
        5750,
        [
          'low-a100',
          'low-n2-4',
          'low-n2-8',
          'medium-l4',
          'medium-n2-16',
          'pipeline-low',
          'unlabelled-e2',
        ],
      ],
    ]);
    expect(harness.slack().map((m) => m.text.split('.')[0])).toEqual([
      'Budget Spot ML training at 85%: tier 80%',
      'Budget Spot ML training at 102%: tier 100%',
      'Budget Spot ML training at 115%: tier 110%',
    ]);
  });
});

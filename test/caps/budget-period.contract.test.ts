import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetDirectory } from '../../functions/adapters/budgets.js';
import { PermanentError } from '../../functions/core/errors.js';
import { putBudget } from '../../functions/sandbox/routes/billing-budgets.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The period a cap that follows a budget reads: the real @google-cloud/billing-budgets client
// against the sandbox's getBudget, a calendar budget and one with dates of its own.
const ACCOUNT = '01D4EE-079462-DFD6EC';

describe('BudgetDirectory.period', () => {
  let sandbox: Sandbox;
  let budgets: BudgetDirectory;

  beforeAll(async () => {
    sandbox = await startTestSandbox('caps/fleet.json');
    putBudget(sandbox, loadFixture('budget/get-budget.json'));
    putBudget(sandbox, loadFixture('caps/get-budget-custom-period.json'));
    const runtime = sandboxRuntime(sandbox);
    budgets = new BudgetDirectory(() => runtime.clients.budgets(), {
      logger: runtime.logger,
      retry: { baseDelayMs: 1 },
    });
  });
  afterAll(() => sandbox.close());

  it.each([
    {
      budget: 'de72f49d-779b-4945-a127-4d6ce8def0bb',
      period: { kind: 'calendar', unit: 'MONTH' },
    },
    {
      budget: '9b2c6e1a-5d3f-4a7b-8c9d-0e1f2a3b4c5d',
      period: {
        kind: 'custom',
        start: { year: 2026, month: 11, day: 10 },
        end: { year: 2027, month: 2, day: 28 },
      },
    },
  ])('reads budget $budget as $period.kind', async ({ budget, period }) => {
    expect(await budgets.period(`billingAccounts/${ACCOUNT}/budgets/${budget}`)).toEqual(period);
    expect(sandbox.calls.at(-1)?.route).toBe('billingbudgets.budgets.get');
  });

  it('says a budget that does not exist is a permanent failure, naming it', async () => {
    const name = `billingAccounts/${ACCOUNT}/budgets/00000000-0000-4000-8000-000000000000`;
    const reading = budgets.period(name);
    await expect(reading).rejects.toBeInstanceOf(PermanentError);
    await expect(reading).rejects.toThrow(`Budget ${name} does not exist`);
  });
});

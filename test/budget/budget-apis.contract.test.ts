import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BudgetDirectory } from '../../functions/adapters/budgets.js';
import { ProjectDirectory } from '../../functions/adapters/projects.js';
import { isTransient, PermanentError } from '../../functions/core/errors.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { putBudget } from '../../functions/sandbox/routes/billing-budgets.js';
import { setProjectLabels } from '../../functions/sandbox/routes/resource-manager.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

const ACCOUNT = '01D4EE-079462-DFD6EC';
const BUDGET = 'de72f49d-779b-4945-a127-4d6ce8def0bb';

// The real @google-cloud/billing-budgets and @google-cloud/resource-manager clients against the
// sandbox's Budgets and Resource Manager routes.
describe('Budgets and Resource Manager contract', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeEach(async () => {
    sandbox = await startTestSandbox(loadFixture<FleetFixture>('budget/fleet.json'), {});
    runtime = sandboxRuntime(sandbox);
    for (const name of [
      'get-budget.json',
      'get-budget-whole-account.json',
      'get-budget-folder.json',
    ]) {
      putBudget(sandbox, loadFixture(`budget/${name}`));
    }
  });
  afterEach(() => sandbox.close());

  const budgets = (): BudgetDirectory =>
    new BudgetDirectory(() => runtime.clients.budgets(), {
      logger: runtime.logger,
      retry: { baseDelayMs: 1 },
    });
  const projects = (): ProjectDirectory =>
    new ProjectDirectory(() => runtime.clients.projects(), {
      logger: runtime.logger,
      retry: { baseDelayMs: 1 },
    });

  it('returns getBudget as the client library decodes it, with no credentials sent', async () => {
    const client = await runtime.clients.budgets();
    const [budget] = await client.getBudget({
      name: `billingAccounts/${ACCOUNT}/budgets/${BUDGET}`,
    });
    expect(budget.displayName).toBe('Spot ML training');
    expect(budget.budgetFilter?.projects).toEqual([
      'projects/481516234201',
      'projects/161803398874',
      'projects/314159265358',
    ]);
    expect(budget.budgetFilter?.creditTypesTreatment).toBe('INCLUDE_ALL_CREDITS');
    expect(budget.amount?.specifiedAmount).toMatchObject({ currencyCode: 'USD', units: '5000' });
    expect(budget.thresholdRules?.map((r) => [r.thresholdPercent, r.spendBasis])).toEqual([
      [0.5, 'CURRENT_SPEND'],
      [0.9, 'CURRENT_SPEND'],
      [1, 'CURRENT_SPEND'],
      [1, 'FORECASTED_SPEND'],
    ]);
    expect(budget.notificationsRule?.schemaVersion).toBe('1.0');
    const calls = sandbox.calls.filter((c) => c.route === 'billingbudgets.budgets.get');
    expect(calls.map((c) => c.path)).toEqual([`/v1/billingAccounts/${ACCOUNT}/budgets/${BUDGET}`]);
    expect(sandbox.calls.every((c) => !c.authorization)).toBe(true);
  });

  it('lists budgets in pages', async () => {
    const client = await runtime.clients.budgets();
    const names: string[] = [];
    for await (const budget of client.listBudgetsAsync({
      parent: `billingAccounts/${ACCOUNT}`,
      pageSize: 2,
    })) {
      names.push(budget.displayName ?? '');
    }
    expect(names.sort()).toEqual(['Research folder', 'Spot ML training', 'Whole billing account']);
  });

  it.each([
    {
      id: BUDGET,
      expected: {
        displayName: 'Spot ML training',
        projects: ['481516234201', '161803398874', '314159265358'],
        resourceAncestors: [],
      },
    },
    {
      id: '0c4b3c5e-5d1a-4a8e-bb2f-97f1e3d5a6c7',
      expected: { displayName: 'Whole billing account', projects: [], resourceAncestors: [] },
    },
    {
      id: '93a1be2c-4f7d-4c1e-8a55-3e2f1d0c9b8a',
      expected: {
        displayName: 'Research folder',
        projects: [],
        resourceAncestors: ['folders/246813579024'],
      },
    },
  ])('reads the scope of budget $id', async ({ id, expected }) => {
    expect(await budgets().scope(ACCOUNT, id)).toMatchObject(expected);
  });

  it('says a missing budget is permanent, and retries a transient failure', async () => {
    await expect(budgets().scope(ACCOUNT, 'no-such-budget')).rejects.toThrow(
      new PermanentError(`Budget billingAccounts/${ACCOUNT}/budgets/no-such-budget does not exist`),
    );
    sandbox.faults.set('billingbudgets.budgets.get', { fail: { count: 2, status: 503 } });
    expect((await budgets().scope(ACCOUNT, BUDGET)).displayName).toBe('Spot ML training');
    sandbox.faults.set('billingbudgets.budgets.get', { fail: { count: 1, status: 403 } });
    await expect(budgets().scope(ACCOUNT, BUDGET)).rejects.toThrow(/grant billing.budgets.get/);
  });

  it('resolves project numbers to ids once, and leaves unknown projects out', async () => {
    setProjectLabels(sandbox, 'ml-training-prod', { env: 'prod' });
    const client = await runtime.clients.projects();
    const [project] = await client.getProject({ name: 'projects/481516234201' });
    expect(project).toMatchObject({
      name: 'projects/481516234201',
      projectId: 'ml-training-prod',
      state: 'ACTIVE',
      labels: { env: 'prod' },
    });
    const directory = projects();
    expect(await directory.idOf('481516234201')).toBe('ml-training-prod');
    expect(await directory.idOf('481516234201')).toBe('ml-training-prod');
    expect(await directory.idOf('data-pipelines')).toBe('data-pipelines');
    expect(await directory.idOf('314159265358')).toBeUndefined();
    const gets = sandbox.calls.filter((c) => c.route === 'resourcemanager.projects.get');
    expect(gets.map((c) => `${c.path} ${c.status}`)).toEqual([
      '/v3/projects/481516234201 200',
      '/v3/projects/481516234201 200',
      '/v3/projects/data-pipelines 200',
      '/v3/projects/314159265358 403',
    ]);
  });

  it('retries a transient Resource Manager failure and does not remember it', async () => {
    sandbox.faults.set('resourcemanager.projects.get', { fail: { count: 9, status: 503 } });
    const directory = projects();
    const failure: unknown = await directory.idOf('271828182845').catch((error: unknown) => error);
    expect(isTransient(failure)).toBe(true);
    sandbox.faults.clear();
    expect(await directory.idOf('271828182845')).toBe('data-pipelines');
  });

  it('rejects a budget without a proper name on the control route', async () => {
    const response = await fetch(`${sandbox.url}/_sandbox/billing/budgets`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'budgets/x' }),
    });
    expect(response.status).toBe(400);
  });
});

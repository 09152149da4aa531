/**
 * Cloud Billing Budgets v1 for the sandbox: `budgets.get` and `budgets.list` of the budgets put
 * in with `putBudget` or `PUT /_sandbox/billing/budgets` (a Budget resource in its REST form,
 * `name` included). There are none until one is put in.
 */

import { errorMessage } from '../../core/errors.js';
import { asRecord, fail, notFound, page, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

const NAME = /^billingAccounts\/[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}\/budgets\/[A-Za-z0-9-]{1,64}$/;

interface BudgetState {
  budgets: Map<string, Record<string, unknown>>;
}

function state(sandbox: Sandbox): BudgetState {
  return sandbox.extension<BudgetState>('billing-budgets', () => ({ budgets: new Map() }));
}

/** Stores (or replaces) a budget; `budget.name` is `billingAccounts/A/budgets/B`. */
export function putBudget(sandbox: Sandbox, budget: Record<string, unknown>): void {
  const name = budget.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Error('a budget needs a name like billingAccounts/01D4EE-079462-DFD6EC/budgets/ID');
  }
  state(sandbox).budgets.set(name, structuredClone(budget));
}

const routes = [
  route<Sandbox>(
    'billingbudgets.budgets.get',
    'GET',
    '/v1/billingAccounts/{account}/budgets/{budget}',
    (request, sandbox) => {
      const name = `billingAccounts/${request.params.account}/budgets/${request.params.budget}`;
      const budget = state(sandbox).budgets.get(name);
      if (!budget) notFound(name);
      return { body: budget };
    },
  ),
  route<Sandbox>(
    'billingbudgets.budgets.list',
    'GET',
    '/v1/billingAccounts/{account}/budgets',
    (request, sandbox) => {
      const prefix = `billingAccounts/${request.params.account}/budgets/`;
      const all = [...state(sandbox).budgets.values()].filter((b) =>
        String(b.name).startsWith(prefix),
      );
      const { items, nextPageToken } = page(all, request.query, {
        sizeParam: 'pageSize',
        defaultSize: 50,
        maxSize: 100,
      });
      return { body: { budgets: items, ...(nextPageToken ? { nextPageToken } : {}) } };
    },
  ),
  route<Sandbox>('sandbox.budgets.put', 'PUT', '/_sandbox/billing/budgets', (request, sandbox) => {
    const budget = asRecord(request.body);
    try {
      putBudget(sandbox, budget);
    } catch (error) {
      fail(400, errorMessage(error));
    }
    return { body: budget };
  }),
];

export const billingBudgetsModule: SandboxModule = { name: 'billing-budgets', routes };

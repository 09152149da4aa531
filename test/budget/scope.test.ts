import { describe, expect, it } from 'vitest';
import type { BudgetScope } from '../../functions/adapters/budgets.js';
import { resolveScope } from '../../functions/budget/scope.js';

const budget = (filter: Partial<BudgetScope>): BudgetScope => ({
  name: 'billingAccounts/01D4EE-079462-DFD6EC/budgets/b',
  displayName: 'b',
  projects: [],
  resourceAncestors: [],
  subaccounts: [],
  ...filter,
});

const IDS = new Map<string, string | undefined>([
  ['481516234201', 'ml-training-prod'],
  ['161803398874', 'research-sandbox'],
  ['314159265358', undefined],
]);
const ALLOW = ['ml-training-prod', 'data-pipelines'];
const NONE_ALLOWED = 'none of the budget projects is allow-listed; nothing is in scope';

describe('resolveScope', () => {
  it.each<{
    case: string;
    filter: Partial<BudgetScope>;
    projects: string[];
    excluded: string[];
    note: string;
  }>([
    {
      case: 'a whole-account budget acts on the allow-list',
      filter: {},
      projects: ALLOW,
      excluded: [],
      note: 'the budget covers the whole billing account; acting on the allow-listed projects',
    },
    {
      case: 'budget projects are intersected with the allow-list',
      filter: { projects: ['481516234201', '161803398874', '314159265358'] },
      projects: ['ml-training-prod'],
      excluded: ['research-sandbox', '314159265358'],
      note: 'budget projects outside the allow-list are left alone: research-sandbox, 314159265358',
    },
    {
      case: 'a budget of projects none of which is allowed acts nowhere',
      filter: { projects: ['161803398874'] },
      projects: [],
      excluded: ['research-sandbox'],
      note: NONE_ALLOWED,
    },
    {
      case: 'a folder budget acts nowhere',
      filter: { resourceAncestors: ['folders/1'] },
      projects: [],
      excluded: [],
      note: 'the budget is limited to folders/1 without naming projects; nothing is in scope',
    },
    {
      case: 'a sub-account budget acts nowhere',
      filter: { subaccounts: ['billingAccounts/X'] },
      projects: [],
      excluded: [],
      note: 'the budget is limited to billingAccounts/X without naming projects; nothing is in scope',
    },
    {
      case: 'projects named by id are matched as they are',
      filter: { projects: ['data-pipelines'] },
      projects: [],
      excluded: ['data-pipelines'],
      note: NONE_ALLOWED,
    },
  ])('$case', ({ filter, projects, excluded, note }) => {
    const scope = resolveScope(budget(filter), IDS, ALLOW);
    expect(scope).toEqual({ projects, excluded, note });
  });

  it('uses ids that Resource Manager resolved, including from ids', () => {
    const ids = new Map([['data-pipelines', 'data-pipelines']]);
    expect(resolveScope(budget({ projects: ['data-pipelines'] }), ids, ALLOW)).toEqual({
      projects: ['data-pipelines'],
      excluded: [],
      note: 'all budget projects are allow-listed',
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { BudgetScope } from '../../functions/adapters/budgets.js';
import { resolveScope } from '../../functions/budget/scope.js';
import { nameBasedUuid } from '../../functions/core/request-id.js';
import { stopRequestId } from '../../functions/budget/stop-request-id.js';

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

describe('resolveScope', () => {
  it.each<[string, Partial<BudgetScope>, string[], string[]]>([
    ['a whole-account budget acts on the allow-list', {}, ALLOW, []],
    [
      'budget projects are intersected with the allow-list',
      { projects: ['481516234201', '161803398874', '314159265358'] },
      ['ml-training-prod'],
      ['research-sandbox', '314159265358'],
    ],
    [
      'a budget of projects none of which is allowed acts nowhere',
      { projects: ['161803398874'] },
      [],
      ['research-sandbox'],
    ],
    ['a folder budget acts nowhere', { resourceAncestors: ['folders/1'] }, [], []],
    ['a sub-account budget acts nowhere', { subaccounts: ['billingAccounts/X'] }, [], []],
    [
      'projects named by id are matched as they are',
      { projects: ['data-pipelines'] },
      [],
      ['data-pipelines'],
    ],
  ])('%s', (_case, filter, projects, excluded) => {
    const scope = resolveScope(budget(filter), IDS, ALLOW);
    expect(scope.projects).toEqual(projects);
    expect(scope.excluded).toEqual(excluded);
    expect(scope.note).not.toBe('');
  });

  it('uses ids that Resource Manager resolved, including from ids', () => {
    const ids = new Map([['data-pipelines', 'data-pipelines']]);
    expect(resolveScope(budget({ projects: ['data-pipelines'] }), ids, ALLOW).projects).toEqual([
      'data-pipelines',
    ]);
  });
});

describe('stopRequestId', () => {
  const vm = { project: 'ml-training-prod', zone: 'us-central1-a', name: 'low-a100' };
  const period = '2026-11-01T07:00:00.000Z';

  it('is a version 5 UUID that is the same for the same budget, period, tier and VM', () => {
    const id = stopRequestId('b-1', period, '1', vm);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stopRequestId('b-1', period, '1', { ...vm })).toBe(id);
  });

  it.each([
    ['budget', () => stopRequestId('b-2', period, '1', vm)],
    ['period', () => stopRequestId('b-1', '2026-12-01T08:00:00.000Z', '1', vm)],
    ['tier', () => stopRequestId('b-1', period, '1.1', vm)],
    ['VM', () => stopRequestId('b-1', period, '1', { ...vm, name: 'low-n2-8' })],
    ['zone', () => stopRequestId('b-1', period, '1', { ...vm, zone: 'us-central1-b' })],
  ])('differs with the %s', (_what, other) => {
    expect(other()).not.toBe(stopRequestId('b-1', period, '1', vm));
  });

  it('never yields the zero UUID Compute refuses', () => {
    expect(nameBasedUuid('')).not.toBe('00000000-0000-0000-0000-000000000000');
  });
});

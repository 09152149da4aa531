/**
 * Which projects a budget's enforcement may act in: the budget's own projects intersected with
 * the allow-list, or the allow-list alone for a budget over the whole billing account. A budget
 * limited by folders, organisations or sub-accounts without naming projects acts nowhere, since
 * costguard cannot tell which projects those hold.
 */
import type { BudgetScope } from '../adapters/budgets.js';

export interface EnforcementScope {
  readonly projects: readonly string[];
  /** Budget projects left out because they are not allow-listed (ids, or numbers if unresolved). */
  readonly excluded: readonly string[];
  readonly note: string;
}

export function resolveScope(
  budget: BudgetScope,
  /** Budget project number (or id) → project id, undefined where Resource Manager has none. */
  ids: ReadonlyMap<string, string | undefined>,
  allowList: readonly string[],
): EnforcementScope {
  if (budget.projects.length === 0) {
    if (budget.resourceAncestors.length > 0 || budget.subaccounts.length > 0) {
      const by = [...budget.resourceAncestors, ...budget.subaccounts].join(', ');
      return {
        projects: [],
        excluded: [],
        note: `the budget is limited to ${by} without naming projects; nothing is in scope`,
      };
    }
    return {
      projects: [...allowList],
      excluded: [],
      note: 'the budget covers the whole billing account; acting on the allow-listed projects',
    };
  }
  const allowed = new Set(allowList);
  const projects: string[] = [];
  const excluded: string[] = [];
  for (const entry of budget.projects) {
    const id = ids.get(entry);
    if (id !== undefined && allowed.has(id)) {
      if (!projects.includes(id)) projects.push(id);
    } else {
      excluded.push(id ?? entry);
    }
  }
  const note =
    projects.length === 0
      ? 'none of the budget projects is allow-listed; nothing is in scope'
      : excluded.length > 0
        ? `budget projects outside the allow-list are left alone: ${excluded.join(', ')}`
        : 'all budget projects are allow-listed';
  return { projects, excluded, note };
}

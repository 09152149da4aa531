import type { BudgetServiceClient } from '@google-cloud/billing-budgets';
import { httpStatusOf, PermanentError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

/**
 * The Cloud Billing Budgets port: what a budget covers. Only the scope matters to costguard:
 * `budgetFilter.projects` holds `projects/{NUMBER}` entries (an empty list means the whole
 * billing account); other filters narrow the spend counted but name no projects.
 */
export interface BudgetScope {
  /** `billingAccounts/A/budgets/B` */
  readonly name: string;
  readonly displayName: string;
  /** Project numbers (or ids, where the API returned ids) from `budgetFilter.projects`. */
  readonly projects: readonly string[];
  /** Folders or organisations the budget is limited to (`budgetFilter.resourceAncestors`). */
  readonly resourceAncestors: readonly string[];
  /** Reseller sub-accounts the budget is limited to (`budgetFilter.subaccounts`). */
  readonly subaccounts: readonly string[];
}

export interface BudgetDirectoryOptions {
  logger: Logger;
  retry?: RetryOptions;
}

export function budgetName(billingAccountId: string, budgetId: string): string {
  return `billingAccounts/${billingAccountId}/budgets/${budgetId}`;
}

export class BudgetDirectory {
  constructor(
    private readonly client: () => Promise<Pick<BudgetServiceClient, 'getBudget'>>,
    private readonly options: BudgetDirectoryOptions,
  ) {}

  /** The budget's scope; a missing budget or a refused read is permanent (a retry cannot help). */
  async scope(billingAccountId: string, budgetId: string): Promise<BudgetScope> {
    const name = budgetName(billingAccountId, budgetId);
    const client = await this.client();
    let budget;
    try {
      [budget] = await withRetry(
        () => client.getBudget({ name }),
        loggedRetries(this.options.logger, 'getBudget', this.options.retry, { budget: name }),
      );
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 404) {
        throw new PermanentError(`Budget ${name} does not exist`, { cause: error });
      }
      if (status === 403) {
        throw new PermanentError(
          `Reading budget ${name} was refused; grant billing.budgets.get on billing account ${billingAccountId} (Billing Account Viewer)`,
          { cause: error },
        );
      }
      throw error;
    }
    const filter = budget.budgetFilter ?? {};
    return {
      name,
      displayName: budget.displayName ?? '',
      projects: (filter.projects ?? []).map((p) => p.replace(/^projects\//, '')),
      resourceAncestors: [...(filter.resourceAncestors ?? [])],
      subaccounts: [...(filter.subaccounts ?? [])],
    };
  }
}

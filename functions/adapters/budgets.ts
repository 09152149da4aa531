/**
 * The Cloud Billing Budgets port: what a budget covers and over which period.
 * `budgetFilter.projects` holds `projects/{NUMBER}` entries (an empty list means the whole
 * billing account); other filters narrow the spend counted but name no projects. The period is
 * `budgetFilter.calendarPeriod` (MONTH, QUARTER, YEAR) or `budgetFilter.customPeriod` (a start
 * date and an optional end date), one or the other; a budget that sets neither is monthly.
 */

import type { BudgetServiceClient } from '@google-cloud/billing-budgets';
import { httpStatusOf, PermanentError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

export interface CivilDate {
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
  readonly day: number;
}

export type BudgetPeriod =
  | { readonly kind: 'calendar'; readonly unit: 'MONTH' | 'QUARTER' | 'YEAR' }
  | { readonly kind: 'custom'; readonly start: CivilDate; readonly end: CivilDate | undefined };

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

/** The client returns enums by name; the numbers are the proto's, for a client that does not. */
const CALENDAR_UNITS: Readonly<Record<string, 'MONTH' | 'QUARTER' | 'YEAR'>> = {
  MONTH: 'MONTH',
  QUARTER: 'QUARTER',
  YEAR: 'YEAR',
  '1': 'MONTH',
  '2': 'QUARTER',
  '3': 'YEAR',
};

interface DateMessage {
  year?: number | null;
  month?: number | null;
  day?: number | null;
}

function civilDate(date: DateMessage | null | undefined): CivilDate | undefined {
  const { year, month, day } = date ?? {};
  if (!year || !month || !day) return undefined;
  return { year, month, day };
}

function periodOf(
  name: string,
  filter: {
    calendarPeriod?: unknown;
    customPeriod?: { startDate?: DateMessage | null; endDate?: DateMessage | null } | null;
  },
): BudgetPeriod {
  const custom = filter.customPeriod;
  if (custom) {
    const start = civilDate(custom.startDate);
    if (!start) throw new PermanentError(`Budget ${name} has a custom period without a start date`);
    return { kind: 'custom', start, end: civilDate(custom.endDate) };
  }
  return { kind: 'calendar', unit: CALENDAR_UNITS[String(filter.calendarPeriod)] ?? 'MONTH' };
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
    const budget = await this.get(name, billingAccountId);
    const filter = budget.budgetFilter ?? {};
    return {
      name,
      displayName: budget.displayName ?? '',
      projects: (filter.projects ?? []).map((p) => p.replace(/^projects\//, '')),
      resourceAncestors: [...(filter.resourceAncestors ?? [])],
      subaccounts: [...(filter.subaccounts ?? [])],
    };
  }

  /** The period the budget `billingAccounts/A/budgets/B` counts spend over. */
  async period(name: string): Promise<BudgetPeriod> {
    const account = /^billingAccounts\/([^/]+)\/budgets\/[^/]+$/.exec(name)?.[1];
    if (!account) throw new PermanentError(`${name} is not a budget name`);
    const budget = await this.get(name, account);
    return periodOf(name, budget.budgetFilter ?? {});
  }

  private async get(name: string, billingAccountId: string) {
    const client = await this.client();
    try {
      const [budget] = await withRetry(
        () => client.getBudget({ name }),
        loggedRetries(this.options.logger, 'getBudget', this.options.retry, { budget: name }),
      );
      return budget;
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
  }
}

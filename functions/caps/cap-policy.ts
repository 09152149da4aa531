/**
 * Spot spend caps (`COSTGUARD_SPOT_CAPS`): named caps, each over a scope (every governed
 * project, some of them, and optionally only VMs with one label value), a calendar period in
 * UTC or the period of a Cloud Billing budget, an amount in a currency, and tiers in the budget policy's form: `at` a share of the cap,
 * `stop` the priorities shed when actual spend reaches it. A forecast reaching a tier only warns.
 */
import { z } from 'zod';
import { PROJECT_ID, setting } from '../core/config.js';
import { isValidLabelKey, isValidLabelValue } from '../core/labels.js';
import { budgetSettings, checkShedding, sheddingFields, tierSchema } from '../budget/policy.js';

export const CALENDAR_PERIODS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type CalendarPeriodKind = (typeof CALENDAR_PERIODS)[number];
/** `budget`: the period of the Cloud Billing budget the cap names (read on every run). */
export const CAP_PERIODS = [...CALENDAR_PERIODS, 'budget'] as const;
export type CapPeriodKind = (typeof CAP_PERIODS)[number];

const BUDGET_NAME =
  /^billingAccounts\/[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}\/budgets\/[A-Za-z0-9-]{1,64}$/;

const CAP_NAME = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/** `team=vision`: one label key and the value a VM must carry to be in the cap. */
const labelMatch = z.string().transform((text, context) => {
  const at = text.indexOf('=');
  const key = at < 0 ? '' : text.slice(0, at);
  const value = at < 0 ? '' : text.slice(at + 1);
  if (!isValidLabelKey(key) || value === '' || !isValidLabelValue(value)) {
    context.addIssue({
      code: 'custom',
      message: 'expected key=value with a valid label key and a non-empty label value',
    });
    return z.NEVER;
  }
  return { key, value };
});

const scopeSchema = z
  .object({
    projects: z.array(z.string().regex(PROJECT_ID, 'not a project id')).min(1).optional(),
    label: labelMatch.optional(),
  })
  .strict();

export const capSchema = z
  .object({
    name: z.string().regex(CAP_NAME, 'lowercase letters, digits and dashes, 2 to 63 characters'),
    scope: scopeSchema.default({}),
    period: z.enum(CAP_PERIODS),
    /** With period `budget`: `billingAccounts/A/budgets/B`, whose period the cap follows. */
    budget: z.string().regex(BUDGET_NAME, 'billingAccounts/ACCOUNT/budgets/ID').optional(),
    amount: z.number().positive(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD'),
    tiers: z.array(tierSchema).min(1),
    ...sheddingFields,
  })
  .strict()
  .superRefine(checkShedding)
  .superRefine((cap, context) => {
    if ((cap.period === 'budget') !== (cap.budget !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['budget'],
        message: 'a cap names a budget exactly when its period is "budget"',
      });
    }
  });

export const capsSchema = z.array(capSchema).superRefine((caps, context) => {
  const seen = new Set<string>();
  caps.forEach((cap, i) => {
    if (seen.has(cap.name)) {
      context.addIssue({ code: 'custom', path: [i, 'name'], message: 'cap names must be unique' });
    }
    seen.add(cap.name);
  });
});

/** A cap as validated; it is also the shedding policy its tiers are carried out with. */
export type SpotCap = z.output<typeof capSchema>;
export type CapScope = SpotCap['scope'];

export const capSettings = {
  caps: setting.json(
    'COSTGUARD_SPOT_CAPS',
    'the Spot spend caps as a JSON array (name, scope {projects, label "key=value"}, period day|week|month|quarter|year or budget with budget "billingAccounts/A/budgets/B", amount, currency, tiers)',
    capsSchema,
    { default: [] },
  ),
  enforce: setting.boolean('COSTGUARD_SPOT_CAPS_ENFORCE', false),
  // Stops are paced like the budget enforcer's: one setting for both.
  stopConcurrency: budgetSettings.stopConcurrency,
  recentHours: setting.number(
    'COSTGUARD_SPOT_CAP_RECENT_HOURS',
    'how many recorded hours the recent burn rate is taken over, 1 to 24',
    { default: 3, min: 1, max: 24, integer: true },
  ),
};

/** `projects ml-training-prod, data-pipelines; label team=vision` */
export function describeScope(scope: CapScope, projects: readonly string[]): string {
  const where = scope.projects ? `projects ${projects.join(', ')}` : 'every governed project';
  return scope.label ? `${where}; label ${scope.label.key}=${scope.label.value}` : where;
}

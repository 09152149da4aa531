/**
 * The shedding policy: ordered tiers of spend against budget, each either only telling Slack
 * or stopping VMs of the listed priorities (lowest first, most expensive first, optionally at
 * most `maxStops` of them). `critical` can never be listed: those VMs are never stopped.
 */
import { z } from 'zod';
import { PROJECT_ID, setting } from '../core/config.js';
import { isValidLabelKey, LABEL, PRIORITIES } from '../core/labels.js';
import { NAMESPACED_TAG_KEY } from '../core/vm.js';
import { VM_PATTERN } from './vm-pattern.js';

const stoppable = z.enum(['low', 'medium', 'high'], {
  message: 'a tier may stop low, medium or high; critical VMs are never stopped',
});

const labelKey = z.string().refine(isValidLabelKey, { message: 'not a valid label key' });

const tagKey = z
  .string()
  .regex(
    NAMESPACED_TAG_KEY,
    'a namespaced tag key, ORGANIZATION_ID/SHORT_NAME (or PROJECT/SHORT_NAME)',
  );

const vmPattern = z.string().regex(VM_PATTERN, 'a VM as project/zone/name, any part may be *');

/** The longest a tier may wait for an approval: a day; longer belongs to a human process. */
export const MAX_APPROVAL_MINUTES = 1440;

/**
 * A tier that asks before it stops: what it would stop is posted with Approve and Skip
 * buttons, and `default` applies when nobody decides within `timeoutMinutes`.
 */
export const approvalSchema = z.strictObject({
  timeoutMinutes: z
    .number()
    .int('a whole number of minutes')
    .positive()
    .max(MAX_APPROVAL_MINUTES, `at most ${MAX_APPROVAL_MINUTES} minutes (a day)`),
  default: z.enum(['stop', 'skip'], { message: 'what the timeout does: "stop" or "skip"' }),
});
export type Approval = z.output<typeof approvalSchema>;

export const tierSchema = z
  .object({
    at: z.number().positive().max(100),
    stop: z.array(stoppable).default([]),
    maxStops: z.number().int().positive().optional(),
    approve: approvalSchema.optional(),
  })
  .strict();

/** What a VM is judged by when a tier sheds: the same for a budget and for a Spot cap. */
export const sheddingFields = {
  provisioningModels: z
    .array(z.enum(['SPOT', 'PREEMPTIBLE', 'STANDARD']))
    .min(1)
    .default(['SPOT']),
  priorityLabel: labelKey.default(LABEL.priority),
  missingPriority: z.enum(PRIORITIES).default('low'),
  exemptLabel: labelKey.default(LABEL.exempt),
  /**
   * Where priority and exemption come from: the VMs' own labels, this policy only, or the
   * Resource Manager tags bound to each VM (with `policy` and `tags` labels are ignored, so a
   * team cannot make its VMs critical or exempt by labelling them).
   */
  prioritySource: z.enum(['labels', 'policy', 'tags']).default('labels'),
  /**
   * With `prioritySource: "tags"`: the namespaced tag keys (`ORGANIZATION_ID/SHORT_NAME`) whose
   * values give a VM's priority and exemption. Namespaced, so that a key of the same short name
   * made under a team's own project means nothing.
   */
  priorityTag: tagKey.optional(),
  exemptTag: tagKey.optional(),
  /** `project/zone/name` (any segment may be `*`) to a priority; the most specific match wins. */
  priorities: z.record(vmPattern, z.enum(PRIORITIES)).default({}),
  /** `project/zone/name` patterns of VMs never stopped, when priorities come from the policy. */
  exemptVms: z.array(vmPattern).max(1000).default([]),
};

type SheddingFields = z.output<z.ZodObject<typeof sheddingFields>>;

/**
 * Tiers rise strictly, only a tier that stops may cap its stops, and priorities and exempt VMs
 * are named only when the policy is where priorities come from, tag keys only with tags.
 */
export function checkShedding(
  policy: SheddingFields & { readonly tiers: ReadonlyArray<z.output<typeof tierSchema>> },
  context: z.RefinementCtx,
): void {
  if (
    policy.prioritySource !== 'policy' &&
    (Object.keys(policy.priorities).length > 0 || policy.exemptVms.length > 0)
  ) {
    context.addIssue({
      code: 'custom',
      path: ['prioritySource'],
      message: 'priorities and exemptVms apply only with prioritySource "policy"',
    });
  }
  const fromTags = policy.prioritySource === 'tags';
  if (fromTags && policy.priorityTag === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['priorityTag'],
      message: 'prioritySource "tags" needs priorityTag (ORGANIZATION_ID/SHORT_NAME)',
    });
  }
  if (!fromTags && (policy.priorityTag !== undefined || policy.exemptTag !== undefined)) {
    context.addIssue({
      code: 'custom',
      path: ['prioritySource'],
      message: 'priorityTag and exemptTag apply only with prioritySource "tags"',
    });
  }
  policy.tiers.forEach((tier, i) => {
    const previous = policy.tiers[i - 1];
    if (previous && tier.at <= previous.at) {
      context.addIssue({
        code: 'custom',
        path: ['tiers', i, 'at'],
        message: 'tiers must be in increasing order of `at`',
      });
    }
    if (tier.maxStops !== undefined && tier.stop.length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['tiers', i, 'maxStops'],
        message: 'maxStops needs a `stop` list',
      });
    }
    if (tier.approve !== undefined && tier.stop.length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['tiers', i, 'approve'],
        message: 'approve needs a `stop` list: a notify-only tier has nothing to approve',
      });
    }
  });
}

export const policySchema = z
  .object({
    tiers: z.array(tierSchema).min(1),
    ...sheddingFields,
    projects: z.array(z.string().regex(PROJECT_ID, 'not a project id')).min(1).optional(),
  })
  .strict()
  .superRefine(checkShedding);

/**
 * `at` is the spend ratio (costAmount / budgetAmount) where a tier applies; `stop` the
 * priorities it stops (empty: it only notifies); `missingPriority` what a VM without a
 * recognised priority label counts as; `projects` narrows COSTGUARD_PROJECTS.
 */
export type SheddingPolicy = z.output<typeof policySchema>;
export type Tier = SheddingPolicy['tiers'][number];

export const DEFAULT_POLICY: z.input<typeof policySchema> = {
  tiers: [{ at: 0.8 }, { at: 1.0, stop: ['low'] }, { at: 1.1, stop: ['low', 'medium'] }],
};

export const budgetSettings = {
  policy: setting.json(
    'COSTGUARD_BUDGET_POLICY',
    'the budget shedding policy as JSON (tiers, provisioningModels, priorityLabel, missingPriority, exemptLabel, projects)',
    policySchema,
    { default: DEFAULT_POLICY },
  ),
  enforce: setting.boolean('COSTGUARD_BUDGET_ENFORCE', false),
  stopConcurrency: setting.number(
    'COSTGUARD_BUDGET_STOP_CONCURRENCY',
    'how many VM stops run at once, 1 to 500',
    { default: 50, min: 1, max: 500, integer: true },
  ),
};

// Spend figures are decimal money in binary floats: 0.7 * 10 is 7.000000000000001.
const RATIO_TOLERANCE = 1e-9;

/** The highest tier whose threshold the spend ratio has reached, if any. */
export function tierReached(policy: SheddingPolicy, spendRatio: number): Tier | undefined {
  let reached: Tier | undefined;
  for (const tier of policy.tiers) {
    if (spendRatio + RATIO_TOLERANCE >= tier.at) reached = tier;
  }
  return reached;
}

/** The tier above `tier`, for telling what comes next. */
export function nextTier(policy: SheddingPolicy, tier: Tier | undefined): Tier | undefined {
  return policy.tiers.find((t) => tier === undefined || t.at > tier.at);
}

/** `110%` */
export function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

export function describeTier(tier: Tier): string {
  const what =
    tier.stop.length === 0
      ? 'notify only'
      : `stop ${tier.stop.join(' and ')} priority${tier.maxStops ? ` (at most ${tier.maxStops} VMs)` : ''}${tier.approve ? `, after approval (${tier.approve.default} after ${tier.approve.timeoutMinutes} min)` : ''}`;
  return `${percent(tier.at)}: ${what}`;
}

/**
 * The label policy: which labels every VM in scope must carry, which values they may hold, how
 * missing ones can be derived, and what happens to a VM that stays non-compliant. It arrives as
 * JSON configuration and is validated here, so the evaluator can trust every field.
 */

import { z } from 'zod';
import { PROJECT_ID } from '../core/config.js';
import { isValidLabelKey, isValidLabelValue, LABEL, MAX_LABEL_LENGTH } from '../core/labels.js';
import { NAMESPACED_TAG_KEY, type ProvisioningModel } from '../core/vm.js';

export const LABEL_ACTIONS = ['report', 'fix', 'mark', 'stop'] as const;
export type LabelAction = (typeof LABEL_ACTIONS)[number];

/** Each action includes the ones before it: `stop` also fixes and marks. */
export function actionIncludes(configured: LabelAction, wanted: LabelAction): boolean {
  return LABEL_ACTIONS.indexOf(configured) >= LABEL_ACTIONS.indexOf(wanted);
}

const provisioningModel = z.enum(['SPOT', 'PREEMPTIBLE', 'STANDARD']);

const labelKey = z
  .string()
  .refine(
    isValidLabelKey,
    'must be a label key: lowercase letters, digits, _ and -, starting with a letter, at most 63 characters',
  );

const labelValue = z
  .string()
  .refine(
    isValidLabelValue,
    'must be a label value: lowercase letters, digits, _ and -, at most 63 characters',
  );

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const pattern = z.string().min(1).max(500).refine(compiles, 'must be a valid regular expression');

const derivation = z.union([
  z.object({ value: labelValue.refine((v) => v !== '', 'must not be empty') }).strict(),
  z.object({ projectLabel: labelKey }).strict(),
  z
    .object({
      namePattern: pattern,
      /** Named capture group holding the value (default: the label key being derived). */
      group: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional(),
    })
    .strict(),
]);

const keyRule = z
  .object({
    required: z.boolean().default(true),
    /** The only values allowed, or a pattern every value must match in full. */
    values: z.array(labelValue).min(1).optional(),
    pattern: pattern.optional(),
    /** Tried in order for a missing key; the first valid, allowed result is used. */
    derive: z.array(derivation).max(10).default([]),
  })
  .strict()
  .refine((rule) => !(rule.values && rule.pattern), 'give either values or pattern, not both');

/** The policy's schema, for `setting.json`; `toLabelPolicy` turns its output into a `LabelPolicy`. */
export const labelPolicySchema = z
  .object({
    labels: z
      .record(labelKey, keyRule)
      .refine((labels) => Object.keys(labels).length > 0, 'at least one label key is needed')
      .refine((labels) => Object.keys(labels).length <= 32, 'at most 32 label keys'),
    scope: z
      .object({
        /** Projects to check (default: every governed project). */
        projects: z.array(z.string().regex(PROJECT_ID, 'must be a project id')).min(1).optional(),
        provisioningModels: z
          .array(provisioningModel)
          .min(1)
          .default(['SPOT', 'PREEMPTIBLE', 'STANDARD']),
      })
      .strict()
      .default({ provisioningModels: ['SPOT', 'PREEMPTIBLE', 'STANDARD'] }),
    exemptLabel: labelKey.default(LABEL.exempt),
    /**
     * The namespaced tag key (`ORGANIZATION_ID/SHORT_NAME`) whose Resource Manager tag exempts a
     * VM; when set, exempt labels count for nothing, so no VM owner can exempt a VM himself.
     */
    exemptTag: z
      .string()
      .regex(NAMESPACED_TAG_KEY, 'a namespaced tag key, ORGANIZATION_ID/SHORT_NAME')
      .optional(),
    action: z.enum(LABEL_ACTIONS).default('report'),
    graceDays: z.number().int().min(0).max(90).default(3),
    /** Provisioning models a violation may stop; Spot-like only unless configured. */
    stopProvisioningModels: z.array(provisioningModel).min(1).default(['SPOT', 'PREEMPTIBLE']),
  })
  .strict()
  .superRefine((policy, context) => {
    for (const [key, rule] of Object.entries(policy.labels)) {
      if ([LABEL.stopAfter, policy.exemptLabel].includes(key)) {
        context.addIssue({
          code: 'custom',
          path: ['labels', key],
          message: 'is a label costguard manages itself',
        });
      }
      rule.derive.forEach((d, i) => {
        if (!('namePattern' in d)) return;
        const group = d.group ?? key;
        if (!new RegExp(`\\(\\?<${group}>`).test(d.namePattern)) {
          context.addIssue({
            code: 'custom',
            path: ['labels', key, 'derive', i, 'namePattern'],
            message: `needs a named group (?<${group}>...)`,
          });
        }
      });
    }
  });

export type LabelPolicyInput = z.input<typeof labelPolicySchema>;

export interface DerivationRule {
  readonly value?: string;
  readonly projectLabel?: string;
  readonly namePattern?: RegExp;
  readonly group?: string;
}

export interface KeyRule {
  readonly key: string;
  readonly required: boolean;
  readonly values: readonly string[] | undefined;
  /** Anchored: a value must match it in full. */
  readonly pattern: RegExp | undefined;
  readonly derive: readonly DerivationRule[];
}

export interface LabelPolicy {
  readonly keys: readonly KeyRule[];
  readonly projects: readonly string[] | undefined;
  readonly provisioningModels: readonly ProvisioningModel[];
  readonly exemptLabel: string;
  /** With a tag key, exemption comes from the VM's Resource Manager tags, not its labels. */
  readonly exemptTag: string | undefined;
  readonly action: LabelAction;
  readonly graceDays: number;
  readonly stopProvisioningModels: readonly ProvisioningModel[];
}

export type ParsedLabelPolicy = z.output<typeof labelPolicySchema>;

export function toLabelPolicy(parsed: ParsedLabelPolicy): LabelPolicy {
  return {
    keys: Object.entries(parsed.labels).map(([key, rule]) => ({
      key,
      required: rule.required,
      values: rule.values,
      pattern: rule.pattern === undefined ? undefined : new RegExp(`^(?:${rule.pattern})$`),
      derive: rule.derive.map((d) =>
        'namePattern' in d
          ? { namePattern: new RegExp(d.namePattern), group: d.group ?? key }
          : { ...d },
      ),
    })),
    projects: parsed.scope.projects,
    provisioningModels: parsed.scope.provisioningModels,
    exemptLabel: parsed.exemptLabel,
    exemptTag: parsed.exemptTag,
    action: parsed.action,
    graceDays: parsed.graceDays,
    stopProvisioningModels: parsed.stopProvisioningModels,
  };
}

/** Parses policy JSON (already decoded) or throws a zod error naming the first bad field. */
export function parseLabelPolicy(input: unknown): LabelPolicy {
  return toLabelPolicy(labelPolicySchema.parse(input));
}

/** Whether a value is allowed by a key's rule (label rules are checked separately). */
export function isAllowedValue(rule: KeyRule, value: string): boolean {
  if (value === '' || value.length > MAX_LABEL_LENGTH) return false;
  if (rule.values) return rule.values.includes(value);
  if (rule.pattern) return rule.pattern.test(value);
  return true;
}

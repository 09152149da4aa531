/**
 * Compute Engine label rules: keys and values at most 63 characters of lowercase letters,
 * digits, `_` and `-` (international letters are allowed by the API; costguard writes ASCII
 * only); keys start with a lowercase letter; values may be empty; at most 64 labels.
 */
export const MAX_LABELS = 64;
export const MAX_LABEL_LENGTH = 63;

const KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const VALUE = /^[a-z0-9_-]{0,63}$/;

export function isValidLabelKey(key: string): boolean {
  return KEY.test(key);
}

export function isValidLabelValue(value: string): boolean {
  return VALUE.test(value);
}

/**
 * Lowercases a value and replaces characters labels cannot hold with `-`, or returns undefined
 * when the result would not mean the same thing (empty, or longer than 63 characters).
 */
export function normaliseLabelValue(value: string): string | undefined {
  // Non-ASCII letters would be dropped, changing the meaning (équipe -> quipe): not safe.
  if (/[^\x20-\x7e]/.test(value)) return undefined;
  const normalised = value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (normalised === '' || normalised.length > MAX_LABEL_LENGTH) return undefined;
  return normalised;
}

/** Attribution label keys and the labels costguard writes itself. */
export const LABEL = {
  team: 'team',
  app: 'app',
  costCenter: 'cost_center',
  priority: 'priority',
  run: 'costguard-run',
  exempt: 'costguard-exempt',
  stopAfter: 'costguard-stop-after',
} as const;

/**
 * Whether a VM is exempt: by the policy's exempt label or by `costguard-exempt`, which always
 * protects a VM; any value but `false` counts.
 */
export function isExempt(labels: Readonly<Record<string, string>>, exemptLabel: string): boolean {
  return [exemptLabel, LABEL.exempt].some((key) => {
    const value = labels[key];
    return value !== undefined && value.toLowerCase() !== 'false';
  });
}

export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}

export function asPriority(value: string | undefined): Priority | undefined {
  return (PRIORITIES as readonly string[]).includes(value ?? '') ? (value as Priority) : undefined;
}

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

const DATED_EXEMPTION = /^until-(\d{4}-\d{2}-\d{2})$/;

/** The exempt label's value for an exemption through `day` (`YYYY-MM-DD`, UTC): `until-…`. */
export function exemptUntilValue(day: string): string {
  return `until-${day}`;
}

/** The last day of a dated exemption (`until-2026-12-24`), or undefined for an undated one. */
export function exemptionLastDay(value: string): string | undefined {
  return DATED_EXEMPTION.exec(value)?.[1];
}

/**
 * Whether a VM is exempt: by the policy's exempt label or by `costguard-exempt`, which always
 * protects a VM; any value but `false` counts, and a dated one (`until-2026-12-24`, written by
 * *Exempt until…* in Slack) counts through that day when `today` (`YYYY-MM-DD`) is given.
 * Without `today` a dated exemption counts, so a caller that cannot tell the date never stops
 * an exempted VM.
 */
export function isExempt(
  labels: Readonly<Record<string, string>>,
  exemptLabel: string,
  today?: string,
): boolean {
  return [exemptLabel, LABEL.exempt].some((key) => {
    const value = labels[key];
    if (value === undefined || value.toLowerCase() === 'false') return false;
    const lastDay = exemptionLastDay(value);
    return lastDay === undefined || today === undefined || today <= lastDay;
  });
}

/** The exempt labels of a VM whose dated exemption ended before `today`. */
export function expiredExemptions(
  labels: Readonly<Record<string, string>>,
  exemptLabel: string,
  today: string,
): string[] {
  return [...new Set([exemptLabel, LABEL.exempt])].filter((key) => {
    const lastDay = exemptionLastDay(labels[key] ?? '');
    return lastDay !== undefined && lastDay < today;
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

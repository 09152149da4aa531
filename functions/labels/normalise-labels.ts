/**
 * Bringing labels within the Compute label rules without changing what they mean. The API
 * accepts lowercase letters of any script, digits, `_` and `-`; a VM's existing labels are kept
 * to that rule (costguard itself only writes ASCII). A label that cannot be normalised safely is
 * reported as unwritable: `setLabels` replaces the whole map, so while it is there nothing can
 * be written back without dropping someone's data.
 */

import { MAX_LABEL_LENGTH, normaliseLabelValue } from '../core/labels.js';

const API_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const API_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
// Separators that may become `-` without changing a value's meaning ("Data Eng" -> data-eng).
const SAFE_VALUE_INPUT = /^[A-Za-z0-9_\- ./:]+$/;

function isApiLabelKey(key: string): boolean {
  return API_KEY.test(key);
}

export function isApiLabelValue(value: string): boolean {
  return API_VALUE.test(value);
}

/** A value within the label rules meaning the same, or undefined when that cannot be done safely. */
export function normaliseValue(value: string): string | undefined {
  const lower = value.trim().toLowerCase();
  if (isApiLabelValue(lower)) return lower;
  if (!SAFE_VALUE_INPUT.test(value.trim())) return undefined;
  const normalised = normaliseLabelValue(value);
  return normalised !== undefined && isApiLabelValue(normalised) ? normalised : undefined;
}

/** Keys are only lowercased: any other rewrite could merge two different keys. */
function normaliseKey(key: string): string | undefined {
  const lower = key.trim().toLowerCase();
  return lower.length <= MAX_LABEL_LENGTH && isApiLabelKey(lower) ? lower : undefined;
}

export interface LabelRewrite {
  readonly fromKey: string;
  readonly fromValue: string;
  /** The key after normalisation; undefined when the label was a duplicate and is dropped. */
  readonly toKey: string | undefined;
  readonly toValue: string | undefined;
}

export interface NormalisedLabels {
  readonly labels: Record<string, string>;
  readonly rewrites: readonly LabelRewrite[];
  /** Keys (as found) that cannot be brought within the rules safely. */
  readonly unwritable: readonly string[];
}

export function normaliseExistingLabels(
  labels: Readonly<Record<string, string>>,
): NormalisedLabels {
  const out: Record<string, string> = {};
  const rewrites: LabelRewrite[] = [];
  const unwritable: string[] = [];
  const valid = Object.entries(labels).filter(([k, v]) => isApiLabelKey(k) && isApiLabelValue(v));
  const invalid = Object.entries(labels).filter(
    ([k, v]) => !(isApiLabelKey(k) && isApiLabelValue(v)),
  );
  for (const [key, value] of valid) out[key] = value;
  for (const [key, value] of invalid.sort(([a], [b]) => a.localeCompare(b))) {
    const toKey = normaliseKey(key);
    const toValue = normaliseValue(value);
    if (toKey === undefined || toValue === undefined) {
      unwritable.push(key);
      continue;
    }
    const existing = out[toKey];
    if (existing === undefined) {
      out[toKey] = toValue;
      rewrites.push({ fromKey: key, fromValue: value, toKey, toValue });
    } else if (existing === toValue) {
      rewrites.push({ fromKey: key, fromValue: value, toKey: undefined, toValue: undefined });
    } else {
      unwritable.push(key);
    }
  }
  return { labels: out, rewrites, unwritable };
}

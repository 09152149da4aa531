import { setting } from '../core/config.js';
import { labelPolicySchema, type LabelPolicyInput } from './label-policy.js';

/** The settings of the label entry points, on top of `commonSettings`. */
export const DEFAULT_LABEL_POLICY: LabelPolicyInput = {
  labels: {
    team: {},
    app: {},
    cost_center: {},
    priority: { values: ['low', 'medium', 'high', 'critical'] },
  },
  action: 'report',
};

export const labelSettings = {
  policy: setting.json(
    'COSTGUARD_LABEL_POLICY',
    'the label policy as JSON (see fixtures/policies/labels.json)',
    labelPolicySchema,
    { default: DEFAULT_LABEL_POLICY },
  ),
  dryRun: setting.boolean('COSTGUARD_LABELS_DRY_RUN', true),
  concurrency: setting.number(
    'COSTGUARD_LABELS_CONCURRENCY',
    'how many VMs are checked and changed at once, 1 to 64',
    { default: 8, min: 1, max: 64, integer: true },
  ),
};

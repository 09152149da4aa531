/**
 * The cost recorder's settings (on top of the common ones). Alert rules are JSON, in
 * COSTGUARD_SPOT_ALERTS or in the file named by COSTGUARD_SPOT_ALERTS_FILE.
 */

import { z } from 'zod';
import { setting, type ConfigOf } from '../core/config.js';

const TEAM = /^[a-z0-9_-]{1,63}$|^\*$/;

export const spotAlertRules = z
  .object({
    /** Alert when an hour's Spot spend over all governed projects passes this amount. */
    overallPerHour: z.number().positive().optional(),
    /** Per team (label `team`), with `*` for any team not listed. */
    teamPerHour: z
      .record(z.string().regex(TEAM, 'a team label value or *'), z.number().positive())
      .default({}),
    /** Alert when an hour's spend is more than this many times the trailing 24 h average. */
    spikeMultiple: z.number().min(1).optional(),
    /** Spend below this never counts as a spike (avoids alerts about cents). */
    spikeMinimum: z.number().nonnegative().default(1),
  })
  .strict();

export type SpotAlertRules = z.infer<typeof spotAlertRules>;

export const recorderSettings = {
  catchUpHours: setting.number(
    'COSTGUARD_CATCH_UP_HOURS',
    'a whole number of hours from 1 to 72: closed hours re-read on every run',
    { default: 6, min: 1, max: 72, integer: true },
  ),
  settleMinutes: setting.number(
    'COSTGUARD_SETTLE_MINUTES',
    'a whole number of minutes from 10 to 59 to wait after an hour closes before recording it',
    { default: 10, min: 10, max: 59, integer: true },
  ),
  currency: setting.text('COSTGUARD_CURRENCY', 'an ISO 4217 currency code for catalog prices', {
    default: 'USD',
    pattern: /^[A-Z]{3}$/,
  }),
  alerts: setting.json(
    'COSTGUARD_SPOT_ALERTS',
    'JSON {"overallPerHour": n, "teamPerHour": {"team": n, "*": n}, "spikeMultiple": n, "spikeMinimum": n}',
    spotAlertRules,
    { default: { spikeMultiple: 3 } },
  ),
};

export type RecorderSettings = ConfigOf<typeof recorderSettings>;

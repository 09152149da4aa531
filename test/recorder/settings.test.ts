import { describe, expect, it } from 'vitest';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { recorderSettings } from '../../functions/recorder/settings.js';

const spec = { ...commonSettings, ...recorderSettings };
const base = { COSTGUARD_PROJECTS: 'ml-training-prod' };

describe('recorder settings', () => {
  it('has defaults: 6 catch-up hours, 10 minutes to settle, USD, spikes over 3x', () => {
    const config = readConfig(spec, base);
    expect(config).toMatchObject({
      catchUpHours: 6,
      settleMinutes: 10,
      currency: 'USD',
      alerts: { spikeMultiple: 3, spikeMinimum: 1, teamPerHour: {} },
    });
  });

  it('reads alert rules as JSON', () => {
    const config = readConfig(spec, {
      ...base,
      COSTGUARD_SPOT_ALERTS: '{"overallPerHour": 50, "teamPerHour": {"vision": 20, "*": 5}}',
    });
    expect(config.alerts).toEqual({
      overallPerHour: 50,
      teamPerHour: { vision: 20, '*': 5 },
      spikeMinimum: 1,
    });
  });

  it.each([
    ['COSTGUARD_CATCH_UP_HOURS', '0'],
    ['COSTGUARD_CATCH_UP_HOURS', '2.5'],
    ['COSTGUARD_SETTLE_MINUTES', '5'],
    ['COSTGUARD_CURRENCY', 'usd'],
    ['COSTGUARD_SPOT_ALERTS', '{"overallPerHour": -1}'],
    ['COSTGUARD_SPOT_ALERTS', '{"teamPerHour": {"Vision Team": 1}}'],
    ['COSTGUARD_SPOT_ALERTS', '{"limit": 1}'],
    ['COSTGUARD_SPOT_ALERTS', 'not json'],
  ])('stops at start with one line naming %s=%s', (variable, value) => {
    let error: unknown;
    try {
      readConfig(spec, { ...base, [variable]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(`${variable}:`);
    expect(message).not.toContain('\n');
  });
});

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
    { variable: 'COSTGUARD_CATCH_UP_HOURS', value: '0' },
    { variable: 'COSTGUARD_CATCH_UP_HOURS', value: '2.5' },
    { variable: 'COSTGUARD_SETTLE_MINUTES', value: '5' },
    { variable: 'COSTGUARD_CURRENCY', value: 'usd' },
    { variable: 'COSTGUARD_SPOT_ALERTS', value: '{"overallPerHour": -1}' },
    { variable: 'COSTGUARD_SPOT_ALERTS', value: '{"teamPerHour": {"Vision Team": 1}}' },
    { variable: 'COSTGUARD_SPOT_ALERTS', value: '{"limit": 1}' },
    { variable: 'COSTGUARD_SPOT_ALERTS', value: 'not json' },
  ])('stops at start with one line naming $variable=$value', ({ variable, value }) => {
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

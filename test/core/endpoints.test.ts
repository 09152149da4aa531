import { describe, expect, it } from 'vitest';
import { resolveEndpoints } from '../../functions/adapters/endpoints.js';

describe('endpoint contract', () => {
  it('sends every service to GCP_EMULATOR_HOST unless a per-service variable overrides it', () => {
    const endpoints = resolveEndpoints({
      GCP_EMULATOR_HOST: '127.0.0.1:9000',
      BIGQUERY_EMULATOR_HOST: 'localhost:9050',
      SLACK_API_URL: 'http://127.0.0.1:9000/api',
    });
    expect(endpoints.google.compute).toEqual({
      host: '127.0.0.1',
      port: 9000,
      origin: 'http://127.0.0.1:9000',
    });
    expect(endpoints.google.run?.port).toBe(9000);
    expect(endpoints.google.bigquery).toEqual({
      host: 'localhost',
      port: 9050,
      origin: 'http://localhost:9050',
    });
    expect(endpoints.slackApiUrl).toBe('http://127.0.0.1:9000/api/');
  });

  it('talks to Google with default credentials when nothing is set', () => {
    expect(resolveEndpoints({})).toEqual({ google: {}, slackApiUrl: undefined });
  });

  it.each([
    {
      env: { GCP_EMULATOR_HOST: '10.0.0.5:8080' },
      message: 'GCP_EMULATOR_HOST: expected a loopback host',
    },
    {
      env: { COMPUTE_EMULATOR_HOST: 'sandbox.example.com:80' },
      message: 'COMPUTE_EMULATOR_HOST: expected a loopback host',
    },
    { env: { GCP_EMULATOR_HOST: '127.0.0.1' }, message: 'GCP_EMULATOR_HOST: expected host:port' },
    {
      env: { SLACK_API_URL: 'http://slack.example.com/api/' },
      message: 'SLACK_API_URL: expected https, or http on a loopback host',
    },
  ])('refuses $env', ({ env, message }) => {
    expect(() => resolveEndpoints(env)).toThrow(message);
  });

  it('accepts a remote emulator only with the explicit opt-in, and IPv6 loopback always', () => {
    expect(
      resolveEndpoints({
        GCP_EMULATOR_HOST: '10.0.0.5:8080',
        COSTGUARD_ALLOW_REMOTE_EMULATOR: 'true',
      }).google.storage?.host,
    ).toBe('10.0.0.5');
    expect(resolveEndpoints({ GCP_EMULATOR_HOST: '[::1]:8080' }).google.compute?.host).toBe('::1');
  });
});

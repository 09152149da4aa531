import { describe, expect, it } from 'vitest';
import { createClients } from '../../functions/adapters/clients.js';
import { resolveEndpoints } from '../../functions/adapters/endpoints.js';
import { systemClock } from '../../functions/core/clock.js';
import { ConfigError } from '../../functions/core/errors.js';
import { createMemoryLogger } from '../../functions/core/logger.js';
import { buildTriggerRun } from '../../functions/runs/entry.js';
import {
  allowsEnv,
  readTriggerRunConfig,
  type CloudRunPipeline,
} from '../../functions/runs/config.js';
import { loadFixture } from '../support/fixtures.js';

type Pipelines = Record<string, Record<string, unknown>>;

const base = (pipelines: unknown, extra: Record<string, string> = {}) => ({
  COSTGUARD_PROJECTS: 'data-pipelines,ml-training-prod',
  COSTGUARD_RUNS_AUDIENCES: 'http://127.0.0.1/costguard-trigger-run',
  COSTGUARD_PIPELINES: JSON.stringify(pipelines),
  ...extra,
});

describe('triggerRun configuration', () => {
  it('reads the pipelines fixture into named, frozen pipelines with defaults', () => {
    const config = readTriggerRunConfig(base(loadFixture('runs/pipelines.json')));

    expect([...config.runs.pipelines.keys()]).toEqual([
      'nightly-categories',
      'reports',
      'shared-runner',
      'feature-extraction',
    ]);
    expect(config.runs.pipelines.get('nightly-categories')).toEqual({
      name: 'nightly-categories',
      executor: 'vm',
      project: 'data-pipelines',
      candidates: [{ zone: 'us-east1-b', instance: 'batch-runner' }],
      bucket: 'costguard-batch-results',
      sourcePrefix: 'gs://costguard-batch-results/src/',
      telemetryIntervalSeconds: 60,
      targets: ['d_anchor_category', 'all'],
      maxRunHours: 4,
      invokers: [
        'user:alice@example.com',
        'user:bob@example.com',
        'user:carol@example.com',
        'serviceAccount:ci-runner@data-pipelines.iam.gserviceaccount.com',
      ],
      ignoreSpotCaps: false,
    });
    expect(config.runs).toMatchObject({
      dryRun: false,
      publicUrl: '',
      audiences: ['http://127.0.0.1/costguard-trigger-run'],
    });
    expect(Object.isFrozen(config.runs.pipelines.get('reports'))).toBe(true);
    expect(config.projects).toEqual(['data-pipelines', 'ml-training-prod']);
  });

  it('takes the pipelines from a file and the public URL without its trailing slash', () => {
    const path = new URL('../../fixtures/runs/pipelines.json', import.meta.url).pathname;
    const config = readTriggerRunConfig({
      COSTGUARD_PROJECTS: 'data-pipelines',
      COSTGUARD_PIPELINES_FILE: path,
      COSTGUARD_RUNS_PUBLIC_URL: 'https://us-east1-data-pipelines.cloudfunctions.net/triggerRun/',
      COSTGUARD_RUNS_DRY_RUN: 'true',
    });

    expect(config.runs.pipelines.size).toBe(4);
    expect(config.runs.publicUrl).toBe(
      'https://us-east1-data-pipelines.cloudfunctions.net/triggerRun',
    );
    expect(config.runs.dryRun).toBe(true);
    // The function's own URL is the audience a caller's token is issued for.
    expect(config.runs.audiences).toEqual([
      'https://us-east1-data-pipelines.cloudfunctions.net/triggerRun',
    ]);
  });

  it('stops at start when no audience can be checked', () => {
    expect(() =>
      readTriggerRunConfig({
        COSTGUARD_PROJECTS: 'data-pipelines',
        COSTGUARD_PIPELINES: JSON.stringify(loadFixture('runs/pipelines.json')),
      }),
    ).toThrow(
      'Invalid configuration: COSTGUARD_RUNS_AUDIENCES: expected the identity token audiences triggerRun accepts; neither it nor COSTGUARD_RUNS_PUBLIC_URL is set',
    );
  });

  const vm = {
    executor: 'vm',
    project: 'data-pipelines',
    zone: 'us-east1-b',
    instance: 'batch-runner',
    bucket: 'costguard-batch-results',
    targets: ['all'],
    invokers: ['user:alice@example.com'],
  };
  /** The VM pipeline with a candidate list in place of its one VM. */
  const pool = (candidates: unknown[]) => ({
    ...vm,
    zone: undefined,
    instance: undefined,
    candidates,
  });

  it.each<{ what: string; pipelines: Pipelines | string; message: RegExp }>([
    {
      what: 'nothing set',
      pipelines: '',
      message:
        /COSTGUARD_PIPELINES: .*neither COSTGUARD_PIPELINES nor COSTGUARD_PIPELINES_FILE is set/,
    },
    {
      what: 'no pipelines',
      pipelines: {},
      message: /COSTGUARD_PIPELINES: .*at least one pipeline/,
    },
    {
      what: 'an unknown executor',
      pipelines: { p: { ...vm, executor: 'gke' } },
      message: /COSTGUARD_PIPELINES: .*p\.executor/,
    },
    {
      what: 'a target with a shell character',
      pipelines: { p: { ...vm, targets: ['all;id'] } },
      message: /p\.targets\.0: a make target/,
    },
    {
      what: 'a target that is an option',
      pipelines: { p: { ...vm, targets: ['--eval=x'] } },
      message: /p\.targets\.0/,
    },
    { what: 'no targets', pipelines: { p: { ...vm, targets: [] } }, message: /p\.targets/ },
    {
      what: 'an unexpected field',
      pipelines: { p: { ...vm, startupScript: 'x' } },
      message: /COSTGUARD_PIPELINES: .*startupScript/,
    },
    {
      what: 'a pipeline name with capitals',
      pipelines: { Nightly: vm },
      message: /COSTGUARD_PIPELINES: .*a pipeline name/,
    },
    {
      what: 'a zone that is a region',
      pipelines: { p: { ...vm, zone: 'us-east1' } },
      message: /p\.zone: a zone/,
    },
    {
      what: 'a VM without its zone',
      pipelines: { p: { ...vm, zone: undefined } },
      message: /p\.zone: give zone \(with instance\), or candidates instead/,
    },
    {
      what: 'one VM and candidates at once',
      pipelines: { p: { ...vm, candidates: [{ zone: 'us-east1-c', instance: 'b' }] } },
      message: /p\.candidates: give either zone and instance \(one VM\) or candidates, not both/,
    },
    {
      what: 'an empty candidate list',
      pipelines: { p: pool([]) },
      message: /p\.candidates: list at least one candidate VM/,
    },
    {
      what: 'a candidate listed twice',
      pipelines: {
        p: pool([
          { zone: 'us-east1-b', instance: 'runner' },
          { zone: 'us-east1-c', instance: 'runner' },
          { zone: 'us-east1-b', instance: 'runner' },
        ]),
      },
      message: /p\.candidates\.2: us-east1-b\/runner is listed twice/,
    },
    {
      what: 'a candidate in another project',
      pipelines: {
        p: pool([
          { zone: 'us-east1-b', instance: 'runner' },
          { project: 'ml-training-prod', zone: 'us-east1-c', instance: 'runner' },
        ]),
      },
      message:
        /p\.candidates\.1\.project: every candidate runs in the pipeline's project data-pipelines/,
    },
    {
      what: 'a candidate zone that is a region',
      pipelines: {
        p: pool([{ zone: 'us-east1', instance: 'r' }]),
      },
      message: /p\.candidates\.0\.zone: a zone/,
    },
    {
      what: 'a run longer than 7 days',
      pipelines: { p: { ...vm, maxRunHours: 169 } },
      message: /p\.maxRunHours/,
    },
    {
      what: 'no invokers',
      pipelines: { p: { ...vm, invokers: [] } },
      message: /p\.invokers: name at least one invoker/,
    },
    {
      what: 'a group whose email could not be queried',
      pipelines: { p: { ...vm, invokers: ["group:data'@example.com"] } },
      message: /p\.invokers\.0: a principal such as user:/,
    },
    {
      what: 'a domain as invoker',
      pipelines: { p: { ...vm, invokers: ['domain:example.com'] } },
      message: /p\.invokers\.0: a whole domain may not invoke a pipeline/,
    },
    {
      what: 'an invoker that is not a principal',
      pipelines: { p: { ...vm, invokers: ['alice@example.com'] } },
      message: /p\.invokers\.0: a principal such as user:/,
    },
    {
      what: 'an environment override costguard owns',
      pipelines: {
        j: {
          executor: 'cloud-run-job',
          project: 'data-pipelines',
          region: 'us-central1',
          job: 'j',
          targets: ['t'],
          invokers: ['user:alice@example.com'],
          env: { COSTGUARD_TARGET: { values: ['x'] } },
        },
      },
      message: /COSTGUARD_\* variables are set by costguard/,
    },
    {
      what: 'an unanchored value pattern',
      pipelines: {
        j: {
          executor: 'cloud-run-job',
          project: 'data-pipelines',
          region: 'us-central1',
          job: 'j',
          targets: ['t'],
          invokers: ['user:alice@example.com'],
          env: { WORKERS: { pattern: '[0-9]+' } },
        },
      },
      message: /an anchored pattern/,
    },
    {
      what: 'an override with no rule',
      pipelines: {
        j: {
          executor: 'cloud-run-job',
          project: 'data-pipelines',
          region: 'us-central1',
          job: 'j',
          targets: ['t'],
          invokers: ['user:alice@example.com'],
          env: { WORKERS: {} },
        },
      },
      message: /give "values" or "pattern"/,
    },
  ])('stops at start with one line naming the variable for $what', ({ pipelines, message }) => {
    const env =
      typeof pipelines === 'string' ? { COSTGUARD_PROJECTS: 'data-pipelines' } : base(pipelines);

    expect(() => readTriggerRunConfig(env)).toThrow(ConfigError);
    expect(() => readTriggerRunConfig(env)).toThrow(message);
    expect(() => readTriggerRunConfig(env)).not.toThrow(/\n/);
  });

  it('reads candidate VMs in the order listed, the project given or not', () => {
    const config = readTriggerRunConfig(
      base({
        p: pool([
          { zone: 'us-east1-c', instance: 'runner-c' },
          { project: 'data-pipelines', zone: 'us-east1-b', instance: 'runner-b' },
        ]),
      }),
    );

    expect(config.runs.pipelines.get('p')).toMatchObject({
      candidates: [
        { zone: 'us-east1-c', instance: 'runner-c' },
        { zone: 'us-east1-b', instance: 'runner-b' },
      ],
    });
  });

  it('refuses a pipeline in a project costguard does not govern', () => {
    expect(() => readTriggerRunConfig(base({ p: { ...vm, project: 'someone-else' } }))).toThrow(
      'Invalid configuration: COSTGUARD_PIPELINES: expected pipelines in the projects of COSTGUARD_PROJECTS; p uses someone-else',
    );
  });

  it('stops the entry at build, before any client is used, when the pipelines are missing', async () => {
    const runtime = {
      env: { COSTGUARD_PROJECTS: 'data-pipelines' },
      clients: createClients(resolveEndpoints({})),
      logger: createMemoryLogger(),
      clock: systemClock,
    };

    await expect(buildTriggerRun(runtime)).rejects.toThrow(
      /^Invalid configuration: COSTGUARD_PIPELINES: /,
    );
  });

  it('refuses invalid JSON with the variable named', () => {
    expect(() =>
      readTriggerRunConfig({ COSTGUARD_PROJECTS: 'data-pipelines', COSTGUARD_PIPELINES: '{' }),
    ).toThrow('Invalid configuration: COSTGUARD_PIPELINES: expected a JSON object of pipelines');
  });

  describe('environment overrides', () => {
    const pipeline = readTriggerRunConfig(
      base(loadFixture('runs/pipelines.json')),
    ).runs.pipelines.get('feature-extraction') as CloudRunPipeline;

    it.each([
      { name: 'TARGET_PAIR', value: 'gbpusd', allowed: true },
      { name: 'TARGET_PAIR', value: 'btcusd', allowed: false },
      { name: 'WORKERS', value: '16', allowed: true },
      { name: 'WORKERS', value: '100', allowed: false },
      { name: 'WORKERS', value: '08', allowed: false },
      { name: 'TOSTRING', value: 'x', allowed: false },
      { name: 'constructor', value: 'x', allowed: false },
      { name: '__proto__', value: 'x', allowed: false },
    ])('$name=$value allowed: $allowed', ({ name, value, allowed }) => {
      expect(allowsEnv(pipeline, name, value)).toBe(allowed);
    });

    it.each([
      { value: '1', allowed: true },
      { value: '4', allowed: true },
      { value: '1abc', allowed: false },
      { value: 'x4', allowed: false },
    ])(
      'holds a pattern with alternatives to the whole value: $value allowed $allowed',
      ({ value, allowed }) => {
        const alternatives: CloudRunPipeline = {
          ...pipeline,
          env: { SHARDS: { pattern: '^1|2|4$' } },
        };
        expect(allowsEnv(alternatives, 'SHARDS', value)).toBe(allowed);
      },
    );
  });
});

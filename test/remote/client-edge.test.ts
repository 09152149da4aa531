/**
 * The client's pure edges: its command line, the exit code of each run outcome, and where a
 * result object may land on disk.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localPathOf } from '../../cli/remote/collect-results.js';
import { parseOptions, UsageError } from '../../cli/remote/options.js';
import { describePhases, EXIT, verdictOf } from '../../cli/remote/outcome.js';
import { RunApiClient, RunApiError } from '../../cli/remote/run-api-client.js';

const RUN = 'run-0a1b2c3d4e5f60718293';
const BASE = [
  '--url',
  'https://fn.example.com/triggerRun',
  '--pipeline',
  'nightly',
  '--target',
  'all',
  '--bucket',
  'my-bucket',
];

function problemsOf(argv: string[], env: Record<string, string> = {}): readonly string[] {
  try {
    parseOptions(argv, env);
    return [];
  } catch (error) {
    if (error instanceof UsageError) return error.problems;
    throw error;
  }
}

describe('parseOptions', () => {
  it('reads flags first, then the environment a Makefile sets', () => {
    const options = parseOptions(
      ['run', '--target=d_anchor_category', '--exclude', 'data/', '--poll-seconds', '2'],
      {
        COSTGUARD_RUNS_URL: 'http://127.0.0.1:8795/',
        COSTGUARD_PIPELINE: 'nightly-categories',
        COSTGUARD_TARGET: 'all',
        COSTGUARD_BUCKET: 'costguard-batch-results',
        COSTGUARD_REMOTE_EXCLUDE: 'tiles/ out/',
      },
    );
    expect(options).toMatchObject({
      command: 'run',
      url: 'http://127.0.0.1:8795/',
      audience: 'http://127.0.0.1:8795',
      pipeline: 'nightly-categories',
      target: 'd_anchor_category',
      bucket: 'costguard-batch-results',
      exclude: ['tiles/', 'out/', 'data/'],
      packageSource: true,
      resultsDir: 'data/remote_results',
      logsDir: 'logs/remote_runs',
      pollMs: 2000,
    });
  });

  it.each([
    {
      name: 'a plain-HTTP URL off this machine',
      argv: [...BASE, '--url', 'http://fn.example.com'],
      problem: '--url: https, or http on a loopback host (got http://fn.example.com)',
    },
    {
      name: 'a target that is a make option',
      argv: [...BASE, '--target', '--eval=x'],
      problem: '--target: a make target',
    },
    {
      name: 'a target with a variable',
      argv: [...BASE, '--target', 'X=$(shell id)'],
      problem: '--target: a make target',
    },
    {
      name: 'a bucket that is a path',
      argv: [...BASE, '--bucket', 'b/../c'],
      problem: '--bucket: the bucket of the pipeline',
    },
    { name: 'an unknown option', argv: [...BASE, '--force'], problem: '--force: unknown option' },
    {
      name: 'follow without a run id',
      argv: ['follow', '--url', 'https://fn.example.com'],
      problem: 'follow: give a run id (run-…)',
    },
    {
      name: 'a poll interval of zero',
      argv: [...BASE, '--poll-seconds', '0'],
      problem: '--poll-seconds: a number of seconds from 1 to 600',
    },
  ])('refuses $name', ({ argv, problem }) => {
    expect(problemsOf(argv)).toContain(problem);
  });

  it('names every bad option at once', () => {
    expect(problemsOf(['run'])).toEqual([
      '--url: the URL of triggerRun (or COSTGUARD_RUNS_URL)',
      '--pipeline: a pipeline name',
      '--target: a make target',
      '--bucket: the bucket of the pipeline',
    ]);
  });

  it("follows and cancels a run by its id; the pipeline's own source needs no bucket", () => {
    expect(parseOptions(['follow', RUN, '--url', 'https://f.example.com'], {})).toMatchObject({
      command: 'follow',
      runId: RUN,
    });
    expect(parseOptions(['cancel', RUN, '--url', 'https://f.example.com'], {})).toMatchObject({
      command: 'cancel',
      runId: RUN,
    });
    expect(parseOptions([...BASE.slice(0, 6), '--pipeline-source'], {})).toMatchObject({
      packageSource: false,
      bucket: undefined,
    });
  });
});

describe('verdictOf', () => {
  it.each([
    { status: 'SUCCEEDED', detail: null, exitCode: EXIT.succeeded, line: `run ${RUN} succeeded` },
    {
      status: 'FAILED',
      detail: 'make -- all exited with status 2\nmore',
      exitCode: EXIT.failed,
      line: `run ${RUN} failed: make -- all exited with status 2`,
    },
    {
      status: 'CANCELLED',
      detail: 'cancelled by ana@example.com',
      exitCode: EXIT.cancelled,
      line: `run ${RUN} was cancelled: cancelled by ana@example.com`,
    },
    {
      status: 'PREEMPTED',
      detail: null,
      exitCode: EXIT.preempted,
      line: `run ${RUN} was preempted`,
    },
    {
      status: 'TIMED_OUT',
      detail: null,
      exitCode: EXIT.timedOut,
      line: `run ${RUN} passed its deadline`,
    },
    {
      status: 'REFUSED',
      detail: 'busy',
      exitCode: EXIT.notRun,
      line: `run ${RUN} did not run (REFUSED): busy`,
    },
    {
      status: 'DRY_RUN',
      detail: 'dry run',
      exitCode: EXIT.notRun,
      line: `run ${RUN} did not run (DRY_RUN): dry run`,
    },
  ])('$status exits $exitCode', ({ status, detail, exitCode, line }) => {
    expect(verdictOf({ runId: RUN, status, detail })).toEqual({ exitCode, line });
  });

  it('describes phase timings', () => {
    expect(describePhases({ apt: 12, pip: 75, make: 3725, total: 3812 })).toBe(
      'apt 12s, pip 1m15s, make 1h02m05s, total 1h03m32s',
    );
  });
});

describe('localPathOf', () => {
  const folder = resolve('/tmp/results/run-x');
  it.each([
    { name: 'build.log', path: resolve(folder, 'build.log') },
    { name: 'output/a/b.txt', path: resolve(folder, 'output/a/b.txt') },
    { name: '../escape.txt', path: undefined },
    { name: 'output/../../escape.txt', path: undefined },
    { name: '/etc/passwd', path: undefined },
    { name: 'output//x', path: undefined },
    { name: 'a\\..\\b', path: undefined },
    { name: '', path: undefined },
  ])('$name lands at $path', ({ name, path }) => {
    expect(localPathOf(folder, name)).toBe(path);
  });
});

describe('RunApiClient', () => {
  const VIEW = {
    runId: RUN,
    pipeline: 'nightly',
    target: 'all',
    status: 'RUNNING',
    resultsPrefix: `gs://my-bucket/results/${RUN}/`,
    exitMarker: null,
    detail: null,
    cost: null,
  };
  const answering = (status: number, body: unknown) => {
    const asked: Array<{ url: string; headers: Record<string, string> }> = [];
    const client = new RunApiClient({
      url: 'https://fn.example.com/triggerRun/',
      token: () => Promise.resolve('Bearer t0k3n'),
      sleep: () => Promise.resolve(),
      fetch: (url, init) => {
        asked.push({ url: url as string, headers: init?.headers as Record<string, string> });
        return Promise.resolve(new Response(JSON.stringify(body), { status }));
      },
    });
    return { client, asked };
  };

  it('calls with the token and reads a run', async () => {
    const { client, asked } = answering(200, VIEW);

    expect(await client.get(RUN)).toMatchObject({ runId: RUN, status: 'RUNNING' });
    expect(asked).toEqual([
      {
        url: `https://fn.example.com/triggerRun/runs/${RUN}`,
        headers: { authorization: 'Bearer t0k3n' },
      },
    ]);
  });

  it.each([
    { name: 'a run id that is a path', body: { ...VIEW, runId: '../../etc' } },
    { name: 'a results prefix elsewhere', body: { ...VIEW, resultsPrefix: 'gs://b/../x/' } },
    { name: 'no status', body: { ...VIEW, status: undefined } },
  ])('refuses an answer with $name before using it', async ({ body }) => {
    const { client } = answering(200, body);

    await expect(client.get(RUN)).rejects.toThrow(/unexpected shape/);
  });

  it('refuses a log part whose next offset is not a count of bytes', async () => {
    const { client } = answering(200, { contents: 'x', next: -1 });

    await expect(client.log(RUN, 0)).rejects.toThrow(/unexpected shape: next/);
  });

  it('retries a 503 and gives the API message of a refusal', async () => {
    const { client, asked } = answering(409, { error: "The pipeline's VM is busy: run-x" });
    const busy = await client
      .start({ pipeline: 'nightly', target: 'all' }, 'key-1')
      .catch((error: unknown) => error);
    const unavailable = answering(503, { error: 'try again' });
    const failed = await unavailable.client.get(RUN).catch((error: unknown) => error);

    expect(busy).toBeInstanceOf(RunApiError);
    expect((busy as RunApiError).message).toBe(
      "POST /runs answered 409: The pipeline's VM is busy: run-x",
    );
    expect(asked[0]?.headers).toMatchObject({ 'idempotency-key': 'key-1' });
    expect(asked).toHaveLength(1);
    expect(unavailable.asked).toHaveLength(5);
    expect((failed as RunApiError).status).toBe(503);
  });
});

import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// deploy/vm/startup.sh run under bash against a fake metadata server on 127.0.0.1, with fake
// gsutil, gcloud, shutdown and make first on PATH; each fake records its arguments.
const SCRIPT = fileURLToPath(new URL('../../deploy/vm/startup.sh', import.meta.url));
const RUN_ID = 'run-0a1b2c3d4e5f60718293';
const PREFIX = `gs://costguard-batch-results/results/${RUN_ID}/`;

const FAKES: Record<string, string> = {
  gsutil: `#!/usr/bin/env bash
set -euo pipefail
echo "gsutil $*" >>"$FAKE_LOG"
args=()
for a in "$@"; do case "$a" in -q|-m|-r|-e) ;; *) args+=("$a") ;; esac; done
# gs://B/O#GENERATION is that generation of the object; the fake keeps one.
local_path() { case "$1" in gs://*) p="\${1#gs://}"; echo "$FAKE_GCS/\${p%%#*}" ;; *) echo "$1" ;; esac; }
src="$(local_path "\${args[1]}")"; dst="$(local_path "\${args[2]}")"
case "\${args[0]}" in
  cp) [[ -f "$src" ]] || { echo "CommandException: No URLs matched: \${args[1]}" >&2; exit 1; }
      mkdir -p "$(dirname "$dst")"; cp "$src" "$dst" ;;
  # As gsutil does: -e skips symbolic links, without it they are followed.
  rsync) mkdir -p "$dst"
         if [[ " $* " == *" -e "* ]]; then (cd "$src" && find . -type f -exec cp --parents {} "$dst/" \\;)
         else cp -RL "$src/." "$dst/"; fi ;;
  *) echo "fake gsutil: unsupported \${args[0]}" >&2; exit 2 ;;
esac
`,
  gcloud: `#!/usr/bin/env bash
echo "gcloud $*" >>"$FAKE_LOG"
exit "\${FAKE_GCLOUD_EXIT:-0}"
`,
  shutdown: `#!/usr/bin/env bash
echo "shutdown $*" >>"$FAKE_LOG"
`,
  make: `#!/usr/bin/env bash
echo "make $*" >>"$FAKE_LOG"
echo "building \${@: -1} for $COSTGUARD_RUN_ID"
[[ -n "\${FAKE_MAKE_PRINTS:-}" ]] && echo "$FAKE_MAKE_PRINTS"
[[ -n "\${FAKE_MAKE_SLEEP:-}" ]] && sleep "$FAKE_MAKE_SLEEP"
if [[ "\${FAKE_MAKE_EXIT:-0}" != 0 ]]; then
  echo "make: *** [Makefile:3: \${@: -1}] Error \${FAKE_MAKE_EXIT}" >&2
  exit "\${FAKE_MAKE_EXIT}"
fi
echo "rows=42" >"$COSTGUARD_OUTPUT_DIR/summary.txt"
`,
  // Telemetry samplers: each call waits its interval and prints one line, as the real ones do.
  vmstat: `#!/usr/bin/env bash
[[ "$2" == 1 && "\${3:-}" == 1 ]] && { echo "procs ---memory---"; echo " r  b   swpd   free us sy id wa st"; exit 0; }
sleep "$2"
echo " r  b   swpd   free us sy id wa st"
echo " 31  0      0  41000  93  4  2  1  0"
`,
  mpstat: `#!/usr/bin/env bash
sleep "$1"
echo "Average:     all   92.10    0.00    4.00    1.20    0.00    0.00    0.00    0.00    0.00    2.70"
`,
  'apt-get': `#!/usr/bin/env bash
echo "apt-get $*" >>"$FAKE_LOG"
echo "Reading package lists... (apt-get $1)"
`,
  python3: `#!/usr/bin/env bash
echo "python3 $*" >>"$FAKE_LOG"
mkdir -p "$3/bin"
printf '#!/usr/bin/env bash\necho "pip $*" >>"$FAKE_LOG"\necho "Collecting numpy (pip)"\n' >"$3/bin/pip"
chmod +x "$3/bin/pip"
`,
};

/** The build log the run left in its results, to show a later boot did not overwrite it. */
function resultsBuildLog(root: string): string | undefined {
  const path = join(root, 'gcs', 'costguard-batch-results', 'results', RUN_ID, 'build.log');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

interface Outcome {
  code: number | null;
  stderr: string;
  log: string[];
  objects: (name: string) => string | undefined;
}

describe('deploy/vm/startup.sh', () => {
  let root: string;
  let metadata: Server;
  let attributes: Record<string, string>;
  let metadataRequests: Array<{ path: string; flavor: string | undefined }>;
  /** What the metadata server says at instance/preempted (Compute: TRUE once preemption began). */
  let preempted: string | undefined;
  let host: string;

  beforeAll(async () => {
    metadata = createServer((request, response) => {
      const path = request.url ?? '';
      const flavor = request.headers['metadata-flavor'] as string | undefined;
      metadataRequests.push({ path, flavor });
      if (flavor !== 'Google') {
        response.writeHead(403).end('Missing Metadata-Flavor:Google header.');
        return;
      }
      const fixed: Record<string, string> = {
        '/computeMetadata/v1/instance/name': 'batch-runner',
        '/computeMetadata/v1/instance/zone': 'projects/271828182845/zones/us-east1-b',
        ...(preempted ? { '/computeMetadata/v1/instance/preempted': preempted } : {}),
      };
      const attribute = /^\/computeMetadata\/v1\/instance\/attributes\/([\w-]+)$/.exec(path)?.[1];
      const value = fixed[path] ?? (attribute !== undefined ? attributes[attribute] : undefined);
      if (value === undefined)
        response.writeHead(404, { 'Metadata-Flavor': 'Google' }).end('not found');
      else
        response
          .writeHead(200, { 'Metadata-Flavor': 'Google', 'Content-Type': 'application/text' })
          .end(value);
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(metadata.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => metadata.close(() => resolve())));

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'costguard-startup-'));
    mkdirSync(join(root, 'bin'));
    for (const [name, body] of Object.entries(FAKES))
      writeFileSync(join(root, 'bin', name), body, { mode: 0o755 });
    // The pipeline's source as the setup uploads it: a tarball with a Makefile.
    mkdirSync(join(root, 'source'));
    writeFileSync(join(root, 'source', 'Makefile'), 'all:\n\techo all\n');
    mkdirSync(join(root, 'gcs', 'costguard-batch-results', 'src'), { recursive: true });
    packSource();
    attributes = {
      'costguard-run-id': RUN_ID,
      'costguard-target': 'd_anchor_category',
      'costguard-results-prefix': PREFIX,
      'costguard-source': 'gs://costguard-batch-results/src/pipeline.tar.gz',
      // No samplers unless a test is about them (each would wait out its interval).
      'costguard-telemetry-interval': '0',
      'costguard-claim': `${RUN_ID} 2026-11-20T09:00:00.000Z`,
    };
    metadataRequests = [];
    preempted = undefined;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Packs the pipeline's source folder into the sandbox bucket under src/ (as the setup uploads it). */
  const packSource = (...object: string[]): void => {
    const path = object.length > 0 ? object : ['pipeline.tar.gz'];
    spawnSync('tar', [
      '-czf',
      join(root, 'gcs', 'costguard-batch-results', 'src', ...path),
      '-C',
      join(root, 'source'),
      '.',
    ]);
  };

  const run = (env: Record<string, string> = {}): Promise<Outcome> =>
    new Promise((resolve) => {
      execFile(
        'bash',
        [SCRIPT],
        {
          env: {
            PATH: `${join(root, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
            HOME: root,
            COSTGUARD_METADATA_HOST: host,
            COSTGUARD_WORKDIR: join(root, 'work'),
            FAKE_LOG: join(root, 'calls.log'),
            FAKE_GCS: join(root, 'gcs'),
            ...env,
          },
          timeout: 20_000,
        },
        (error, _stdout, stderr) => {
          const logPath = join(root, 'calls.log');
          resolve({
            code: error ? ((error as { code?: number }).code ?? 1) : 0,
            stderr,
            log: existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n') : [],
            objects: (name) => {
              const path = join(root, 'gcs', 'costguard-batch-results', 'results', RUN_ID, name);
              return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
            },
          });
        },
      );
    });

  it('runs make -- TARGET, uploads outputs, build.log and _SUCCESS and shuts down, writing nothing to Compute', async () => {
    // Act
    const outcome = await run();

    // Assess
    expect(outcome.code).toBe(0);
    expect(outcome.log).toEqual([
      `gsutil -q cp gs://costguard-batch-results/src/pipeline.tar.gz ${join(root, 'work', RUN_ID, 'source.tar.gz')}`,
      `make -C ${join(root, 'work', RUN_ID, 'src')} -- d_anchor_category`,
      // -e: outputs are uploaded without following symbolic links.
      `gsutil -q -m rsync -r -e ${join(root, 'work', RUN_ID, 'output')} ${PREFIX}output`,
      `gsutil -q cp ${join(root, 'work', RUN_ID, 'build.log')} ${PREFIX}attempts/1/build.log`,
      `gsutil -q cp ${join(root, 'work', RUN_ID, 'build.log')} ${PREFIX}build.log`,
      `gsutil -q cp ${join(root, 'work', RUN_ID, 'timings.json')} ${PREFIX}timings.json`,
      `gsutil -q cp ${join(root, 'work', RUN_ID, 'startup_detail.log')} ${PREFIX}startup_detail.log`,
      `gsutil -q cp ${join(root, 'work', RUN_ID, '_SUCCESS')} ${PREFIX}_SUCCESS`,
      'shutdown -h now',
    ]);
    expect(outcome.objects('build.log')).toBe(`building d_anchor_category for ${RUN_ID}\n`);
    expect(outcome.objects('output/summary.txt')).toBe('rows=42\n');
    expect(outcome.objects('_SUCCESS')).toBe('');
    expect(outcome.objects('startup_error.txt')).toBeUndefined();
    expect(metadataRequests.every((r) => r.flavor === 'Google')).toBe(true);
  });

  it('times each phase and samples vmstat and mpstat every telemetry interval, on the console and in startup_detail.log', async () => {
    // Prepare
    attributes['costguard-telemetry-interval'] = '1';

    // Act
    const outcome = await run({ FAKE_MAKE_SLEEP: '2.5' });

    // Assess
    const timers = [...outcome.stderr.matchAll(/\[timer\] (\w+) (\d+)s/g)].map((m) => m[1]);
    expect(timers).toEqual(['fetch', 'make', 'upload', 'total']);
    const timings = JSON.parse(outcome.objects('timings.json') ?? '{}') as Record<string, number>;
    expect(Object.keys(timings)).toEqual(['fetch', 'make', 'upload', 'total']);
    expect(timings.make).toBeGreaterThanOrEqual(2);
    expect(timings.total).toBeGreaterThanOrEqual(timings.make!);
    expect(outcome.stderr).toContain('[costguard] [vmstat] r b swpd free us sy id wa st');
    expect(outcome.stderr).toMatch(/\[costguard\] \[vmstat\] 31 0 0 41000 93 4 2 1 0/);
    expect(outcome.stderr).toMatch(/\[costguard\] \[mpstat\] Average: all 92.10/);
    const detail = outcome.objects('startup_detail.log') ?? '';
    expect(detail).toContain('[timer] make');
    expect(detail).toMatch(/\[vmstat\] 31 0/);
    expect(outcome.objects('_SUCCESS')).toBe('');
  });

  it('installs apt-packages.txt and requirements.txt in timed phases, their output only in startup_detail.log', async () => {
    writeFileSync(
      join(root, 'source', 'apt-packages.txt'),
      '# system libraries\nlibgeos-dev\npython3-venv\n',
    );
    writeFileSync(join(root, 'source', 'requirements.txt'), 'numpy==2.1.0\n');
    packSource();
    attributes['costguard-telemetry-interval'] = '0';

    const outcome = await run();

    expect(outcome.code).toBe(0);
    expect(outcome.log).toContain(
      'apt-get install -y --no-install-recommends -- libgeos-dev python3-venv',
    );
    expect(outcome.log).toContain(
      `pip install --no-input -r ${join(root, 'work', RUN_ID, 'src', 'requirements.txt')}`,
    );
    expect([...outcome.stderr.matchAll(/\[timer\] (\w+)/g)].map((m) => m[1])).toEqual([
      'fetch',
      'apt',
      'pip',
      'make',
      'upload',
      'total',
    ]);
    expect(outcome.stderr).not.toContain('Reading package lists');
    expect(outcome.stderr).not.toContain('Collecting numpy');
    expect(outcome.stderr).not.toContain('[vmstat]');
    expect(outcome.objects('startup_detail.log')).toContain('Reading package lists');
    expect(outcome.objects('startup_detail.log')).toContain('Collecting numpy');
  });

  it('refuses an apt-packages.txt line that is not a package name', async () => {
    writeFileSync(
      join(root, 'source', 'apt-packages.txt'),
      'curl\n-o Dpkg::Options::=--force-all\n',
    );
    packSource();

    const outcome = await run();

    expect(outcome.log.some((line) => line.startsWith('apt-get'))).toBe(false);
    expect(outcome.objects('startup_error.txt')).toContain(
      'apt-packages.txt names something that is not a package',
    );
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it('leaves the failed step and exit code in startup_error.txt, the build output only in build.log, and still shuts down', async () => {
    const token = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
    const outcome = await run({ FAKE_MAKE_EXIT: '2', FAKE_MAKE_PRINTS: `SLACK_TOKEN=${token}` });

    expect(outcome.code).not.toBe(0);
    expect(outcome.objects('startup_error.txt')).toBe(
      [
        `run ${RUN_ID} target d_anchor_category failed while running make -- d_anchor_category (exit code 1)`,
        'make -- d_anchor_category exited with status 2',
        '',
      ].join('\n'),
    );
    expect(outcome.objects('build.log')).toContain('Error 2');
    expect(outcome.objects('build.log')).toContain(token);
    expect(outcome.objects('_SUCCESS')).toBeUndefined();
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it.each([
    { what: 'an option', target: '--eval=$(shell id)' },
    { what: 'a make variable', target: 'VAR=$(id)' },
    { what: 'a command separator', target: 'all;id' },
    { what: 'a space', target: 'all id' },
    { what: 'a newline', target: 'all\nid' },
    { what: 'a leading dash', target: '-n' },
    { what: 'non-ASCII', target: 'catégories' },
    { what: 'nothing', target: '' },
  ])('refuses a target with $what before anything runs', async ({ target }) => {
    attributes['costguard-target'] = target;

    const outcome = await run();

    expect(outcome.log.some((line) => line.startsWith('make '))).toBe(false);
    expect(outcome.log.some((line) => line.includes('pipeline.tar.gz'))).toBe(false);
    expect(outcome.objects('startup_error.txt')).toContain(
      'the target does not match the allowed pattern',
    );
    expect(outcome.objects('_SUCCESS')).toBeUndefined();
    expect(outcome.log.some((line) => line.startsWith('gcloud'))).toBe(false);
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it("uploads nothing to a results prefix that is not the run's own, and shuts down", async () => {
    attributes['costguard-results-prefix'] =
      'gs://someone-elses-bucket/results/run-ffffffffffffffffffff/';

    const outcome = await run();

    expect(outcome.log.some((line) => line.startsWith('gsutil') || line.startsWith('make'))).toBe(
      false,
    );
    expect(outcome.stderr).toContain(
      'the results prefix is not valid or not in the source bucket; nothing uploaded',
    );
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it("uploads nothing to another bucket than the pipeline's, even for the run's own prefix", async () => {
    attributes['costguard-results-prefix'] = `gs://someone-elses-bucket/results/${RUN_ID}/`;

    const outcome = await run();

    expect(outcome.log.some((line) => line.startsWith('gsutil') || line.startsWith('make'))).toBe(
      false,
    );
    expect(outcome.stderr).toContain('not in the source bucket; nothing uploaded');
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it("gives make the attempt and the checkpoint prefix, and keeps each attempt's build log", async () => {
    // Prepare: the third attempt of a run that was preempted twice.
    attributes['costguard-attempt'] = '3';
    writeFileSync(
      join(root, 'bin', 'make'),
      '#!/usr/bin/env bash\necho "attempt $COSTGUARD_ATTEMPT from $COSTGUARD_CHECKPOINT_PREFIX"\n',
      { mode: 0o755 },
    );

    // Act
    const outcome = await run();

    // Assess
    expect(outcome.code).toBe(0);
    const expected = `attempt 3 from gs://costguard-batch-results/runs/${RUN_ID}/checkpoint/\n`;
    expect(outcome.objects('attempts/3/build.log')).toBe(expected);
    expect(outcome.objects('build.log')).toBe(expected);
    expect(outcome.objects('_SUCCESS')).toBe('');
  });

  it('leaves no marker when the VM is preempted, so the run is resumed rather than failed', async () => {
    // Prepare: Compute preempts the VM while make runs; its shutdown ends make.
    preempted = 'TRUE';

    // Act
    const outcome = await run({ FAKE_MAKE_EXIT: '143' });

    // Assess
    expect(outcome.objects('attempts/1/build.log')).toContain('building d_anchor_category');
    expect(outcome.objects('startup_error.txt')).toBeUndefined();
    expect(outcome.objects('_SUCCESS')).toBeUndefined();
    expect(outcome.stderr).toContain(`run ${RUN_ID} attempt 1 preempted`);
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it('refuses an attempt that is not a small number', async () => {
    attributes['costguard-attempt'] = '1; rm -rf /';

    const outcome = await run();

    expect(outcome.objects('startup_error.txt')).toContain(
      'the attempt is not a number from 1 to 99',
    );
    expect(outcome.log.some((l) => l.startsWith('make '))).toBe(false);
  });

  it('bounds make with a timeout of the longest run even when no deadline was set', async () => {
    // Prepare: no costguard-deadline (Compute could not set maxRunDuration); a timeout that
    // records how it was called, then runs the command as the real one does.
    delete attributes['costguard-deadline'];
    writeFileSync(
      join(root, 'bin', 'timeout'),
      '#!/usr/bin/env bash\necho "timeout $*" >>"$FAKE_LOG"\nshift 2\nexec "$@"\n',
      { mode: 0o755 },
    );

    // Act
    const outcome = await run();

    // Assess: seven days (Compute's own limit), with a kill if make ignores the signal
    expect(outcome.log).toContain(
      `timeout --kill-after=60 604800 make -C ${join(root, 'work', RUN_ID, 'src')} -- d_anchor_category`,
    );
    expect(outcome.objects('_SUCCESS')).toBe('');
  });

  it('uploads no file an output links to: symbolic links in the outputs are skipped', async () => {
    // Prepare: the build leaves a link to a file outside its outputs (a credential, say).
    writeFileSync(join(root, 'secret.txt'), 'token=ya29.a0AfH6SMB\n');
    writeFileSync(
      join(root, 'bin', 'make'),
      '#!/usr/bin/env bash\necho "make $*" >>"$FAKE_LOG"\necho "rows=42" >"$COSTGUARD_OUTPUT_DIR/summary.txt"\nln -s "$HOME/secret.txt" "$COSTGUARD_OUTPUT_DIR/leak.txt"\n',
      { mode: 0o755 },
    );

    // Act
    const outcome = await run();

    // Assess
    expect(outcome.objects('output/summary.txt')).toBe('rows=42\n');
    expect(outcome.objects('output/leak.txt')).toBeUndefined();
    expect(outcome.objects('_SUCCESS')).toBe('');
  });

  it('stops make at the run deadline and says so', async () => {
    attributes['costguard-deadline'] = String(Math.floor(Date.now() / 1000) + 2);

    const outcome = await run({ FAKE_MAKE_SLEEP: '30' });

    expect(outcome.objects('startup_error.txt')).toContain(
      'make -- d_anchor_category passed the run deadline',
    );
    expect(outcome.objects('_SUCCESS')).toBeUndefined();
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it.each([
    {
      what: 'has passed',
      deadline: () => String(Math.floor(Date.now() / 1000) - 60),
      message: 'the run deadline has passed',
    },
    {
      what: 'is not a time',
      deadline: () => '$(id)',
      message: 'the run deadline is not a time in seconds',
    },
  ])('runs nothing when the deadline $what', async ({ deadline, message }) => {
    attributes['costguard-deadline'] = deadline();

    const outcome = await run();

    expect(outcome.objects('startup_error.txt')).toContain(message);
    expect(outcome.log.some((line) => line.startsWith('make '))).toBe(false);
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it("fetches the run's own source at exactly its pinned generation", async () => {
    mkdirSync(join(root, 'gcs', 'costguard-batch-results', 'src', 'mine'), { recursive: true });
    writeFileSync(join(root, 'source', 'Makefile'), 'd_anchor_category:\n\techo mine\n');
    packSource('mine', 'repo-0123456789abcdef.tar.gz');
    attributes['costguard-run-source'] =
      'gs://costguard-batch-results/src/mine/repo-0123456789abcdef.tar.gz#1733400000123456';

    const outcome = await run();

    expect(outcome.code).toBe(0);
    expect(outcome.log).toContain(
      `gsutil -q cp gs://costguard-batch-results/src/mine/repo-0123456789abcdef.tar.gz#1733400000123456 ${join(root, 'work', RUN_ID, 'source.tar.gz')}`,
    );
    expect(outcome.log.some((line) => line.includes('pipeline.tar.gz'))).toBe(false);
    expect(outcome.objects('_SUCCESS')).toBe('');
  });

  it.each([
    { what: 'another bucket', source: 'gs://someone-elses-bucket/src/repo.tar.gz#1' },
    { what: 'no generation', source: 'gs://costguard-batch-results/src/repo.tar.gz' },
    { what: 'a parent folder', source: 'gs://costguard-batch-results/src/../results/x.tar.gz#1' },
    { what: 'a path outside src/', source: 'gs://costguard-batch-results/results/x.tar.gz#1' },
    { what: 'a shell word', source: 'gs://costguard-batch-results/src/$(id).tar.gz#1' },
  ])('refuses a run source in $what and runs nothing', async ({ source }) => {
    attributes['costguard-run-source'] = source;

    const outcome = await run();

    expect(
      outcome.log.some((line) => line.startsWith('make ') || line.includes('gsutil -q cp gs://')),
    ).toBe(false);
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it('records the step when the source cannot be fetched', async () => {
    attributes['costguard-source'] = 'gs://costguard-batch-results/src/missing.tar.gz';

    const outcome = await run();

    expect(outcome.objects('startup_error.txt')).toContain('failed while fetching the source');
    expect(outcome.log.some((line) => line.startsWith('make '))).toBe(false);
    expect(outcome.log.at(-1)).toBe('shutdown -h now');
  });

  it('powers off without running the run again when it boots again with the same run keys', async () => {
    // Prepare: the run ran on an earlier boot; its keys are still there (the function removes
    // them once it sees the run end).
    await run();
    rmSync(join(root, 'calls.log'));
    const first = resultsBuildLog(root);

    // Act: the VM boots again, e.g. after a reboot or a start repeated by mistake.
    const again = await run();

    // Assess: nothing ran, nothing was uploaded over the run's results, and the VM powered off.
    expect(again.code).toBe(0);
    expect(again.log).toEqual(['shutdown -h now']);
    expect(again.stderr).toContain('this run began on an earlier boot');
    expect(again.objects('_SUCCESS')).toBe('');
    expect(resultsBuildLog(root)).toEqual(first);
  });

  it('runs the run again when it is claimed again (a new attempt)', async () => {
    await run();
    attributes['costguard-claim'] = `${RUN_ID} 2026-11-20T11:30:00.000Z`;

    const again = await run();

    expect(again.log.filter((line) => line.startsWith('make '))).toHaveLength(2);
    expect(again.log.at(-1)).toBe('shutdown -h now');
  });

  it('does nothing and keeps the VM up when it boots without run keys', async () => {
    attributes = {};

    const outcome = await run();

    expect(outcome.code).toBe(0);
    expect(outcome.log).toEqual([]);
    expect(outcome.stderr).toContain('no run requested');
  });

  const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
  if (!shellcheck)
    console.warn(
      'shellcheck is not installed: skipping the lint of deploy/vm/startup.sh (CI installs it)',
    );
  it.skipIf(!shellcheck)('passes shellcheck', () => {
    const result = spawnSync('shellcheck', ['--shell=bash', SCRIPT], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

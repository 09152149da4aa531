/**
 * Cold start cost of each entry point, as the deployed source sees it: in a fresh Node process,
 * import build/functions/index.js (what the Functions Framework loads), then what the target's
 * first invocation loads (its entry module) and builds (settings, adapters, lazily created
 * clients). Prints milliseconds, memory and the client libraries each target pulled in.
 *
 *   npm run build && npx tsx deploy/measure-cold-import.ts [--runs 5]
 *
 * Loopback only: clients point at a closed local port and no call is made.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENTRY_POINTS } from '../functions/entry-points.js';
import { REPOSITORY_ROOT } from './cli.js';
import type { Target } from './resources.js';

const LEDGER_AND_PRICES = ['machineTypes', 'catalog', 'bigquery', 'slack'];
const LABEL_CLIENTS = ['instances', 'zoneOperations', 'projects', ...LEDGER_AND_PRICES];

/**
 * Each target's entry module, its builder, and the clients its first invocation creates: named
 * apart (where functions/entry-points.ts's `load` does both in one) so the import and the build
 * are timed apart.
 */
const ENTRIES: Readonly<Record<Target, { module: string; build: string; clients: string[] }>> = {
  recordSpotCosts: {
    module: 'recorder/entry.js',
    build: 'buildRecordSpotCosts',
    clients: ['instances', 'metrics', ...LEDGER_AND_PRICES],
  },
  enforceBudget: {
    module: 'budget/entry.js',
    build: 'buildEnforceBudget',
    clients: ['instances', 'zoneOperations', 'budgets', 'projects', ...LEDGER_AND_PRICES],
  },
  enforceLabels: { module: 'labels/entry.js', build: 'buildEnforceLabels', clients: LABEL_CLIENTS },
  enforceLabelsOnCreate: {
    module: 'labels/entry.js',
    build: 'buildEnforceLabelsOnCreate',
    clients: LABEL_CLIENTS,
  },
  triggerRun: {
    module: 'runs/entry.js',
    build: 'buildTriggerRun',
    clients: [
      'instances',
      'zoneOperations',
      'storage',
      'runJobs',
      'runExecutions',
      ...LEDGER_AND_PRICES,
    ],
  },
};

export interface ColdImport {
  readonly indexMs: number;
  readonly entryMs: number;
  readonly buildMs: number;
  /** Loading the client libraries and creating the clients, which the first call does. */
  readonly clientsMs: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly libraries: readonly string[];
}

// Runs in the child: one target, measured once, printed as JSON.
const PROBE = `
const [indexUrl, entryUrl, buildName, clientNames] = process.argv.slice(1);
const mark = () => performance.now();
const t0 = mark();
const index = await import(indexUrl);
const t1 = mark();
const entry = await import(entryUrl);
const t2 = mark();
const runtime = index.productionRuntime();
await entry[buildName](runtime);
const t3 = mark();
for (const name of clientNames.split(',')) {
  if (name === 'bigquery') await runtime.clients.bigquery('ml-batch-prod', 'US');
  else if (name === 'slack') await runtime.clients.slack('xoxb-measure');
  else await runtime.clients[name]();
}
const t4 = mark();
const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
const libraries = [...new Set(cache.map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p)?.[1]).filter(Boolean))]
  .filter((name) => /^@google-cloud\\/(?!common|paginator|precise-date|projectify|promisify)|^@slack\\/web-api$|^@duckdb/.test(name)).sort();
const memory = process.memoryUsage();
process.stdout.write('\\nCOLD-IMPORT ' + JSON.stringify({ indexMs: t1 - t0, entryMs: t2 - t1, buildMs: t3 - t2, clientsMs: t4 - t3,
  rssMiB: memory.rss / 2 ** 20, heapMiB: memory.heapUsed / 2 ** 20, libraries }));
`;

function environment(root: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    COSTGUARD_PROJECTS: 'ml-batch-prod',
    COSTGUARD_PIPELINES_FILE: join(root, 'fixtures/deploy/pipelines.json'),
    GCP_EMULATOR_HOST: '127.0.0.1:9',
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
  };
}

export function measure(root: string, target: Target): ColdImport {
  const build = join(root, 'build/functions');
  const entry = ENTRIES[target];
  const output = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      PROBE,
      pathToFileURL(join(build, 'index.js')).href,
      pathToFileURL(join(build, entry.module)).href,
      entry.build,
      entry.clients.join(','),
    ],
    { cwd: root, env: environment(root), encoding: 'utf8', timeout: 60_000 },
  );
  // Loggers may write lines of their own; the figures are on the marked line.
  const line = output.split('\n').find((l) => l.startsWith('COLD-IMPORT '));
  if (!line) throw new Error(`${target}: no figures in ${output}`);
  return JSON.parse(line.slice('COLD-IMPORT '.length)) as ColdImport;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function main(): void {
  const root = REPOSITORY_ROOT;
  const runsAt = process.argv.indexOf('--runs');
  const runs = runsAt === -1 ? 5 : Math.max(1, Math.min(20, Number(process.argv[runsAt + 1]) || 5));
  if (!existsSync(join(root, 'build/functions/index.js'))) {
    process.stderr.write('Run npm run build first.\n');
    process.exitCode = 1;
    return;
  }
  const node = process.version;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  process.stdout.write(
    `Cold import per entry point (median of ${runs} fresh processes, Node ${node}, costguard ${pkg.version})\n`,
  );
  process.stdout.write(
    'target                 index ms  entry ms  build ms  clients ms  total ms  rss MiB  heap MiB  client libraries\n',
  );
  for (const { name: target } of ENTRY_POINTS) {
    if (!existsSync(join(root, 'build/functions', ENTRIES[target].module))) {
      process.stdout.write(
        `${target.padEnd(22)} not built (${ENTRIES[target].module} is missing)\n`,
      );
      continue;
    }
    const samples = Array.from({ length: runs }, () => measure(root, target));
    const m = (pick: (s: ColdImport) => number) => median(samples.map(pick));
    const total = m((s) => s.indexMs + s.entryMs + s.buildMs + s.clientsMs);
    const row = [
      target.padEnd(22),
      m((s) => s.indexMs)
        .toFixed(0)
        .padStart(8),
      m((s) => s.entryMs)
        .toFixed(0)
        .padStart(9),
      m((s) => s.buildMs)
        .toFixed(0)
        .padStart(9),
      m((s) => s.clientsMs)
        .toFixed(0)
        .padStart(11),
      total.toFixed(0).padStart(9),
      m((s) => s.rssMiB)
        .toFixed(0)
        .padStart(8),
      m((s) => s.heapMiB)
        .toFixed(0)
        .padStart(9),
      `  ${samples[0]?.libraries.join(', ') ?? ''}`,
    ];
    process.stdout.write(`${row.join(' ')}\n`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();

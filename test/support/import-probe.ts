// Imports functions/index.ts in a fresh process and reports what the import touched: the
// environment variables read, the client libraries loaded, and the targets registered.
import { createRequire } from 'node:module';
import { getFunction } from '@google-cloud/functions-framework/testing';

const require = createRequire(import.meta.url);
const read = new Set<string>();
const env = process.env;
process.env = new Proxy(env, {
  get(target, key) {
    if (typeof key === 'string') read.add(key);
    return Reflect.get(target, key) as unknown;
  },
  ownKeys(target) {
    read.add('*');
    return Reflect.ownKeys(target);
  },
});
const started = performance.now();
await import('../../functions/index.js');
const importMs = performance.now() - started;
process.env = env;

const clientLibraries = Object.keys(require.cache).filter((path) =>
  /node_modules\/(@google-cloud\/(compute|monitoring|bigquery|billing|billing-budgets|storage|run|resource-manager)|@slack\/web-api|google-gax|@duckdb)\//.test(
    path,
  ),
);
// Loaded after the measured import, so the import above is what evaluated it.
const { ENTRY_POINTS } = await import('../../functions/entry-points.js');
process.stdout.write(
  JSON.stringify({
    read: [...read],
    clientLibraries,
    registered: ENTRY_POINTS.map((entry) => entry.name).filter(
      (name) => getFunction(name) !== undefined,
    ),
    importMs,
  }),
);

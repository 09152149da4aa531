/**
 * Brings a run's results (`gs://BUCKET/results/RUN_ID/`) into `RESULTS_DIR/RUN_ID/` and points
 * `RESULTS_DIR/latest` at it. Object names come from the bucket, so each is checked to stay
 * inside the run's folder before anything is written.
 */
import { mkdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseGsUri, type ObjectStore } from '../../functions/adapters/storage.js';

export interface CollectedResults {
  readonly folder: string;
  readonly files: readonly string[];
  /** Object names that would have landed outside the run's folder, left in the bucket. */
  readonly refused: readonly string[];
}

/** The local path of an object under the run's folder, or undefined when it would escape it. */
export function localPathOf(folder: string, relativeName: string): string | undefined {
  const parts = relativeName.split('/');
  if (relativeName === '' || parts.some((p) => p === '' || p === '.' || p === '..')) {
    return undefined;
  }
  if (parts.some((p) => p.includes('\\') || p.includes('\0'))) return undefined;
  const path = resolve(folder, ...parts);
  return relative(folder, path).split(sep)[0] === '..' ? undefined : path;
}

export async function collectResults(
  store: Pick<ObjectStore, 'listAll' | 'download'>,
  options: { resultsPrefix: string; runId: string; resultsDir: string },
): Promise<CollectedResults> {
  const { bucket, path: prefix } = parseGsUri(options.resultsPrefix);
  const folder = resolve(options.resultsDir, options.runId);
  await mkdir(folder, { recursive: true });
  const files: string[] = [];
  const refused: string[] = [];
  for (const object of await store.listAll(bucket, prefix)) {
    const name = object.name.slice(prefix.length);
    const local = localPathOf(folder, name);
    if (!local) {
      refused.push(object.name);
      continue;
    }
    await mkdir(dirname(local), { recursive: true });
    await store.download(bucket, object.name, local);
    files.push(name);
  }
  await pointLatest(options.resultsDir, options.runId);
  return { folder, files, refused };
}

/** `latest` → RUN_ID, replaced atomically (a new link renamed over the old one). */
async function pointLatest(resultsDir: string, runId: string): Promise<void> {
  const link = join(resultsDir, 'latest');
  const next = join(resultsDir, `.latest-${process.pid}`);
  await rm(next, { force: true });
  await symlink(runId, next);
  await rename(next, link);
}

/** The last `lines` lines of a local text file, or undefined when there is none. */
export async function tailOf(file: string, lines: number): Promise<string | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    const all = text.replace(/\n$/, '').split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return undefined;
  }
}

/**
 * The source uploaded to Cloud Functions: the compiled functions (without the sandbox), the data
 * files they read at run time, and a package.json and lock file with production dependencies
 * only, so the platform's `npm ci` installs no dev tool and its build step has nothing to build.
 */

import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Read at run time from the repository layout: `sql/` by the migration, the price book by
 * pricing, the run API's OpenAPI document by triggerRun.
 */
const RUNTIME_FILES = ['sql', 'fixtures/pricing/price-book.json', 'docs/openapi.json'];
/** Compiled code that only local tools use. */
const EXCLUDED = ['build/functions/sandbox'];
/** Marks a directory this module created, so that staging again may empty it. */
export const STAGE_MARKER = '.costguard-source';

interface PackageJson {
  name?: string;
  version?: string;
  type?: string;
  main?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface LockPackage {
  dev?: boolean;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface LockFile {
  lockfileVersion?: number;
  packages?: Record<string, LockPackage>;
  [key: string]: unknown;
}

export function stagedPackageJson(pkg: PackageJson): PackageJson {
  return {
    name: pkg.name,
    version: pkg.version,
    private: true,
    type: pkg.type,
    main: pkg.main,
    engines: pkg.engines,
    dependencies: pkg.dependencies,
    // An empty gcp-build stops the platform from running `npm run build` on compiled code.
    scripts: { 'gcp-build': '' },
  };
}

/** The lock file without dev-only packages (lock file v2/v3 mark them `dev: true`). */
export function prunedLockfile(lock: LockFile): LockFile {
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new Error('package-lock.json must be lockfileVersion 2 or 3');
  }
  const packages: Record<string, LockPackage> = {};
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (entry.dev === true) continue;
    if (path === '') {
      const root = { ...entry };
      delete root.devDependencies;
      packages[path] = root;
    } else {
      packages[path] = entry;
    }
  }
  // lockfileVersion 2 also keeps the npm 6 `dependencies` tree, dev packages included.
  const pruned: LockFile = { ...lock, packages };
  delete pruned.dependencies;
  return pruned;
}

export interface StagedSource {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

function prepareTarget(target: string): void {
  if (existsSync(target)) {
    const entries = readdirSync(target);
    if (entries.length > 0 && !entries.includes(STAGE_MARKER)) {
      throw new Error(
        `${target} is not empty and was not staged by costguard; choose another --source`,
      );
    }
    rmSync(target, { recursive: true, force: true });
  }
  mkdirSync(target, { recursive: true });
  writeFileSync(
    join(target, STAGE_MARKER),
    'Staged by costguard deploy; emptied on every deploy.\n',
  );
}

/** Copies what the functions need from the repository `root` (after `npm run build`) to `target`. */
export function stageSource(root: string, target: string): StagedSource {
  const entry = join(root, 'build/functions/index.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
  prepareTarget(target);
  const excluded = EXCLUDED.map((p) => join(root, p));
  cpSync(join(root, 'build/functions'), join(target, 'build/functions'), {
    recursive: true,
    filter: (source) => !excluded.some((e) => source === e || source.startsWith(e + sep)),
  });
  for (const path of RUNTIME_FILES) {
    const from = join(root, path);
    if (!existsSync(from)) throw new Error(`${from} is missing; the functions read it at run time`);
    mkdirSync(dirname(join(target, path)), { recursive: true });
    cpSync(from, join(target, path), { recursive: true });
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as LockFile;
  writeFileSync(
    join(target, 'package.json'),
    `${JSON.stringify(stagedPackageJson(pkg), null, 2)}\n`,
  );
  writeFileSync(
    join(target, 'package-lock.json'),
    `${JSON.stringify(prunedLockfile(lock), null, 2)}\n`,
  );
  writeFileSync(join(target, '.gcloudignore'), `${STAGE_MARKER}\nnode_modules/\n`);
  const files = walk(target).filter((f) => relative(target, f) !== STAGE_MARKER);
  return {
    dir: target,
    files: files.length,
    bytes: files.reduce((sum, f) => sum + statSync(f).size, 0),
  };
}

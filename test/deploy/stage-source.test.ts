import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envVarsFlag } from '../../deploy/function-settings.js';
import { queryText } from '../../deploy/ledger-sql.js';
import { formatCommand, shellWord } from '../../deploy/plan.js';
import {
  prunedLockfile,
  STAGE_MARKER,
  stageSource,
  stagedPackageJson,
} from '../../deploy/stage-source.js';
import { envVarsOf, FIXTURES, ROOT } from './deploy-fixtures.js';

function repository(): string {
  const root = mkdtempSync(join(tmpdir(), 'costguard-stage-'));
  for (const dir of [
    'build/functions/labels',
    'build/functions/sandbox/routes',
    'build/deploy',
    'fixtures/pricing',
    'docs',
  ]) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  writeFileSync(join(root, 'build/functions/index.js'), 'export const targets = [];\n');
  writeFileSync(join(root, 'build/functions/labels/entry.js'), 'export {};\n');
  writeFileSync(join(root, 'build/functions/sandbox/routes/compute.js'), 'export {};\n');
  writeFileSync(join(root, 'build/deploy/cli.js'), 'export {};\n');
  writeFileSync(join(root, 'fixtures/pricing/price-book.json'), '{"prices":[]}\n');
  writeFileSync(join(root, 'docs/openapi.json'), '{"openapi":"3.1.0"}\n');
  cpSync(join(FIXTURES, 'sql'), join(root, 'sql'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(root, 'package-lock.json'));
  return root;
}

const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('the staged function source', () => {
  it('holds the compiled functions and their data files, without the sandbox or the deploy tool', () => {
    const root = repository();
    const target = join(root, 'build/function-source');

    const staged = stageSource(root, target);

    expect(existsSync(join(target, 'build/functions/index.js'))).toBe(true);
    expect(existsSync(join(target, 'build/functions/labels/entry.js'))).toBe(true);
    expect(existsSync(join(target, 'build/functions/sandbox'))).toBe(false);
    expect(existsSync(join(target, 'build/deploy'))).toBe(false);
    expect(existsSync(join(target, 'sql/tables/10_spot_costs.sql'))).toBe(true);
    expect(existsSync(join(target, 'fixtures/pricing/price-book.json'))).toBe(true);
    expect(existsSync(join(target, 'docs/openapi.json'))).toBe(true);
    expect(staged.files).toBe(9);
  });

  it('declares production dependencies only, and nothing for the platform to build', () => {
    const root = repository();
    const target = join(root, 'out');
    stageSource(root, target);

    const pkg = read(join(target, 'package.json'));
    const lock = read(join(target, 'package-lock.json')) as {
      packages: Record<string, { dev?: boolean; devDependencies?: unknown }>;
    };
    const original = read(join(ROOT, 'package.json'));

    expect(pkg.main).toBe('build/functions/index.js');
    expect(pkg.dependencies).toEqual(original.dependencies);
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.scripts).toEqual({ 'gcp-build': '' });
    expect(Object.values(lock.packages).some((p) => p.dev)).toBe(false);
    expect(lock.packages['']?.devDependencies).toBeUndefined();
    expect(Object.keys(lock.packages)).toContain('node_modules/@google-cloud/functions-framework');
    expect(Object.keys(lock.packages).some((p) => p.includes('node_modules/vitest'))).toBe(false);
  });

  it('keeps a consistent lock file: npm accepts it as it is', () => {
    const root = repository();
    const target = join(root, 'out');
    stageSource(root, target);

    // `npm ls --package-lock-only` checks the lock against package.json without installing.
    const listed = execFileSync(
      'npm',
      ['ls', '--package-lock-only', '--omit=dev', '--depth=0', '--json'],
      {
        cwd: target,
        encoding: 'utf8',
      },
    );
    const tree = JSON.parse(listed) as {
      dependencies?: Record<string, unknown>;
      problems?: string[];
    };
    expect(tree.problems ?? []).toEqual([]);
    const declared = Object.keys(read(join(ROOT, 'package.json')).dependencies as object);
    expect(Object.keys(tree.dependencies ?? {}).sort()).toEqual(declared.sort());
  });

  it('may stage again over its own output, but never empties a directory it did not create', () => {
    const root = repository();
    const target = join(root, 'out');
    stageSource(root, target);
    writeFileSync(join(target, 'stale.js'), '');

    stageSource(root, target);
    expect(existsSync(join(target, 'stale.js'))).toBe(false);
    expect(existsSync(join(target, STAGE_MARKER))).toBe(true);

    const precious = join(root, 'precious');
    mkdirSync(precious);
    writeFileSync(join(precious, 'notes.txt'), 'keep me');
    expect(() => stageSource(root, precious)).toThrow(/not staged by costguard/);
    expect(readFileSync(join(precious, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('refuses to stage before the build', () => {
    const root = mkdtempSync(join(tmpdir(), 'costguard-nobuild-'));

    expect(() => stageSource(root, join(root, 'out'))).toThrow(/run npm run build first/);
  });

  it('refuses lock files older than version 2', () => {
    expect(() => prunedLockfile({ lockfileVersion: 1, dependencies: {} })).toThrow(
      /lockfileVersion 2 or 3/,
    );
    expect(
      stagedPackageJson({ name: 'x', main: 'm.js', devDependencies: { a: '1' } }).devDependencies,
    ).toBeUndefined();
  });
});

describe('command text', () => {
  it.each([
    { case: 'plain', word: '--project=ops-costguard', quoted: '--project=ops-costguard' },
    { case: 'spaces', word: '--schedule=10 * * * *', quoted: "'--schedule=10 * * * *'" },
    { case: 'a quote', word: "it's", quoted: "'it'\\''s'" },
    { case: 'a newline', word: 'SELECT 1\nFROM t', quoted: "$'SELECT 1\\nFROM t'" },
    { case: 'a quote and a newline', word: "a'b\nc", quoted: "$'a\\'b\\nc'" },
    { case: 'empty', word: '', quoted: "''" },
  ])('quotes $case for the shell', ({ word, quoted }) => {
    expect(shellWord(word)).toBe(quoted);
  });

  it('reads back, through bash, as the argv it was made from', () => {
    const argv = ['bq', 'query', "SELECT 'a' AS x -- it's\n\tFROM `p.d.t`", '--x=$HOME', 'a b'];

    const echoed = execFileSync(
      'bash',
      ['-c', `printf '%s\\0' ${formatCommand({ argv }).replace(/^bq /, '')}`],
      {
        encoding: 'utf8',
      },
    );

    expect(echoed.split('\0').slice(0, -1)).toEqual(argv.slice(1));
  });

  it.each<{ case: string; env: Readonly<Record<string, string>>; delimiter: string }>([
    {
      case: 'commas in JSON',
      env: { A: '{"tiers":[{"at":0.8},{"at":1}]}', B: 'x' },
      delimiter: '|',
    },
    { case: 'a pipe in a value', env: { A: 'a|b', B: 'c,d' }, delimiter: ';' },
    { case: 'pipes and semicolons', env: { A: 'a|b;c#d~e!f%g' }, delimiter: '|~|' },
  ])('joins settings with a delimiter none of them holds: $case', ({ env, delimiter }) => {
    const flag = envVarsFlag(env);

    expect(flag.startsWith(`--set-env-vars=^${delimiter}^`)).toBe(true);
    expect(envVarsOf([flag])).toEqual(env);
  });

  it.each([
    {
      case: 'leading comments',
      sql: '-- one\n-- two\n\nCREATE TABLE x (a INT64);\n',
      text: 'CREATE TABLE x (a INT64);',
    },
    {
      case: 'comments inside',
      sql: 'CREATE VIEW v AS\n-- why\nSELECT 1;',
      text: 'CREATE VIEW v AS\n-- why\nSELECT 1;',
    },
  ])('hands bq SQL that cannot be taken for a flag: $case', ({ sql, text }) => {
    expect(queryText(sql)).toBe(text);
  });

  it('refuses a SQL file without a statement', () => {
    expect(() => queryText('-- nothing here\n')).toThrow(/no statement/);
  });
});

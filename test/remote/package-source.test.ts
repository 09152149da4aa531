/**
 * The source tarball: what `git ls-files` tracks, as it is in the working tree, minus the
 * excluded paths, readable by the system tar, byte for byte the same for the same checkout.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
  readlinkSync,
  rmSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExcluded, packageSource } from '../../cli/remote/package-source.js';

const LONG_DIR = `deep/${'d'.repeat(90)}/${'e'.repeat(90)}`;
const LONG_NAME = `${'n'.repeat(120)}.txt`;
const VERY_LONG = `${'x'.repeat(150)}/${'y'.repeat(150)}.txt`;

let repo: string;
let scratch: string;

function git(...args: string[]): void {
  execFileSync('git', ['-C', repo, ...args], { stdio: 'ignore' });
}

function write(path: string, text: string): void {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'costguard-package-'));
  repo = join(scratch, 'my pipeline');
  mkdirSync(repo);
  execFileSync('git', ['init', '-q', repo]);
  git('config', 'user.email', 'ci@example.com');
  git('config', 'user.name', 'CI');
  write('Makefile', 'all:\n\techo ok\n');
  write('scripts/run.sh', '#!/bin/sh\necho run\n');
  chmodSync(join(repo, 'scripts/run.sh'), 0o755);
  write('data/big.parquet', 'generated');
  write('src/app.py', 'print("committed")\n');
  write(`${LONG_DIR}/${LONG_NAME}`, 'long\n');
  write(VERY_LONG, 'very long\n');
  write('notes/todo.md', 'todo\n');
  write('gone.txt', 'tracked, then deleted\n');
  symlinkSync('scripts/run.sh', join(repo, 'run'));
  git('add', '-A');
  git('commit', '-q', '-m', 'first');
  // Working-tree state is what gets packaged: an edit, a deletion, an untracked file.
  write('src/app.py', 'print("edited")\n');
  rmSync(join(repo, 'gone.txt'));
  write('untracked.txt', 'not tracked\n');
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function extract(file: string): string {
  const out = mkdtempSync(join(scratch, 'x-'));
  execFileSync('tar', ['-xzf', file, '-C', out]);
  return out;
}

describe('packageSource', () => {
  it('packs the tracked files as they are now, without the excluded ones, for the system tar', async () => {
    // Prepare
    const file = join(scratch, 'a.tar.gz');

    // Act
    const packaged = await packageSource({ repo, exclude: ['data/', '**/*.md'], file });

    // Assess
    const out = extract(file);
    const listed = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listed.sort()).toEqual(
      [
        'Makefile',
        VERY_LONG,
        `${LONG_DIR}/${LONG_NAME}`,
        'run',
        'scripts/run.sh',
        'src/app.py',
      ].sort(),
    );
    expect(readFileSync(join(out, 'src/app.py'), 'utf8')).toBe('print("edited")\n');
    expect(readFileSync(join(out, VERY_LONG), 'utf8')).toBe('very long\n');
    expect(statSync(join(out, 'scripts/run.sh')).mode & 0o111).not.toBe(0);
    expect(statSync(join(out, 'Makefile')).mode & 0o111).toBe(0);
    expect(readlinkSync(join(out, 'run'))).toBe('scripts/run.sh');
    expect(existsSync(join(out, 'untracked.txt'))).toBe(false);
    expect(packaged).toMatchObject({ files: 6, skipped: 3 });
    expect(packaged.objectName).toMatch(/^my-pipeline-[0-9a-f]{16}\.tar\.gz$/);
  });

  it('gives the same bytes, and so the same object name, for the same checkout', async () => {
    const first = await packageSource({ repo, exclude: [], file: join(scratch, 'b1.tar.gz') });
    const second = await packageSource({ repo, exclude: [], file: join(scratch, 'b2.tar.gz') });
    write('src/app.py', 'print("edited again")\n');
    const third = await packageSource({ repo, exclude: [], file: join(scratch, 'b3.tar.gz') });

    expect(second.sha256).toBe(first.sha256);
    expect(second.objectName).toBe(first.objectName);
    expect(third.sha256).not.toBe(first.sha256);
  });
});

describe('isExcluded', () => {
  it.each([
    { path: 'data/x.parquet', pattern: 'data/', excluded: true },
    { path: 'data', pattern: 'data/', excluded: true },
    { path: 'database.py', pattern: 'data/', excluded: false },
    { path: 'database.py', pattern: 'data', excluded: false },
    { path: 'data/x/y', pattern: 'data', excluded: true },
    { path: 'out/tiles/a.pbf', pattern: 'out/tiles', excluded: true },
    { path: 'docs/a.md', pattern: '**/*.md', excluded: true },
    { path: 'a.md', pattern: '**/*.md', excluded: true },
    { path: 'docs/a.md', pattern: '*.md', excluded: false },
    { path: 'notes.md', pattern: '*.md', excluded: true },
    { path: 'state_tiles/1/2.png', pattern: 'state_*/', excluded: true },
    { path: 'a.txt', pattern: './a.txt', excluded: true },
    { path: 'a.txt', pattern: '', excluded: false },
    { path: 'a+b.txt', pattern: 'a+b.txt', excluded: true },
    { path: 'aab.txt', pattern: 'a?b.txt', excluded: true },
  ])('$path with $pattern: excluded $excluded', ({ path, pattern, excluded }) => {
    expect(isExcluded(path, [pattern])).toBe(excluded);
  });
});

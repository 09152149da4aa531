/**
 * Packages a repository's tracked files (`git ls-files`, as they are in the working tree, minus
 * the excluded paths) into a gzip-compressed tarball. The archive is deterministic (sorted
 * paths, owner 0, the last commit's time), so the same checkout gives the same bytes and the
 * same content-addressed object name: an upload is done once and cannot change a run's code.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { tarEnd, tarEntry, type TarEntry } from './tar.js';

const run = promisify(execFile);

export interface PackagedSource {
  /** The tarball on disk. */
  readonly file: string;
  /** sha256 of the tarball, hex. */
  readonly sha256: string;
  readonly bytes: number;
  readonly files: number;
  /** Tracked paths left out: excluded, missing from the working tree, or submodules. */
  readonly skipped: number;
  /** A name for the source object: `REPO-SHA16.tar.gz`. */
  readonly objectName: string;
}

/**
 * Whether `path` is excluded by one of the patterns: `dir/` (everything under dir), a path (it
 * or everything under it), or a glob with `*` (within a segment), `**` (across segments), `?`.
 */
export function isExcluded(path: string, patterns: readonly string[]): boolean {
  return patterns.some((raw) => {
    const pattern = raw.replace(/^\.\//, '').replace(/^\/+/, '');
    if (pattern === '') return false;
    if (!/[*?]/.test(pattern)) {
      const dir = pattern.endsWith('/') ? pattern : `${pattern}/`;
      return path === pattern.replace(/\/$/, '') || path.startsWith(dir);
    }
    const source = pattern
      .replace(/\/$/, '/**')
      .split(/(\*\*\/?|\*|\?)/)
      .map((part) => {
        if (part === '**/') return '(?:.*/)?';
        if (part === '**') return '.*';
        if (part === '*') return '[^/]*';
        if (part === '?') return '[^/]';
        return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    return new RegExp(`^${source}(?:/.*)?$`).test(path);
  });
}

async function git(repo: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', repo, ...args], {
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  return stdout;
}

/** The repository's top folder and its tracked paths, sorted. */
export async function trackedFiles(repo: string): Promise<{ root: string; paths: string[] }> {
  const root = (await git(repo, ['rev-parse', '--show-toplevel'])).trim();
  const listed = await git(root, ['ls-files', '-z', '--cached']);
  const paths = [...new Set(listed.split('\0').filter((p) => p !== ''))].sort();
  return { root, paths };
}

async function lastCommitTime(root: string): Promise<number> {
  try {
    return Number((await git(root, ['log', '-1', '--format=%ct'])).trim()) || 0;
  } catch {
    return 0;
  }
}

async function* entries(
  root: string,
  paths: readonly string[],
  mtime: number,
  counts: { files: number; skipped: number },
): AsyncGenerator<Buffer> {
  for (const path of paths) {
    const full = join(root, path);
    const stat = await lstat(full).catch(() => undefined);
    let entry: TarEntry | undefined;
    if (stat?.isSymbolicLink()) {
      entry = { path, kind: 'symlink', mode: 0o777, data: await readlink(full), mtime };
    } else if (stat?.isFile()) {
      const mode = stat.mode & 0o111 ? 0o755 : 0o644;
      entry = { path, kind: 'file', mode, data: await readFile(full), mtime };
    }
    if (!entry) {
      counts.skipped++;
      continue;
    }
    counts.files++;
    for (const block of tarEntry(entry)) yield block;
  }
  yield tarEnd();
}

/** Writes the tarball of the repository's tracked files to `file`. */
export async function packageSource(options: {
  repo: string;
  exclude: readonly string[];
  file: string;
}): Promise<PackagedSource> {
  const { root, paths } = await trackedFiles(options.repo);
  const kept = paths.filter((p) => !isExcluded(p, options.exclude));
  const counts = { files: 0, skipped: paths.length - kept.length };
  const hash = createHash('sha256');
  let bytes = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(
    Readable.from(entries(root, kept, await lastCommitTime(root), counts)),
    createGzip({ level: 6 }),
    measure,
    createWriteStream(options.file),
  );
  const sha256 = hash.digest('hex');
  const repoName = basename(root).replace(/[^A-Za-z0-9._-]/g, '-') || 'source';
  return {
    file: options.file,
    sha256,
    bytes,
    files: counts.files,
    skipped: counts.skipped,
    objectName: `${repoName}-${sha256.slice(0, 16)}.tar.gz`,
  };
}

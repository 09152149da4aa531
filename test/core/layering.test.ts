/**
 * The layering docs/architecture.md describes, as far as imports show it: the sandbox stays out
 * of product code, core depends on nothing else, adapters on no capability but the pricing ports
 * they implement, and only adapters (and the sandbox) load a cloud client library.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/fixtures.js';

const FUNCTIONS = join(ROOT, 'functions');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports, statically or with `import()`. */
function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)].map((m) => m[1]!);
}

/** The modules a file loads at run time: value imports and `import()` (`import type` loads nothing). */
function valueImportsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const statics = [...text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)];
  const dynamics = [...text.matchAll(/import\s*\(\s*'([^']+)'/g)];
  return [...statics, ...dynamics].map((m) => m[1]!);
}

/** The first folder under functions/ that a relative import of `path` reaches, if any. */
function folderReached(path: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const target = relative(FUNCTIONS, join(path, '..', spec));
  return target.includes('/') ? target.split('/')[0] : '';
}

function filesUnder(folder: string): string[] {
  return sourceFiles(join(FUNCTIONS, folder));
}

function offendingImports(folder: string, allowed: (reached: string) => boolean): string[] {
  return filesUnder(folder).flatMap((path) =>
    importsOf(path)
      .filter((spec) => {
        const reached = folderReached(path, spec);
        return reached !== undefined && !allowed(reached);
      })
      .map((spec) => `${relative(ROOT, path)} imports ${spec}`),
  );
}

describe('product code and the sandbox', () => {
  it('no module outside functions/sandbox (the remote client included) imports the sandbox or its demos', () => {
    // The remote client (cli/) is product code too: it reaches the sandbox only through endpoints.
    const product = [
      ...sourceFiles(FUNCTIONS).filter((path) => !relative(FUNCTIONS, path).startsWith('sandbox/')),
      ...sourceFiles(join(ROOT, 'cli')),
    ];
    const offending = product.flatMap((path) =>
      importsOf(path)
        .filter((spec) => /(^|\/)sandbox\//.test(spec))
        .map((spec) => `${relative(ROOT, path)} imports ${spec}`),
    );

    expect(product.length).toBeGreaterThan(50);
    expect(offending).toEqual([]);
  });

  it('capability folders hold no demo modules', () => {
    const demos = sourceFiles(FUNCTIONS)
      .map((path) => relative(FUNCTIONS, path))
      .filter((path) => !path.startsWith('sandbox/') && /(^|\/)demo[^/]*\.ts$/.test(path));

    expect(demos).toEqual([]);
  });
});

describe('layers', () => {
  it('core imports nothing else in functions/', () => {
    expect(offendingImports('core', (reached) => reached === 'core')).toEqual([]);
  });

  it('adapters import core and the pricing ports they implement, no other capability', () => {
    const allowed = new Set(['adapters', 'core', 'pricing']);
    expect(offendingImports('adapters', (reached) => allowed.has(reached))).toEqual([]);
  });

  it('only adapters and the sandbox load a Google Cloud or Slack client library', () => {
    const outside = sourceFiles(FUNCTIONS).filter(
      (path) => !/^(adapters|sandbox)\//.test(relative(FUNCTIONS, path)),
    );
    const offending = outside.flatMap((path) =>
      valueImportsOf(path)
        .filter((spec) => /^@(google-cloud|slack)\//.test(spec))
        .filter((spec) => spec !== '@google-cloud/functions-framework')
        .map((spec) => `${relative(ROOT, path)} imports ${spec}`),
    );

    const loaders = filesUnder('adapters').filter((path) =>
      valueImportsOf(path).some((spec) => spec.startsWith('@google-cloud/compute')),
    );
    expect(loaders.length).toBeGreaterThan(0);
    expect(outside.length).toBeGreaterThan(50);
    expect(offending).toEqual([]);
  });
});

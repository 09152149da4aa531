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

describe('product code and the sandbox', () => {
  it('no module outside functions/sandbox imports the sandbox or its demos', () => {
    const product = sourceFiles(FUNCTIONS).filter(
      (path) => !relative(FUNCTIONS, path).startsWith('sandbox/'),
    );
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

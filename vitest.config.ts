import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Test files share their worker's module cache: the client libraries, DuckDB and the
    // sandbox load once per worker instead of once per file (the suite holds no module mocks).
    isolate: false,
    // Vitest leaves one core to itself by default; it mostly waits, so use them all.
    maxWorkers: availableParallelism(),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    restoreMocks: true,
  },
});

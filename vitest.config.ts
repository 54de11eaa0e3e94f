import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '.sst/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start their own PostgreSQL; two cores, so keep the parallelism modest.
    maxWorkers: 2,
  },
});

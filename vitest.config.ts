import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Multi-process tests start servers; two cores keep parallelism modest.
    maxWorkers: 2,
    minWorkers: 1,
    // In CI also write a JSON report; .ci/run prints the closing "N passed, N failed" line from it.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-artifacts/vitest.json' }]] : ['default'],
  },
});

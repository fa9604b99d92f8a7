import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The packed-package tests need the build and run on their own (npm run test:pack, vitest.pack.config.ts).
    exclude: ['test/package/**', 'node_modules/**'],
    // Worker-thread integration tests spawn real threads; two cores means two files at a time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
  },
});

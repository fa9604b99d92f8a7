import { defineConfig } from 'vitest/config';

// The package as users get it (test/package/): needs the build (`npm run build`), packs the tarball
// and installs it into a temporary project, so it runs once in CI after the build (.ci/run), not in
// every `npm test`.
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

/**
 * Build step after `tsc`: the worker-thread and child-process entries as one ES module each
 * (dist/src/hosts/*.bundle.js), so a new agent thread or process compiles one file instead of
 * resolving, reading and linking the dozen modules the entry imports (and comlink's CommonJS build
 * through the CJS loader). Measured in `agentpool bench memory`: thread agents start closer to bare
 * workers (issue 14). The hosts fall back to the unbundled entry when the bundle is absent.
 */
import { build } from 'esbuild';

const entries = ['thread-worker', 'process-worker'];
await Promise.all(
  entries.map((name) =>
    build({
      entryPoints: [`dist/src/hosts/${name}.js`],
      outfile: `dist/src/hosts/${name}.bundle.js`,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // comlink's ES module build (its package "main" is UMD, which would pull in the CJS loader).
      mainFields: ['module', 'main'],
      // Chained through tsc's maps (which carry sourcesContent): stack traces point at src/.
      sourcemap: true,
      sourcesContent: true,
      logLevel: 'warning',
    }),
  ),
);

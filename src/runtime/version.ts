/**
 * The package's version, read once from its package.json (two levels above this file in the source
 * tree and in dist/), for the OpenTelemetry instrumentation scope.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'agentpool' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this level: try the next
    }
  }
  return '0.0.0';
}

/** This package's version (`0.0.0` if its package.json cannot be read). */
export const PACKAGE_VERSION = readVersion();

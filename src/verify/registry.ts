/**
 * Finds the machine specs at runtime: every `*.spec.ts` / `*.spec.js` in the `specs/` folder next to
 * this module. Resolving the folder from `import.meta.url` makes the same code work from `src/` under
 * vitest/tsx (TypeScript files) and from the compiled `dist/src/verify/specs/*.js`.
 */
import { readdir } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.js';
import { validateSpec } from './spec-validate.js';
import type { MachineSpec } from './types.js';

const SPEC_FILE = /\.spec\.(ts|mts|js|mjs)$/;

/** The specs folder next to this module. */
export const DEFAULT_SPECS_DIR: URL = new URL('./specs/', import.meta.url);

/**
 * Pick the spec files to import from a directory listing. Declaration files and source maps are
 * skipped; when both `x.spec.ts` and `x.spec.js` exist, the one matching this module's own extension
 * wins (compiled code imports `.js`; TypeScript under vitest imports `.ts`).
 */
export function selectSpecFiles(
  names: readonly string[],
  preferExt = extname(fileURLToPath(import.meta.url)),
): string[] {
  const byBase = new Map<string, string[]>();
  for (const name of names) {
    if (name.endsWith('.d.ts') || name.endsWith('.d.mts') || !SPEC_FILE.test(name)) continue;
    const base = name.replace(SPEC_FILE, '');
    const list = byBase.get(base);
    if (list) list.push(name);
    else byBase.set(base, [name]);
  }
  const picked: string[] = [];
  for (const list of byBase.values()) {
    const preferred = list.find((n) => extname(n) === preferExt) ?? [...list].sort()[0];
    if (preferred) picked.push(preferred);
  }
  return picked.sort();
}

/**
 * Import every spec module in `dir` and return their `spec` exports, sorted by name.
 *
 * @param dir folder to scan. @default the `specs/` folder next to this module
 * @throws ConfigError when a spec file has no valid `spec` export, or two specs share a name.
 * @example
 * ```ts
 * for (const spec of await loadSpecs()) console.log(spec.name);
 * ```
 */
export async function loadSpecs(dir: URL | string = DEFAULT_SPECS_DIR): Promise<MachineSpec[]> {
  const dirUrl = typeof dir === 'string' ? pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`) : dir;
  let names: string[];
  try {
    names = await readdir(dirUrl);
  } catch (err) {
    // No specs folder (e.g. a trimmed install) means no specs, not a crash.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const specs: MachineSpec[] = [];
  const seen = new Map<string, string>();
  for (const file of selectSpecFiles(names)) {
    const mod = (await import(new URL(file, dirUrl).href)) as { spec?: unknown };
    const spec = validateSpec(mod.spec, `${file}: spec`);
    const other = seen.get(spec.name);
    if (other !== undefined)
      throw new ConfigError(`${file}: spec.name`, spec.name, `a name not already used by ${other}`);
    seen.set(spec.name, file);
    specs.push(spec);
  }
  return specs.sort((a, b) => a.name.localeCompare(b.name));
}

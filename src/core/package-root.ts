/**
 * Where the agentpool package lives on disk, found from a module's own URL. The same code runs from
 * `src/` (tests, tsx) and from `dist/src/` (the built CLI, an installed package), at different depths,
 * so a fixed `../..` would be wrong in one of them.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder above this file holding a package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * The tiny flag parser shared by `agentpool verify` and `agentpool docs`. Unknown flags are errors
 * (a misspelt `--machnie` must not silently check everything).
 */
import { InvalidArgumentError } from '../core/errors.js';

/** Parsed flags: booleans for switches, string lists for options that take a value. */
export interface ParsedArgs {
  flags: Set<string>;
  values: Map<string, string[]>;
}

/**
 * Parse `argv` against the allowed switches and value options (`--name value` or `--name=value`;
 * value options may repeat).
 *
 * @throws InvalidArgumentError naming the offending argument.
 */
export function parseArgs(
  argv: readonly string[],
  switches: readonly string[],
  valued: readonly string[],
  command: string,
): ParsedArgs {
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (switches.includes(name) && eq < 0) {
      flags.add(name);
      continue;
    }
    if (valued.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
        throw new InvalidArgumentError(`${command} ${name}`, value, 'a value');
      }
      const list = values.get(name);
      if (list) list.push(value);
      else values.set(name, [value]);
      continue;
    }
    throw new InvalidArgumentError(
      `${command} argv[${i}]`,
      arg,
      `one of ${[...switches, ...valued].join(', ')}`,
    );
  }
  return { flags, values };
}

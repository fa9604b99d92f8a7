/** The ConfigError `validate(input)` throws, checked for its code and option path; fails if it accepts. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';

export function configErrorOf(validate: () => unknown, path: string): ConfigError {
  try {
    validate();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.code).toBe('ERR_INVALID_CONFIG');
    expect(err.path).toBe(path);
    return err;
  }
  throw new Error(`accepted (expected a ConfigError at ${path})`);
}

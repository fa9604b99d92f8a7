/**
 * Boundary validation of a {@link MachineSpec}: a spec is user-written code loaded at runtime, so a
 * wrong shape gets a `ConfigError` naming the field and the value instead of a crash deep in the
 * traversal.
 */
import { invalid, knownKeys, num, record } from '../core/validate.js';
import type { MachineSpec } from './types.js';

const SPEC_KEYS: ReadonlySet<string> = new Set([
  'name',
  'machine',
  'input',
  'events',
  'isHome',
  'serializeState',
  'limit',
  'replay',
]);

/** Default traversal bound (distinct states). */
export const DEFAULT_STATE_LIMIT = 2000;

/**
 * Throw `ConfigError` unless `value` is a usable spec; returns it typed.
 *
 * @param where label used as the option path prefix, e.g. `spec` or a file name.
 */
export function validateSpec(value: unknown, where = 'spec'): MachineSpec {
  const s = record('config', where, value);
  knownKeys('config', where, s, SPEC_KEYS);
  if (typeof s.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(s.name)) {
    invalid('config', `${where}.name`, s.name, 'a name of letters, digits, _ or -');
  }
  const m = s.machine as { root?: unknown; transition?: unknown } | null | undefined;
  if (m === null || typeof m !== 'object' || typeof m.transition !== 'function' || m.root === undefined) {
    invalid(
      'config',
      `${where}.machine`,
      s.machine,
      'an XState machine (createMachine / setup().createMachine)',
    );
  }
  if (!Array.isArray(s.events)) invalid('config', `${where}.events`, s.events, 'an array of events');
  s.events.forEach((e: unknown, i: number) => {
    if (e === null || typeof e !== 'object' || typeof (e as { type?: unknown }).type !== 'string') {
      invalid('config', `${where}.events[${i}]`, e, 'an event object with a string `type`');
    }
  });
  if (typeof s.isHome !== 'function') invalid('config', `${where}.isHome`, s.isHome, 'a function');
  if (s.serializeState !== undefined && typeof s.serializeState !== 'function') {
    invalid('config', `${where}.serializeState`, s.serializeState, 'a function');
  }
  num('config', `${where}.limit`, s.limit, DEFAULT_STATE_LIMIT, { integer: true, min: 1 });
  if (s.replay !== undefined) {
    const r = record('config', `${where}.replay`, s.replay);
    knownKeys('config', `${where}.replay`, r, new Set(['deliver']));
    if (r.deliver !== undefined && typeof r.deliver !== 'function') {
      invalid('config', `${where}.replay.deliver`, r.deliver, 'a function');
    }
  }
  return s as unknown as MachineSpec;
}

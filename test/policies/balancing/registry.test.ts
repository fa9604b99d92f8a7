import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  createStrategy,
  DEFAULT_ADAPTIVE_CHILDREN,
  STRATEGY_NAMES,
} from '../../../src/policies/balancing/index.js';
import { createRng } from '../../../src/core/random.js';
import { agent } from './helpers.js';

describe('createStrategy', () => {
  it('creates every registered strategy under its own name, each picking from the candidates', () => {
    const cands = [agent('a', { active: 2 }), agent('b'), agent('c', { active: 1 })];
    for (const name of STRATEGY_NAMES) {
      const s = createStrategy(name);
      expect(s.name).toBe(name);
      const got = s.pick(cands, { id: 't1' }, createRng(1));
      expect(cands).toContain(got);
      expect(s.pick([], { id: 't2' }, createRng(1))).toBeUndefined();
    }
  });

  it('returns a fresh instance per call (no learning state shared between pools)', () => {
    const a = createStrategy('round-robin');
    const b = createStrategy('round-robin');
    const cands = [agent('x'), agent('y')];
    a.pick(cands, {}, createRng(1));
    expect(b.pick(cands, {}, createRng(1))!.id).toBe('x');
  });

  it('rejects an unknown name, unknown options and bad values with ConfigError naming the path', () => {
    expect(() => createStrategy('fastest')).toThrow(ConfigError);
    expect(() => createStrategy('fastest')).toThrow(/balancing\.strategy/);
    expect(() => createStrategy('p2c', { choice: 2 } as never)).toThrow(/balancing\.p2c\.choice/);
    expect(() => createStrategy('p2c', { choices: 0 })).toThrow(/balancing\.p2c\.choices/);
    expect(() => createStrategy('round-robin', { x: 1 } as never)).toThrow(ConfigError);
    expect(() => createStrategy('workload-aware', { weights: { speed: 1 } } as never)).toThrow(
      /balancing\.workload-aware\.weights\.speed/,
    );
    expect(() => createStrategy('predictive', { alpha: 0 })).toThrow(/balancing\.predictive\.alpha/);
    expect(() => createStrategy('adaptive', { strategies: ['adaptive'] } as never)).toThrow(
      /balancing\.adaptive\.strategies\[0\]/,
    );
    expect(() => createStrategy('adaptive', { strategies: [] })).toThrow(/balancing\.adaptive\.strategies/);
    expect(() => createStrategy('adaptive', { exploration: 2 })).toThrow(/balancing\.adaptive\.exploration/);
    expect(() => createStrategy('adaptive', { window: 2000 })).toThrow(/balancing\.adaptive\.window/);
    expect(() => createStrategy('adaptive', { childOptions: { p2c: { choices: 2 } } })).toThrow(
      /balancing\.adaptive\.childOptions\.p2c/,
    );
  });

  it('builds adaptive from named children with their own options', () => {
    const s = createStrategy('adaptive', {
      strategies: ['p2c', 'jsq'],
      childOptions: { p2c: { choices: 3 } },
    });
    const cands = Array.from({ length: 10 }, (_, i) => agent(`a${i}`));
    s.pick(cands, { id: 't' }, createRng(1)); // warm-up: first child (p2c, 3 choices)
    expect(s.probes).toBe(3);
    s.pick(cands, { id: 'u' }, createRng(1)); // second child (jsq)
    expect(s.probes).toBe(10);
    expect(DEFAULT_ADAPTIVE_CHILDREN).not.toContain('adaptive');
  });
});

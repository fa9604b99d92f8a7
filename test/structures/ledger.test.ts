import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError, ResourceExhaustedError } from '../../src/core/errors.js';
import { Ledger, STANDARD_RESOURCES } from '../../src/structures/ledger.js';

function ledger(): Ledger {
  return new Ledger({
    custom: ['gpus'],
    limits: { memoryMb: 4096, cpuCores: 4, gpus: 2 },
    perAgentMax: { memoryMb: 2048, cpuCores: 2 },
    perAgentMin: { memoryMb: 128 },
  });
}

function state(l: Ledger) {
  return { usage: l.usage(), available: l.available(), ids: l.allocations().map((a) => a.id) };
}

describe('Ledger config', () => {
  it('knows the standard resources plus custom ones', () => {
    const l = ledger();
    expect(l.resources).toEqual([...STANDARD_RESOURCES, 'gpus']);
    expect(l.available().tokens).toBe(Number.POSITIVE_INFINITY);
    expect(l.available().gpus).toBe(2);
  });

  it.each([
    [{ limitz: {} }, 'ledger.limitz'],
    [{ limits: { memoryMB: 1 } }, 'ledger.limits.memoryMB'],
    [{ limits: { memoryMb: -1 } }, 'ledger.limits.memoryMb'],
    [{ limits: { memoryMb: Number.NaN } }, 'ledger.limits.memoryMb'],
    [{ custom: ['memoryMb'] }, 'ledger.custom[0]'],
    [{ perAgentMin: { cpuCores: 3 }, perAgentMax: { cpuCores: 2 } }, 'ledger.perAgentMin.cpuCores'],
  ])('rejects %j naming %s', (cfg, path) => {
    try {
      new Ledger(cfg as never);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).path).toBe(path);
    }
  });
});

describe('Ledger.reserve', () => {
  it('reserves atomically and tracks usage', () => {
    const l = ledger();
    const r = l.reserve({ owner: 'a1', amounts: { memoryMb: 1000, cpuCores: 1.5 } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.allocation.owner).toBe('a1');
    expect(r.allocation.amounts.memoryMb).toBe(1000);
    expect(l.usage().memoryMb).toBe(1000);
    expect(l.available().cpuCores).toBe(4 - 1.5);
    expect(l.utilization('memoryMb')).toBeCloseTo(1000 / 4096);
  });

  it('raises amounts below the per-agent minimum to it', () => {
    const l = ledger();
    const r = l.reserve({ amounts: { cpuCores: 1 } });
    expect(r.ok && r.allocation.amounts.memoryMb).toBe(128);
    expect(l.usage().memoryMb).toBe(128);
  });

  it('refuses what does not fit now with the resource, requested and available', () => {
    const l = ledger();
    expect(l.reserve({ amounts: { memoryMb: 2048 } }).ok).toBe(true);
    expect(l.reserve({ amounts: { memoryMb: 2000 } }).ok).toBe(true);
    const before = state(l);
    const r = l.reserve({ amounts: { cpuCores: 1, memoryMb: 100 } });
    expect(r).toEqual({
      ok: false,
      reason: { resource: 'memoryMb', requested: 128, available: 48, scope: 'global' },
    });
    expect(state(l)).toEqual(before);
  });

  it.each([
    [{ memoryMb: -1 }, InvalidArgumentError, 'request.amounts.memoryMb'],
    [{ memoryMb: Number.NaN }, InvalidArgumentError, 'request.amounts.memoryMb'],
    [{ cpuCores: Number.POSITIVE_INFINITY }, InvalidArgumentError, 'request.amounts.cpuCores'],
    [{ vram: 1 }, InvalidArgumentError, 'request.amounts.vram'],
    [{ memoryMb: '5' }, InvalidArgumentError, 'request.amounts.memoryMb'],
  ])('rejects bad amounts %j with a typed error, ledger unchanged', (amounts, Err, path) => {
    const l = ledger();
    l.reserve({ amounts: { memoryMb: 500 } });
    const before = state(l);
    try {
      l.reserve({ amounts: amounts as never });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(Err);
      expect((e as InvalidArgumentError).path).toBe(path);
    }
    expect(state(l)).toEqual(before);
  });

  it('throws ResourceExhaustedError above the per-agent max or the global total', () => {
    const l = ledger();
    const before = state(l);
    let err: unknown;
    try {
      l.reserve({ amounts: { memoryMb: 2049 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect((err as ResourceExhaustedError).code).toBe('ERR_RESOURCE_EXHAUSTED');
    expect((err as ResourceExhaustedError).resource).toBe('memoryMb');
    expect((err as ResourceExhaustedError).available).toBe(2048);
    expect(() => l.reserve({ amounts: { gpus: 3 } })).toThrow(ResourceExhaustedError);
    expect(state(l)).toEqual(before);
  });

  it('rejects a duplicate live id', () => {
    const l = ledger();
    l.reserve({ id: 'x', amounts: {} });
    expect(() => l.reserve({ id: 'x', amounts: {} })).toThrow(InvalidArgumentError);
    expect(l.size).toBe(1);
  });
});

describe('Ledger.release', () => {
  it('releases exactly once and reports the second as a no-op', () => {
    const l = ledger();
    const r = l.reserve({ amounts: { memoryMb: 700 } });
    if (!r.ok) throw new Error('expected ok');
    const first = l.release(r.allocation.id);
    expect(first.released).toBe(true);
    expect(l.usage().memoryMb).toBe(0);
    expect(l.release(r.allocation.id)).toEqual({ released: false, reason: 'already-released' });
    expect(l.release('never')).toEqual({ released: false, reason: 'unknown' });
    expect(l.usage().memoryMb).toBe(0);
  });

  it('forgets the oldest released ids beyond releasedMemory', () => {
    const l = new Ledger({ releasedMemory: 2 });
    const ids = [1, 2, 3].map(() => {
      const r = l.reserve({ amounts: {} });
      if (!r.ok) throw new Error('expected ok');
      l.release(r.allocation.id);
      return r.allocation.id;
    });
    expect(l.release(ids[0]!).released === false && l.release(ids[0]!)).toEqual({
      released: false,
      reason: 'unknown',
    });
    expect(l.release(ids[2]!)).toEqual({ released: false, reason: 'already-released' });
  });

  it('snaps fractional residue so an emptied ledger reads 0', () => {
    const l = new Ledger({ limits: { cpuCores: 1 } });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = l.reserve({ amounts: { cpuCores: 0.1 } });
      expect(r.ok).toBe(true);
      if (r.ok) ids.push(r.allocation.id);
    }
    for (const id of ids) l.release(id);
    expect(l.usage().cpuCores).toBe(0);
  });
});

describe('Ledger.resize', () => {
  it('grows with a delta when it fits and refuses otherwise', () => {
    const l = new Ledger({ limits: { memoryMb: 4096 } });
    const a = l.reserve({ amounts: { memoryMb: 1000 } });
    const b = l.reserve({ amounts: { memoryMb: 2000 } });
    if (!a.ok || !b.ok) throw new Error('expected ok');
    const g = l.resize(a.allocation.id, { delta: { memoryMb: 500 } });
    expect(g.ok && g.allocation.amounts.memoryMb).toBe(1500);
    expect(l.usage().memoryMb).toBe(3500);
    const before = state(l);
    const free = 4096 - 3500;
    const r = l.resize(b.allocation.id, { to: { memoryMb: 2000 - 1 + free } });
    expect(r.ok).toBe(true);
    const after = state(l);
    const refused = l.resize(a.allocation.id, { delta: { memoryMb: 2 } });
    expect(refused).toEqual({
      ok: false,
      reason: { resource: 'memoryMb', requested: 1502, available: 1501, scope: 'global' },
    });
    expect(state(l)).toEqual(after);
    expect((before.usage.memoryMb ?? 0) + free - 1).toBe(after.usage.memoryMb);
  });

  it('shrinks with `to`, never below the per-agent minimum', () => {
    const l = ledger();
    const a = l.reserve({ amounts: { memoryMb: 1000, cpuCores: 2 } });
    if (!a.ok) throw new Error('expected ok');
    const r = l.resize(a.allocation.id, { to: { memoryMb: 10, cpuCores: 0.5 } });
    expect(r.ok && r.allocation.amounts).toMatchObject({ memoryMb: 128, cpuCores: 0.5 });
    expect(l.usage()).toMatchObject({ memoryMb: 128, cpuCores: 0.5 });
    const s = l.resize(a.allocation.id, { delta: { cpuCores: -5 } });
    expect(s.ok && s.allocation.amounts.cpuCores).toBe(0);
  });

  it('rejects unknown ids, both/neither forms, bad values and growth past the per-agent max', () => {
    const l = ledger();
    const a = l.reserve({ amounts: { memoryMb: 1000 } });
    if (!a.ok) throw new Error('expected ok');
    const before = state(l);
    expect(() => l.resize('nope', { delta: {} })).toThrow(InvalidArgumentError);
    expect(() => l.resize(a.allocation.id, {} as never)).toThrow(InvalidArgumentError);
    expect(() => l.resize(a.allocation.id, { delta: {}, to: {} } as never)).toThrow(InvalidArgumentError);
    expect(() => l.resize(a.allocation.id, { to: { memoryMb: -1 } })).toThrow(InvalidArgumentError);
    expect(() => l.resize(a.allocation.id, { delta: { memoryMb: Number.NaN } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => l.resize(a.allocation.id, { delta: { disk: 1 } })).toThrow(InvalidArgumentError);
    expect(() => l.resize(a.allocation.id, { to: { memoryMb: 3000 } })).toThrow(ResourceExhaustedError);
    expect(state(l)).toEqual(before);
    expect(l.get(a.allocation.id)?.amounts.memoryMb).toBe(1000);
  });
});

describe('Ledger queries', () => {
  it('lists allocations by owner', () => {
    const l = ledger();
    l.reserve({ id: 'a', owner: 'x', amounts: {} });
    l.reserve({ id: 'b', owner: 'y', amounts: {} });
    l.reserve({ id: 'c', owner: 'x', amounts: {} });
    expect(l.idsOwnedBy('x').sort()).toEqual(['a', 'c']);
    expect(l.get('b')?.owner).toBe('y');
    expect(l.get('z')).toBeUndefined();
  });
});

describe('Ledger.clone', () => {
  it('copies live allocations and release memory; the copies evolve independently', () => {
    const l = ledger();
    const a = l.reserve({ id: 'a', amounts: { memoryMb: 500 } });
    l.reserve({ id: 'gone', amounts: {} });
    l.release('gone');
    expect(a.ok).toBe(true);
    const c = l.clone();
    expect(c.usage()).toEqual(l.usage());
    expect(c.release('gone')).toEqual({ released: false, reason: 'already-released' });
    c.release('a');
    c.reserve({ id: 'b', amounts: { memoryMb: 1000 } });
    expect(l.usage().memoryMb).toBe(500);
    expect(l.get('a')?.amounts.memoryMb).toBe(500);
    expect(c.usage().memoryMb).toBe(1000);
    l.resize('a', { to: { memoryMb: 700 } });
    expect(c.get('a')).toBeUndefined();
  });
});

describe('Ledger quotas (per group)', () => {
  it('a group holds at most its quota; refusals name the quota scope; other groups only meet the global limit', () => {
    const l = new Ledger({ limits: { memoryMb: 4096 }, quotas: { code: { memoryMb: 1024 } } });
    expect(l.quotas('code')).toEqual({ memoryMb: 1024 });
    expect(l.reserve({ group: 'code', amounts: { memoryMb: 768 } }).ok).toBe(true);
    const before = state(l);
    expect(l.reserve({ group: 'code', amounts: { memoryMb: 512 } })).toEqual({
      ok: false,
      reason: { resource: 'memoryMb', requested: 512, available: 256, scope: 'quota' },
    });
    expect(state(l)).toEqual(before);
    expect(l.quotaFree('code', 'memoryMb')).toBe(256);
    // Another group (or none) is bounded by the global limit alone.
    expect(l.reserve({ group: 'qa', amounts: { memoryMb: 2048 } }).ok).toBe(true);
    expect(l.quotaFree('qa', 'memoryMb')).toBe(Number.POSITIVE_INFINITY);
    expect(l.groupUsage('code').memoryMb).toBe(768);
    expect(l.groupUsage('qa').memoryMb).toBe(2048);
  });

  it('resizes count against the quota; a release gives the group its room back', () => {
    const l = new Ledger({ limits: { memoryMb: 4096 }, quotas: { code: { memoryMb: 1024 } } });
    const r = l.reserve({ id: 'a', group: 'code', amounts: { memoryMb: 512 } });
    expect(r.ok).toBe(true);
    expect(l.resize('a', { delta: { memoryMb: 600 } })).toMatchObject({
      ok: false,
      reason: { scope: 'quota' },
    });
    expect(l.resize('a', { delta: { memoryMb: 512 } }).ok).toBe(true);
    expect(l.groupUsage('code').memoryMb).toBe(1024);
    l.release('a');
    expect(l.groupUsage('code').memoryMb).toBe(0);
    expect(l.quotaFree('code', 'memoryMb')).toBe(1024);
  });

  it('setQuota: raising always works, lowering below what is held is refused and changes nothing, undefined removes it', () => {
    const l = new Ledger({ limits: { memoryMb: 4096 } });
    expect(l.setQuota('code', 'memoryMb', 2048)).toEqual({ ok: true });
    l.reserve({ group: 'code', amounts: { memoryMb: 1500 } });
    expect(l.setQuota('code', 'memoryMb', 1000)).toEqual({ ok: false, held: 1500 });
    expect(l.quotas('code')).toEqual({ memoryMb: 2048 });
    expect(l.setQuota('code', 'memoryMb', 1500)).toEqual({ ok: true });
    expect(l.reserve({ group: 'code', amounts: { memoryMb: 1 } }).ok).toBe(false);
    expect(l.setQuota('code', 'memoryMb', undefined)).toEqual({ ok: true });
    expect(l.quotas('code')).toEqual({});
    expect(l.reserve({ group: 'code', amounts: { memoryMb: 1 } }).ok).toBe(true);
    expect(() => l.setQuota('code', 'vram', 1)).toThrow(InvalidArgumentError);
    expect(() => l.setQuota('code', 'memoryMb', -1)).toThrow(InvalidArgumentError);
    expect(() => l.setQuota('', 'memoryMb', 1)).toThrow(InvalidArgumentError);
  });

  it('starting quotas are validated like amounts', () => {
    expect(() => new Ledger({ limits: { memoryMb: 1 }, quotas: { code: { vram: 1 } } as never })).toThrow(
      ConfigError,
    );
    expect(() => new Ledger({ limits: { memoryMb: 1 }, quotas: { code: { memoryMb: -1 } } })).toThrow(
      ConfigError,
    );
  });

  it('clone copies quotas and group usage; the copies evolve independently', () => {
    const l = new Ledger({ limits: { memoryMb: 4096 }, quotas: { code: { memoryMb: 1024 } } });
    l.reserve({ group: 'code', amounts: { memoryMb: 512 } });
    const c = l.clone();
    c.setQuota('code', 'memoryMb', 2048);
    c.reserve({ group: 'code', amounts: { memoryMb: 1024 } });
    expect(l.quotas('code').memoryMb).toBe(1024);
    expect(l.groupUsage('code').memoryMb).toBe(512);
    expect(c.groupUsage('code').memoryMb).toBe(1536);
  });
});

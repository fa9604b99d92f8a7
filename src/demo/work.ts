/**
 * The demo's workload: small but real programming "stories". Each story asks for a function
 * (sort, primes, fibonacci, word frequencies); agents design it, write tests with a reference
 * implementation, implement it, and run the tests against the implementation. Pure functions so that
 * every agent module (running in its own worker thread) can share them.
 */

/** Kinds of story. */
export const STORY_KINDS = ['sort', 'primes', 'fib', 'wordfreq'] as const;
/** A story kind. */
export type StoryKind = (typeof STORY_KINDS)[number];

/** A design: what to build and how big the examples are. */
export interface Design {
  story: string;
  kind: StoryKind;
  size: number;
  signature: string;
}

/** One test case. */
export interface TestCase {
  input: unknown;
  expected: unknown;
}

/** Deterministic pseudo-random integers from a string seed (FNV-1a + xorshift). */
export function seeded(seed: string): () => number {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  return () => {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    return (h >>> 0) / 4294967296;
  };
}

/** Reference implementations the QA agent uses to compute expectations. */
export const reference: Record<StoryKind, (input: never) => unknown> = {
  sort: (xs: number[]) => [...xs].sort((a, b) => a - b),
  primes: (n: number) => {
    const sieve = new Uint8Array(n + 1);
    const out: number[] = [];
    for (let i = 2; i <= n; i++) {
      if (sieve[i]) continue;
      out.push(i);
      for (let j = i * i; j <= n; j += i) sieve[j] = 1;
    }
    return out;
  },
  fib: (n: number) => {
    let a = 0n;
    let b = 1n;
    for (let i = 0; i < n; i++) [a, b] = [b, a + b];
    return a.toString();
  },
  wordfreq: (text: string) => {
    const m = new Map<string, number>();
    for (const w of text.split(/\s+/)) if (w) m.set(w, (m.get(w) ?? 0) + 1);
    return [...m.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 5);
  },
};

/** Implementation sources the code agent "writes" (evaluated by the test runner). */
export const implementations: Record<StoryKind, string> = {
  // insertion sort on purpose: real CPU work that still passes the tests
  sort: `(xs) => { const a = xs.slice(); for (let i = 1; i < a.length; i++) { const v = a[i]; let j = i - 1; while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; } a[j + 1] = v; } return a; }`,
  primes: `(n) => { const out = []; for (let i = 2; i <= n; i++) { let p = true; for (let d = 2; d * d <= i; d++) if (i % d === 0) { p = false; break; } if (p) out.push(i); } return out; }`,
  fib: `(n) => { let a = 0n, b = 1n; for (let i = 0; i < n; i++) { const t = a + b; a = b; b = t; } return a.toString(); }`,
  wordfreq: `(text) => { const m = {}; for (const w of text.split(/\\s+/)) if (w) m[w] = (m[w] || 0) + 1; return Object.entries(m).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 5); }`,
};

/** Make a test input of the given kind and size. */
export function makeInput(kind: StoryKind, size: number, rnd: () => number): unknown {
  switch (kind) {
    case 'sort':
      return Array.from({ length: size }, () => Math.floor(rnd() * 1e6));
    case 'primes':
      return size * 20;
    case 'fib':
      return size;
    case 'wordfreq': {
      const words = ['agent', 'pool', 'lease', 'actor', 'thread', 'story', 'test', 'code'];
      return Array.from({ length: size * 4 }, () => words[Math.floor(rnd() * words.length)]).join(' ');
    }
  }
}

/** Deep equality for JSON-like values. */
export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

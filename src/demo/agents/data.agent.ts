import { defineAgent } from '../../agent/define.js';
import { makeInput, STORY_KINDS, type StoryKind, seeded } from '../work.js';

export default defineAgent({
  /** Prepare test inputs for a story (in parallel with its design). */
  fixtures(input: { story: string; count: number }) {
    const rnd = seeded(`${input.story}:data`);
    const out: Record<StoryKind, unknown[]> = { sort: [], primes: [], fib: [], wordfreq: [] };
    for (const kind of STORY_KINDS) {
      for (let i = 0; i < input.count; i++)
        out[kind].push(makeInput(kind, 100 + Math.floor(rnd() * 500), rnd));
    }
    return out;
  },
});

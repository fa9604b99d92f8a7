import { defineAgent } from '../../agent/define.js';
import { type Design, STORY_KINDS, seeded } from '../work.js';

export default defineAgent({
  /** Turn a story into a design: kind, size and signature (hashing the story as "thinking"). */
  design(input: { story: string; effort: number }, ctx): Design {
    const rnd = seeded(input.story);
    let h = 0;
    for (let i = 0; i < input.effort * 20_000; i++) h = (h * 31 + i) | 0;
    ctx.reportUsage({ tokens: 800 + (Math.abs(h) % 400) });
    const kind = STORY_KINDS[Math.floor(rnd() * STORY_KINDS.length)]!;
    const size = 200 + Math.floor(rnd() * 600);
    return { story: input.story, kind, size, signature: `${kind}(input) -> output` };
  },
});

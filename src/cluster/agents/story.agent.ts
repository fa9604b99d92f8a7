import { defineAgent } from '../../agent/define.js';
import { reference, type StoryKind } from '../../demo/work.js';

/** The cluster demo's agent: runs one story's reference computation on its node, says where. */
export default defineAgent({
  async solve(input: { kind: StoryKind; input: unknown; ms: number }, ctx) {
    ctx.progress({ pid: process.pid });
    // Some wall time per task, so a node dies with work in flight.
    await new Promise((r) => setTimeout(r, input.ms));
    return { pid: process.pid, output: (reference[input.kind] as (x: unknown) => unknown)(input.input) };
  },
});

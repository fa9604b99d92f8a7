import { defineAgent } from '../../agent/define.js';
import { type Design, implementations } from '../work.js';

export default defineAgent({
  /** "Implement" the design: pick the source and check it compiles, spending some CPU on "reasoning". */
  implement(input: { design: Design; attempt: number; effort: number }, ctx) {
    let h = 0;
    for (let i = 0; i < input.effort * 40_000; i++) h = (h ^ (i * 2654435761)) | 0;
    ctx.reportUsage({ tokens: 2_000 + (Math.abs(h) % 1_000) });
    const source = implementations[input.design.kind];
    // A syntax check of the generated code: compile it without running it.
    new Function(`return ${source}`);
    return { source, attempt: input.attempt };
  },
});

import { defineAgent } from '../../agent/define.js';
import { type Design, reference, type StoryKind, same, type TestCase } from '../work.js';

export default defineAgent({
  /** Write tests: expected outputs from the reference implementation. */
  writeTests(input: { design: Design; inputs: unknown[] }, ctx): TestCase[] {
    const ref = reference[input.design.kind] as (x: unknown) => unknown;
    ctx.reportUsage({ tokens: 300 * input.inputs.length });
    return input.inputs.map((x) => ({ input: x, expected: ref(x) }));
  },
  /** Run the tests against the implementation source. */
  runTests(input: { kind: StoryKind; source: string; tests: TestCase[] }) {
    // The demo runs code its own code agent produced, inside this worker thread.
    const fn = new Function(`return ${input.source}`)() as (x: unknown) => unknown;
    let passed = 0;
    const failures: number[] = [];
    input.tests.forEach((t, i) => {
      if (same(fn(t.input), t.expected)) passed++;
      else failures.push(i);
    });
    return { passed, failed: failures.length, failures };
  },
});

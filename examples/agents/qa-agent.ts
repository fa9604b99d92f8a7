// A thread agent module: runs the tests of a story.
import { defineAgent } from 'agentpool/agent';

export default defineAgent({
  async runTests(input: { story: number }) {
    await new Promise((r) => setTimeout(r, 5));
    return { story: input.story, passed: 12, failed: 0 };
  },
});

// A thread agent module (loaded by URL in a worker thread). Its default export's type is what
// `agentModule<typeof import('./agents/code-agent.js').default>()` hands the compiler.
import { defineAgent } from 'agentpool/agent';

/** Stands in for a model call: honours the abort signal like a real client would. */
async function callYourModel(prompt: string, signal: AbortSignal) {
  signal.throwIfAborted();
  await new Promise((r) => setTimeout(r, 5));
  return { text: `patch for ${prompt}`, usage: { totalTokens: 1_200 } };
}

export default defineAgent({
  async implement(input: { story: number }, ctx) {
    const budget = await ctx.tokens.reserve(4_000); // refused (ERR_BUDGET_EXHAUSTED) if a budget would be exceeded
    const answer = await callYourModel(`story ${input.story}`, ctx.signal);
    budget.settle(answer.usage.totalTokens);
    ctx.heartbeat(); // long tasks: prove you are alive
    return answer.text;
  },
});

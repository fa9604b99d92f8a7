/**
 * The learning bench runs the real system and prints the JSON shape: one row per scenario ×
 * strategy with p99 wait, mean time in system and the task count (small run; numbers not asserted).
 */
import { describe, expect, it } from 'vitest';
import {
  LEARNING_SCENARIOS,
  LEARNING_STRATEGIES,
  learningGoals,
  runLearningBench,
} from '../../bench/learning.js';

describe('bench learning', () => {
  it('covers every scenario × strategy with finite numbers, and computes the goal per scenario', async () => {
    const results = await runLearningBench({ tasks: 60, seeds: [1] });
    expect(results).toHaveLength(LEARNING_SCENARIOS.length * LEARNING_STRATEGIES.length);
    for (const r of results) {
      expect(Object.keys(r).sort()).toEqual(['meanTimeMs', 'p99WaitMs', 'scenario', 'strategy', 'tasks']);
      expect(r.tasks).toBe(60);
      expect(Number.isFinite(r.p99WaitMs) && r.p99WaitMs >= 0).toBe(true);
      expect(r.meanTimeMs).toBeGreaterThan(0);
    }
    const goals = learningGoals(results);
    expect(goals.map((g) => g.scenario)).toEqual([...LEARNING_SCENARIOS]);
  });
});

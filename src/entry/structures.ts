/**
 * `agentpool/structures`: the pure data structures behind the runtime — the multi-resource ledger
 * (whose plain-data state the allocator machine keeps in its context), the priority task queue,
 * work-stealing deques, token budgets and the binary heap.
 */
export * from '../structures/ledger.js';
export * from '../structures/task-queue.js';
export * from '../structures/work-stealing.js';
export * from '../structures/budget.js';
export * from '../core/heap.js';

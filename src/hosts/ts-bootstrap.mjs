// Development only: when agentpool runs from its TypeScript sources (tests), worker threads cannot
// load .ts files on Node 20. This bootstrap registers tsx in the worker, then loads the real entry.
// Built packages (dist/) start thread-worker.js directly and never use this file.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsEntry);

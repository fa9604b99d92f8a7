// Registers tsx in a worker thread, then loads the real entry (workerData.tsEntry). Used when
// agentpool runs from its TypeScript sources (tests: worker threads cannot load .ts on Node 20), and
// by a built package for a TypeScript agent module when tsx is installed (copied to dist by `build`).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsEntry);

// Comlink ships its Node adapter without an exports map or typings for this path.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { MessagePort, Worker } from 'node:worker_threads';
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(nep: Worker | MessagePort): Endpoint;
}

/**
 * The graph checker and machine documentation: `checkMachine` explores a machine spec with
 * `xstate/graph` and replays its paths; `runVerify` / `runDocs` are the `agentpool verify` and
 * `agentpool docs` commands.
 */
export { findingCount, formatReport, type RunVerifyOptions, reportFails, runVerify } from './cli.js';
export { type DocFileResult, GENERATED_MARKER, renderMachineDoc, runDocs, writeMachineDocs } from './docs.js';
export { checkMachine } from './graph-check.js';
export { type StateRow, stateRows, type TransitionRow, toMermaid, transitionRows } from './mermaid.js';
export { DEFAULT_SPECS_DIR, loadSpecs } from './registry.js';
export { DEFAULT_STATE_LIMIT, validateSpec } from './spec-validate.js';
export type { Finding, MachineReport, MachineSpec, ReplayHooks, SpecEvent, VerifyClock } from './types.js';

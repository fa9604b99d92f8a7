/**
 * `agentpool/verify`: the graph checker (`checkMachine`), the machine specs (`loadSpecs`), their
 * validation, Mermaid diagrams and tables (`toMermaid`), and the `agentpool verify` / `docs` commands.
 */
export * from '../verify/index.js';

/**
 * The layers of docs/architecture.md, enforced in CI (`npm run lint` → `npm run deps`):
 * src/core at the bottom (clock, random source, errors, logger), pure machines/, policies/ and
 * structures/ above it, hosts below the runtime, and no import cycle — type-only imports included.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
// eslint-disable-next-line no-undef -- CommonJS config file (dependency-cruiser reads .cjs)
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycle, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-the-bottom',
      severity: 'error',
      comment: 'src/core (clock, random, errors, logger) imports nothing of the project outside itself.',
      from: { path: '^src/core/' },
      to: { path: '^(src|machines)/', pathNot: '^src/core/' },
    },
    {
      name: 'machines-are-pure',
      severity: 'error',
      comment: 'machines/ imports only xstate, other machines, src/core, src/policies and src/structures.',
      from: { path: '^machines/' },
      to: { path: '^src/', pathNot: '^src/(core|policies|structures)/' },
    },
    {
      name: 'policies-and-structures-are-pure',
      severity: 'error',
      comment: 'Policies and structures are pure: no runtime, hosts, cli, sim, metrics endpoint or machines.',
      from: { path: '^src/(policies|structures)/' },
      to: { path: '^(machines/|src/(runtime|hosts|cli|sim|verify|demo|agent)/)' },
    },
    {
      name: 'hosts-below-runtime',
      severity: 'error',
      comment: 'Hosts (where agent code runs) do not reach up into the runtime, the CLI or the simulator.',
      from: { path: '^src/hosts/' },
      to: { path: '^src/(runtime|cli|sim|verify|demo)/' },
    },
    {
      name: 'runtime-not-on-tools',
      severity: 'error',
      comment: 'The runtime does not depend on the CLI, the simulator, the graph checker or the demo.',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(cli|sim|verify|demo)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
    exclude: { path: '^(dist|node_modules)/' },
  },
};

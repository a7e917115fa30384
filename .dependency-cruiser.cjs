/**
 * The layering of the README's "Layout" (arrows point one way:
 * core ← genesis ← state ← consensus ← node, with p2p and rpc as adapters
 * that only node wires in), checked by `npm test` (depcruise).
 * Type-only imports count too: a type is part of the seam.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-nothing-of-ours',
      comment: 'core/ holds primitives: it imports no other folder of this repo',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(genesis|state|consensus|p2p|rpc|node|bench|test|bin)/' },
    },
    {
      name: 'genesis-below-state',
      comment: 'genesis/ builds on core/ only',
      severity: 'error',
      from: { path: '^genesis/' },
      to: { path: '^(state|consensus|p2p|rpc|node|bench|test|bin)/' },
    },
    {
      name: 'state-and-consensus-no-io-adapters',
      comment: 'state/ and consensus/ never import p2p/, rpc/ or node/ (they run unchanged in the simulator)',
      severity: 'error',
      from: { path: '^(state|consensus)/' },
      to: { path: '^(p2p|rpc|node|bench|test|bin)/' },
    },
    {
      name: 'state-below-consensus',
      comment: 'state/ does not import consensus/ (consensus builds on state)',
      severity: 'error',
      from: { path: '^state/' },
      to: { path: '^consensus/' },
    },
    {
      name: 'adapters-never-import-node',
      comment: 'p2p/ and rpc/ are adapters that node/ wires in; they never import node/ (nor each other)',
      severity: 'error',
      from: { path: '^(p2p|rpc)/' },
      to: { path: '^(node|bench|test|bin)/' },
    },
    {
      name: 'p2p-rpc-independent',
      comment: 'p2p/ and rpc/ do not import each other',
      severity: 'error',
      from: { path: '^(p2p|rpc)/' },
      to: { path: '^(p2p|rpc)/', pathNot: '^$1/' },
    },
    {
      name: 'no-circular',
      comment: 'import cycles make load order matter; type-only cycles are allowed',
      severity: 'warn',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only', 'type-import'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|test/vectors|node/explorer/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.mts', '.js', '.mjs'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
}

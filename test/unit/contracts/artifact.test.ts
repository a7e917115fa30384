import t from 'tap'
import { readFileSync } from 'node:fs'
import { compileCheckpoints, artifactSource, ARTIFACT_PATH } from '../../../contracts/compile.js'
import { checkpointsAbi, checkpointsBytecode } from '../../../contracts/AttrchainCheckpoints.artifact.js'
import { CHECKPOINT_DOMAIN, CHECKPOINT_TYPES } from '../../../state/checkpoint.js'

/**
 * The committed artifact is what `attrchain rollup deploy` puts on the L1:
 * recompiling contracts/AttrchainCheckpoints.sol with the pinned solc must
 * give the same bytecode and ABI (`npx tsx contracts/compile.ts` rewrites it).
 */
t.test('the committed artifact is the compiled contract', async (t) => {
  const c = compileCheckpoints()
  t.equal(c.bytecode, checkpointsBytecode, 'same bytecode')
  t.same(c.abi, checkpointsAbi, 'same ABI')
  t.equal(readFileSync(ARTIFACT_PATH, 'utf8'), artifactSource(c), 'the artifact file is exactly what compile.ts writes')
})

t.test('the contract declares the typed data the chain signs', async (t) => {
  const src = readFileSync(new URL('../../../contracts/AttrchainCheckpoints.sol', import.meta.url), 'utf8')
  const type = `Checkpoint(${CHECKPOINT_TYPES.Checkpoint.map((f) => `${f.type} ${f.name}`).join(',')})`
  t.ok(src.includes(`keccak256("${type}")`), `CHECKPOINT_TYPEHASH is over ${type}`)
  t.ok(src.includes('keccak256("EIP712Domain(string name,string version)")'), 'domain type: name and version only')
  t.ok(src.includes(`keccak256("${CHECKPOINT_DOMAIN.name}"), keccak256("${CHECKPOINT_DOMAIN.version}")`), 'same domain name and version')
})

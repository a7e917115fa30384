import type { Address } from '../core/address.js'
import type { Hex, TxCall } from '../core/tx.js'
import type { Params } from '../genesis/params.js'
import type { BlockState } from './blockState.js'
import { K } from './keys.js'
import { DatanetCodec, IdRefCodec, ModelCodec } from './entities.js'
import { ContributionExtraCodec, DatanetTermsCodec, ModelLineageCodec, defaultLineage, type StackEntry } from './lineage.js'
import { fail } from './txContext.js'

/**
 * The lineage tx family (DESIGN §4.1): setModelTerms, setDatanetTerms, and
 * the lineage parts of registerModel (the frozen royalty stack) and of
 * contribute (a synthetic contribution's source model).
 */

/** `setModelTerms` (DESIGN §4.1): model owner only; applies to models derived later, never to frozen stacks. */
export function setModelTerms(s: BlockState, from: Address, call: Extract<TxCall, { type: 'setModelTerms' }>): void {
  const m = s.get(ModelCodec, K.model(call.modelId)) ?? fail('TX_ERROR_UNKNOWN_MODEL', `body[0]: no model ${call.modelId}`, { field: 'body[0]' })
  if (m.owner !== from) fail('TX_ERROR_NOT_MODEL_OWNER', `only the model's owner ${m.owner} may set its terms`, { field: 'body[0]' })
  const l = s.get(ModelLineageCodec, K.modelLineage(m.id)) ?? defaultLineage()
  s.set(ModelLineageCodec, K.modelLineage(m.id), { ...l, derivativeRoyaltyBps: call.derivativeRoyaltyBps, allowDerivatives: call.allowDerivatives })
}

/** `setDatanetTerms` (DESIGN §4.1): Datanet owner only, curatorBps ≤ params.maxCuratorBps. */
export function setDatanetTerms(s: BlockState, params: Params, from: Address, call: Extract<TxCall, { type: 'setDatanetTerms' }>): void {
  const dn = s.get(DatanetCodec, K.datanet(call.datanetId)) ?? fail('TX_ERROR_UNKNOWN_DATANET', `body[0]: no Datanet ${call.datanetId}`, { field: 'body[0]' })
  if (dn.owner !== from) fail('TX_ERROR_NOT_DATANET_OWNER', `only the Datanet's owner ${dn.owner} may set its terms`, { field: 'body[0]' })
  if (call.curatorBps > params.maxCuratorBps) {
    fail('TX_ERROR_CURATOR_BPS_TOO_HIGH', `body[1]: curatorBps ${call.curatorBps} exceeds maxCuratorBps ${params.maxCuratorBps}`, { field: 'body[1]', bound: 'maxCuratorBps' })
  }
  const t = s.get(DatanetTermsCodec, K.datanetTerms(dn.id)) ?? { curatorBps: 0, curationEarned: 0n }
  s.set(DatanetTermsCodec, K.datanetTerms(dn.id), { ...t, curatorBps: call.curatorBps })
}

/**
 * The frozen royalty stack of a model with these parents (DESIGN §4.1):
 * walking the parents in order, each parent before its own stack, the first
 * bps met for an ancestor is kept. O(parents × maxRoyaltyStack); checks
 * every bound with an error that names it. Returned in ascending id.
 */
export function buildStack(s: BlockState, params: Params, parents: Hex[]): StackEntry[] {
  if (parents.length > params.maxModelParents) {
    fail('TX_ERROR_TOO_MANY_PARENTS', `body[4] names ${parents.length} parents; maxModelParents is ${params.maxModelParents}`, { field: 'body[4]', bound: 'maxModelParents' })
  }
  const stack = new Map<Hex, number>()
  parents.forEach((p, i) => {
    if (!s.get(ModelCodec, K.model(p))) fail('TX_ERROR_UNKNOWN_PARENT', `body[4][${i}]: no model ${p}`, { field: `body[4][${i}]` })
    const l = s.get(ModelLineageCodec, K.modelLineage(p)) ?? defaultLineage()
    if (!l.allowDerivatives) fail('TX_ERROR_DERIVATIVES_NOT_ALLOWED', `body[4][${i}]: model ${p} does not allow derivatives`, { field: `body[4][${i}]` })
    if (!stack.has(p)) stack.set(p, l.derivativeRoyaltyBps)
    for (const e of l.stack) if (!stack.has(e.modelId)) stack.set(e.modelId, e.royaltyBps)
  })
  if (stack.size > params.maxRoyaltyStack) {
    fail('TX_ERROR_ROYALTY_STACK_TOO_DEEP', `the royalty stack would hold ${stack.size} ancestors; maxRoyaltyStack is ${params.maxRoyaltyStack}`, { field: 'body[4]', bound: 'maxRoyaltyStack' })
  }
  let bps = 0
  for (const v of stack.values()) bps += v
  if (bps > params.maxRoyaltyStackBps) {
    fail('TX_ERROR_ROYALTY_STACK_TOO_EXPENSIVE', `the royalty stack would take ${bps} bps of the owner share; maxRoyaltyStackBps is ${params.maxRoyaltyStackBps}`, { field: 'body[4]', bound: 'maxRoyaltyStackBps' })
  }
  return [...stack].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([modelId, royaltyBps]) => ({ modelId, royaltyBps }))
}

/** Record a new model's parents and stack, and list it as a child of each parent. */
export function registerLineage(s: BlockState, modelId: Hex, parents: Hex[], stack: StackEntry[]): void {
  s.set(ModelLineageCodec, K.modelLineage(modelId), { ...defaultLineage(), parents, stack })
  for (const p of parents) {
    const l = s.get(ModelLineageCodec, K.modelLineage(p)) ?? defaultLineage()
    const n = l.children + 1
    s.set(ModelLineageCodec, K.modelLineage(p), { ...l, children: n })
    s.set(IdRefCodec, K.modelChild(p, n), { id: modelId })
  }
}

/** `contribute` with a sourceModelId: the source must exist; its derivativeRoyaltyBps is frozen as synthBps. */
export function recordSyntheticSource(s: BlockState, contributionId: Hex, sourceModelId: Hex): void {
  if (!s.get(ModelCodec, K.model(sourceModelId))) fail('TX_ERROR_UNKNOWN_SOURCE_MODEL', `body[3]: no model ${sourceModelId}`, { field: 'body[3]' })
  const synthBps = (s.get(ModelLineageCodec, K.modelLineage(sourceModelId)) ?? defaultLineage()).derivativeRoyaltyBps
  s.set(ContributionExtraCodec, K.contributionExtra(contributionId), { sourceModelId, synthBps, curationPaid: 0n, syntheticPaid: 0n })
}

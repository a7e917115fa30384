import { TxError } from '../core/errors.js'
import type { Address } from '../core/address.js'
import type { Hex, Receipt, TxCall } from '../core/tx.js'
import type { Params } from '../genesis/params.js'
import type { BlockState } from './blockState.js'
import type { CreditBook, DistributionRole } from './distribution.js'
import { K } from './keys.js'
import {
  record, DatanetCodec, IdRefCodec, ModelCodec,
  type Contribution, type Datanet, type Model,
} from './entities.js'
import { creditPool } from './pool.js'

/**
 * Attribution continuity (DESIGN §4.1): model and Datanet terms, lineage
 * with a royalty stack frozen at registration, curation shares, synthetic
 * contributions, and the flows that explain every unit of a receipt's fee.
 *
 * The records here live under their own keys, beside the entities of
 * DESIGN §4, so that a chain that never uses lineage keeps the bytes (and
 * state roots) it had before. Work per receipt is O(stack + attribution
 * entries + provenance entries): stacks are flat, nothing walks the graph.
 */

// ---------------------------------------------------------------- records

export interface StackEntry { modelId: Hex; royaltyBps: number }

/** A model's terms (DESIGN §4.1; defaults royalty 0, derivatives allowed), parents, frozen stack and lineage totals. */
export interface ModelLineage {
  derivativeRoyaltyBps: number
  allowDerivatives: boolean
  parents: Hex[]
  /** frozen at registration, ascending model id */
  stack: StackEntry[]
  /** models registered with this one among their parents (listed under K.modelChild) */
  children: number
  /** units credited to this model through creditModel (as an ancestor or a synthetic source) */
  royaltiesEarned: bigint
  /** units of this model's receipts' owner share paid to its stack */
  royaltiesPaid: bigint
}
export const ModelLineageCodec = record<ModelLineage>({
  derivativeRoyaltyBps: 'uint', allowDerivatives: 'bool', parents: { list: 'hex' },
  stack: { list: record<StackEntry>({ modelId: 'hex', royaltyBps: 'uint' }) }, children: 'uint', royaltiesEarned: 'big', royaltiesPaid: 'big',
})

export function defaultLineage(): ModelLineage {
  return { derivativeRoyaltyBps: 0, allowDerivatives: true, parents: [], stack: [], children: 0, royaltiesEarned: 0n, royaltiesPaid: 0n }
}

/** A Datanet's terms and the curation its owner has earned. */
export interface DatanetTerms { curatorBps: number; curationEarned: bigint }
export const DatanetTermsCodec = record<DatanetTerms>({ curatorBps: 'uint', curationEarned: 'big' })

/**
 * A contribution's extras: its synthetic source (`sourceModelId` '' when
 * none) with the royalty frozen at submission, and what curation and the
 * synthetic royalty have taken from its earnings.
 */
export interface ContributionExtra { sourceModelId: string; synthBps: number; curationPaid: bigint; syntheticPaid: bigint }
export const ContributionExtraCodec = record<ContributionExtra>({ sourceModelId: 'str', synthBps: 'uint', curationPaid: 'big', syntheticPaid: 'big' })

// ---------------------------------------------------------------- flows

/** The step of DESIGN §4 / §4.1 that sent an amount where it went. */
export type FlowRule = 'split' | 'attributionWeight' | 'pool' | 'royalty' | 'curation' | 'synthetic' | 'rounding'
export const FLOW_RULES: readonly FlowRule[] = ['split', 'attributionWeight', 'pool', 'royalty', 'curation', 'synthetic', 'rounding']

export type FlowRole = 'contributor' | 'datanetPool' | 'modelOwner' | 'operator' | 'validators' | 'treasury' | 'royalty' | 'curator'

/**
 * One flow of a receipt's fee: `via` is the model, contribution or Datanet
 * whose rule moved it (null for the plain split).
 */
export interface Flow { address: string | null; role: FlowRole; amount: bigint; rule: FlowRule; via: Hex | null }

/** Flows merged by (address, role, rule, via), in order of first appearance: bounded by the entities a receipt reaches. */
export class FlowList {
  readonly items: Flow[] = []
  private readonly index = new Map<string, number>()

  add(address: string | null, role: FlowRole, amount: bigint, rule: FlowRule, via: Hex | null): void {
    if (amount === 0n) return
    const key = `${role}|${address}|${rule}|${via}`
    const i = this.index.get(key)
    if (i !== undefined) {
      this.items[i].amount += amount
      return
    }
    this.index.set(key, this.items.length)
    this.items.push({ address, role, amount, rule, via })
  }
}

/** A receipt's payouts (DESIGN §6.1): its flows summed per (address, role), first appearance first. */
export function payoutsOfFlows(flows: Flow[]): { address: string | null; role: FlowRole; amount: bigint }[] {
  const out: { address: string | null; role: FlowRole; amount: bigint }[] = []
  const index = new Map<string, number>()
  for (const f of flows) {
    const key = `${f.role}|${f.address}`
    const i = index.get(key)
    if (i !== undefined) out[i].amount += f.amount
    else {
      index.set(key, out.length)
      out.push({ address: f.address, role: f.role, amount: f.amount })
    }
  }
  return out
}

// ---------------------------------------------------------------- working copies

function fail(code: string, message: string, meta: Record<string, unknown> = {}): never {
  throw new TxError(code, message, meta)
}

/**
 * Lineage records read once per tx and written back once (as ReceiptWork in
 * execute.ts does for models, contributions and Datanets, whose working
 * copies it shares through `datanet` and `model`). Absent records are
 * cached too: the plain path asks about every Datanet and contribution.
 */
export class LineageWork {
  private readonly lineages = new Map<Hex, ModelLineage | null>()
  private readonly terms = new Map<Hex, DatanetTerms | null>()
  private readonly extras = new Map<Hex, ContributionExtra | null>()
  private readonly dirtyLineage = new Set<Hex>()
  private readonly dirtyTerms = new Set<Hex>()
  private readonly dirtyExtras = new Set<Hex>()

  constructor(
    private readonly s: BlockState,
    readonly datanet: (id: Hex) => Datanet,
    readonly model: (id: Hex) => Model | undefined,
  ) {}

  lineage(id: Hex): ModelLineage | null {
    return cached(this.lineages, id, () => this.s.get(ModelLineageCodec, K.modelLineage(id)))
  }

  datanetTerms(id: Hex): DatanetTerms | null {
    return cached(this.terms, id, () => this.s.get(DatanetTermsCodec, K.datanetTerms(id)))
  }

  extra(id: Hex): ContributionExtra | null {
    return cached(this.extras, id, () => this.s.get(ContributionExtraCodec, K.contributionExtra(id)))
  }

  curatorBps(datanetId: Hex): number {
    return this.datanetTerms(datanetId)?.curatorBps ?? 0
  }

  /** The lineage record of `id` to update (created with the defaults). */
  lineageForUpdate(id: Hex): ModelLineage {
    let l = this.lineage(id)
    if (l === null) this.lineages.set(id, (l = defaultLineage()))
    this.dirtyLineage.add(id)
    return l
  }

  termsForUpdate(id: Hex): DatanetTerms {
    let t = this.datanetTerms(id)
    if (t === null) this.terms.set(id, (t = { curatorBps: 0, curationEarned: 0n }))
    this.dirtyTerms.add(id)
    return t
  }

  extraForUpdate(id: Hex): ContributionExtra {
    let x = this.extra(id)
    if (x === null) this.extras.set(id, (x = { sourceModelId: '', synthBps: 0, curationPaid: 0n, syntheticPaid: 0n }))
    this.dirtyExtras.add(id)
    return x
  }

  /**
   * Whether a receipt needs the lineage path: its model has a royalty
   * stack, or a Datanet it pays has a curator share, or an attributed
   * contribution is synthetic. O(attribution + provenance) cached lookups.
   */
  involved(model: Model, r: Receipt, cs: Contribution[]): boolean {
    const l = this.lineage(model.id)
    if (l !== null && l.stack.length > 0) return true
    if (cs.length === 0) {
      for (const d of model.datanets) if (this.curatorBps(d.datanetId) > 0) return true
      return false
    }
    for (const c of cs) {
      if (this.curatorBps(c.datanetId) > 0) return true
      const x = this.extra(c.id)
      if (x !== null && x.sourceModelId !== '') return true
    }
    return false
  }

  flush(): void {
    for (const id of this.dirtyLineage) this.s.set(ModelLineageCodec, K.modelLineage(id), { ...(this.lineages.get(id) as ModelLineage) })
    for (const id of this.dirtyTerms) this.s.set(DatanetTermsCodec, K.datanetTerms(id), { ...(this.terms.get(id) as DatanetTerms) })
    for (const id of this.dirtyExtras) this.s.set(ContributionExtraCodec, K.contributionExtra(id), { ...(this.extras.get(id) as ContributionExtra) })
  }
}

function cached<T>(m: Map<Hex, T | null>, id: Hex, read: () => T | undefined): T | null {
  let v = m.get(id)
  if (v === undefined) {
    const stored = read()
    v = stored === undefined ? null : { ...stored }
    m.set(id, v)
  }
  return v
}

/** A LineageWork over plain block state (claim): Datanets and models copied out and written back by `flush`. */
export class StateLineageWork extends LineageWork {
  private readonly datanets: Map<Hex, Datanet>

  constructor(private readonly state: BlockState) {
    const datanets = new Map<Hex, Datanet>()
    super(state, (id) => {
      let d = datanets.get(id)
      if (d === undefined) datanets.set(id, (d = { ...(state.get(DatanetCodec, K.datanet(id)) as Datanet) }))
      return d
    }, (id) => state.get(ModelCodec, K.model(id)))
    this.datanets = datanets
  }

  override flush(): void {
    super.flush()
    for (const [id, d] of this.datanets) this.state.set(DatanetCodec, K.datanet(id), d)
  }
}

// ---------------------------------------------------------------- the rules

/** What the lineage rules credit into: the block's credit book, the params, and the flows of the receipt (null in claim). */
export interface LineageSink {
  params: Params
  credits: CreditBook
  flows: FlowList | null
}

function credit(sink: LineageSink, address: string, role: FlowRole, amount: bigint, rule: FlowRule, via: Hex | null): void {
  if (amount === 0n) return
  sink.credits.add(address, role as DistributionRole, amount)
  sink.flows?.add(address, role, amount, rule, via)
}

function toTreasury(sink: LineageSink, amount: bigint, rule: FlowRule, via: Hex | null): void {
  credit(sink, sink.params.treasury, 'treasury', amount, rule, via)
}

/**
 * A credit of `x` into Datanet `dn`'s pool (DESIGN §4, §4.1): the curator's
 * share first (only when the pool has members: curation is a share of what
 * contributions earn), the rest into the pool; what the accumulator cannot
 * hold, or everything when the pool is empty, to the treasury. Returns the
 * units the pool now holds.
 */
export function creditDatanetPool(sink: LineageSink, lw: LineageWork, dn: Datanet, x: bigint, rule: FlowRule, via: Hex | null): bigint {
  if (x === 0n) return 0n
  if (dn.pool.totalShares === 0n) {
    toTreasury(sink, x, 'rounding', dn.id)
    return 0n
  }
  const cur = curation(sink, lw, dn, x)
  const { pool, dust } = creditPool(dn.pool, x - cur)
  const held = x - cur - dust
  dn.pool = pool
  dn.earned += held
  credit(sink, dn.id, 'datanetPool', held, rule, via)
  toTreasury(sink, dust, 'rounding', dn.id)
  return held
}

/** ⌊x·curatorBps_d/10⁴⌋ to Datanet d's owner, role `curator`; returns it. */
function curation(sink: LineageSink, lw: LineageWork, dn: Datanet, x: bigint): bigint {
  const bps = lw.curatorBps(dn.id)
  if (bps === 0) return 0n
  const cur = (x * BigInt(bps)) / 10_000n
  if (cur === 0n) return 0n
  credit(sink, dn.owner, 'curator', cur, 'curation', dn.id)
  lw.termsForUpdate(dn.id).curationEarned += cur
  return cur
}

/**
 * creditModel(a, X) (DESIGN §4.1), the one way a model earns lineage
 * revenue: D = ⌊X·c/(c+o)⌋ over a's Datanet pools by provenance weight
 * (remainder to the treasury), X − D to a's owner, role `royalty`.
 */
export function creditModel(sink: LineageSink, lw: LineageWork, modelId: Hex, X: bigint, rule: FlowRule): void {
  if (X === 0n) return
  const a = lw.model(modelId) as Model
  const { contributors: c, modelOwner: o } = sink.params.feeSplit
  const D = c + o === 0 ? 0n : (X * BigInt(c)) / BigInt(c + o)
  let W = 0n
  for (const d of a.datanets) W += BigInt(d.weight)
  let given = 0n
  for (const d of a.datanets) {
    const amount = (D * BigInt(d.weight)) / W
    given += amount
    creditDatanetPool(sink, lw, lw.datanet(d.datanetId), amount, rule, modelId)
  }
  toTreasury(sink, D - given, 'rounding', modelId)
  credit(sink, a.owner, 'royalty', X - D, rule, modelId)
  lw.lineageForUpdate(modelId).royaltiesEarned += X
}

/**
 * Split `O` as a model's owner share over its frozen stack: each ancestor
 * (ascending id) ⌊O·bps/10⁴⌋ through creditModel; returns what is left.
 */
function payStack(sink: LineageSink, lw: LineageWork, stack: StackEntry[], O: bigint, rule: FlowRule): bigint {
  let paid = 0n
  for (const e of stack) {
    const R = (O * BigInt(e.royaltyBps)) / 10_000n
    paid += R
    creditModel(sink, lw, e.modelId, R, rule)
  }
  return O - paid
}

/**
 * The synthetic royalty of an amount `x` paid to contribution `c`'s
 * contributor: Y = ⌊x·synthBps/10⁴⌋ to the source's lineage, split as if Y
 * were the source's owner share. Returns Y (the contributor gets x − Y).
 */
export function takeSynthetic(sink: LineageSink, lw: LineageWork, contributionId: Hex, x: bigint): bigint {
  const extra = lw.extra(contributionId)
  if (extra === null || extra.sourceModelId === '' || extra.synthBps === 0 || x === 0n) return 0n
  const Y = (x * BigInt(extra.synthBps)) / 10_000n
  if (Y === 0n) return 0n
  const source = extra.sourceModelId
  const rest = payStack(sink, lw, lw.lineage(source)?.stack ?? [], Y, 'synthetic')
  creditModel(sink, lw, source, rest, 'synthetic')
  lw.extraForUpdate(contributionId).syntheticPaid += Y
  return Y
}

/** A receipt's fee already split per feeSplit (DESIGN §4). */
export interface FeeParts { C: bigint; owner: bigint; operator: bigint; validators: bigint; treasury: bigint }

/**
 * The contributors' part and the owner share of a receipt on the lineage
 * path (DESIGN §4.1). Credits go to `sink.credits`; the caller credits the
 * operator, validators and treasury split and records the flows. Updates
 * the contributions' and Datanets' running totals as the plain path does.
 */
export function distributeLineage(sink: LineageSink, lw: LineageWork, model: Model, r: Receipt, cs: Contribution[], parts: FeeParts): void {
  if (cs.length > 0) attributed(sink, lw, r, cs, parts.C)
  else {
    let W = 0n
    for (const d of model.datanets) W += BigInt(d.weight)
    let given = 0n
    for (const d of model.datanets) {
      const amount = (parts.C * BigInt(d.weight)) / W
      given += amount
      creditDatanetPool(sink, lw, lw.datanet(d.datanetId), amount, 'pool', model.id)
    }
    toTreasury(sink, parts.C - given, 'rounding', model.id)
  }
  const stack = lw.lineage(model.id)?.stack ?? []
  const keep = payStack(sink, lw, stack, parts.owner, 'royalty')
  if (keep !== parts.owner) lw.lineageForUpdate(model.id).royaltiesPaid += parts.owner - keep
  credit(sink, model.owner, 'modelOwner', keep, 'split', null)
}

/** Explicit attribution: ⌊C·wᵢ/W⌋ per contribution, curation first, then the synthetic royalty; rounding to the treasury. */
function attributed(sink: LineageSink, lw: LineageWork, r: Receipt, cs: Contribution[], C: bigint): void {
  let weights = 0
  for (const a of r.attribution) weights += a.weight
  const W = BigInt(weights)
  let given = 0n
  for (let j = 0; j < cs.length; j++) {
    const c = cs[j]
    const w = BigInt(r.attribution[j].weight)
    const x = (C * w) / W
    given += x
    const dn = lw.datanet(c.datanetId)
    const cur = curation(sink, lw, dn, x)
    if (cur > 0n) lw.extraForUpdate(c.id).curationPaid += cur
    const earned = x - cur
    const Y = takeSynthetic(sink, lw, c.id, earned)
    credit(sink, c.contributor, 'contributor', earned - Y, 'attributionWeight', c.id)
    c.receipts += 1
    c.weightSharePpm += Number((1_000_000n * w) / W)
    c.earned += earned
    dn.earned += earned
  }
  toTreasury(sink, C - given, 'rounding', null)
}

// ---------------------------------------------------------------- txs

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

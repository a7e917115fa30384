import { formatAmount } from '../core/amount.js'
import type { Hex } from '../core/tx.js'
import type { Params } from '../genesis/params.js'
import type { StateStore } from './store.js'
import { BlockState } from './blockState.js'
import { K } from './keys.js'
import { IdRefCodec, ModelCodec } from './entities.js'
import type { ReceiptRecord } from './execute.js'
import {
  ContributionExtraCodec, DatanetTermsCodec, ModelLineageCodec, defaultLineage, type Flow,
} from './lineage.js'

/**
 * The flows of a receipt's fee (DESIGN §4.1 `attribution_explain`): every
 * amount with the rule that sent it there, summing to the fee exactly. A
 * lineage receipt stored its flows; a plain receipt's follow from its
 * payouts (in the order processReceipts.ts wrote them: contributors in attribution
 * order or Datanet pools, then owner, operator, validators, treasury), the
 * treasury's payout split in its feeSplit share and the rounding remainder.
 */
export function explainReceipt(r: ReceiptRecord, params: Params): Flow[] {
  if (r.flows !== undefined) return r.flows
  const fee = r.receipt.fee
  const bps = (b: number) => (fee * BigInt(b)) / 10_000n
  const { feeSplit } = params
  const splitTreasury = fee - bps(feeSplit.contributors) - bps(feeSplit.modelOwner) - bps(feeSplit.operator) - bps(feeSplit.validators)
  const out: Flow[] = []
  let k = 0
  for (const p of r.payouts) {
    switch (p.role) {
      case 'contributor':
        out.push({ ...p, rule: 'attributionWeight', via: r.receipt.attribution[k++]?.contributionId ?? null })
        break
      case 'datanetPool':
        out.push({ ...p, rule: 'pool', via: r.receipt.modelId })
        break
      case 'treasury': {
        const split = p.amount < splitTreasury ? p.amount : splitTreasury
        out.push({ ...p, amount: split, rule: 'split', via: null })
        if (p.amount > split) out.push({ ...p, amount: p.amount - split, rule: 'rounding', via: null })
        break
      }
      default:
        out.push({ ...p, rule: 'split', via: null })
    }
  }
  return out.filter((f) => f.amount > 0n)
}

/** JSON of `attribution_explain`: `{receiptId, fee, flows: [{address, role, amount, rule, via}]}`, amounts as decimal strings. */
export function explainJson(r: ReceiptRecord, params: Params): Record<string, unknown> {
  return {
    receiptId: r.id, fee: formatAmount(r.receipt.fee), modelId: r.receipt.modelId, traceId: r.receipt.traceId ?? null,
    flows: explainReceipt(r, params).map((f) => ({ address: f.address, role: f.role, amount: formatAmount(f.amount), rule: f.rule, via: f.via })),
  }
}

/** Most children `model_lineage` lists (the count is always given). */
export const MAX_LINEAGE_CHILDREN = 1000

/**
 * Read-only lineage queries (DESIGN §4.1) over a state store: the records
 * of state/lineage.ts, which the DESIGN §6.1 objects gain as totals.
 */
export class LineageQueries {
  constructor(private readonly store: StateStore) {}

  private view(): BlockState {
    return new BlockState(this.store)
  }

  /**
   * `model_lineage [modelId, {offset?, limit?}]` → `{modelId, derivativeRoyaltyBps, allowDerivatives,
   * parents, stack: [{modelId, royaltyBps}], children: [modelId…], childCount}`; null for an unknown model.
   */
  lineage(modelId: Hex, opts: { offset?: number; limit?: number } = {}): Record<string, unknown> | null {
    const s = this.view()
    if (!s.get(ModelCodec, K.model(modelId))) return null
    const l = s.get(ModelLineageCodec, K.modelLineage(modelId)) ?? defaultLineage()
    const offset = opts.offset ?? 0
    const limit = Math.min(opts.limit ?? 100, MAX_LINEAGE_CHILDREN)
    const children: Hex[] = []
    for (let n = offset + 1; n <= l.children && children.length < limit; n++) children.push((s.get(IdRefCodec, K.modelChild(modelId, n)) as { id: Hex }).id)
    return {
      modelId, derivativeRoyaltyBps: l.derivativeRoyaltyBps, allowDerivatives: l.allowDerivatives, parents: l.parents,
      stack: l.stack, children, childCount: l.children,
    }
  }

  /** The lineage fields `model_get` gains: terms, parents, stack, royalty totals (decimal strings). */
  modelExtras(modelId: Hex): Record<string, unknown> {
    const l = this.view().get(ModelLineageCodec, K.modelLineage(modelId)) ?? defaultLineage()
    return {
      derivativeRoyaltyBps: l.derivativeRoyaltyBps, allowDerivatives: l.allowDerivatives, parents: l.parents, stack: l.stack,
      royaltiesEarned: formatAmount(l.royaltiesEarned), royaltiesPaid: formatAmount(l.royaltiesPaid),
    }
  }

  /** The fields `datanet_get` gains: `curatorBps` and `curationEarned`. */
  datanetExtras(datanetId: Hex): Record<string, unknown> {
    const t = this.view().get(DatanetTermsCodec, K.datanetTerms(datanetId))
    return { curatorBps: t?.curatorBps ?? 0, curationEarned: formatAmount(t?.curationEarned ?? 0n) }
  }

  /** The fields `contribution_get` gains: `sourceModelId` (null unless synthetic), `synthBps`, `curationPaid`, `syntheticPaid`. */
  contributionExtras(contributionId: Hex): Record<string, unknown> {
    const x = this.view().get(ContributionExtraCodec, K.contributionExtra(contributionId))
    return {
      sourceModelId: x && x.sourceModelId !== '' ? x.sourceModelId : null, synthBps: x?.synthBps ?? 0,
      curationPaid: formatAmount(x?.curationPaid ?? 0n), syntheticPaid: formatAmount(x?.syntheticPaid ?? 0n),
    }
  }
}

import type { SignedTx, TxCall } from '../core/tx.js'
import { K } from './keys.js'
import { ModelCodec, IdRefCodec } from './entities.js'
import { buildStack, registerLineage } from './processLineage.js'
import { nextMeta, type ExecContext, type ReceiptRecord } from './txContext.js'
import { requireDatanet } from './processDatanets.js'

/** The model tx family (DESIGN §3): registerModel (its terms and lineage rules are in state/lineage.ts). */

/** `registerModel`: a new model (id = tx hash) over existing Datanets, with its royalty stack when it names parents. */
export function registerModel(ctx: ExecContext, stx: SignedTx, call: Extract<TxCall, { type: 'registerModel' }>): ReceiptRecord[] {
  const s = ctx.state
  call.datanets.forEach((d, i) => requireDatanet(s, d.datanetId, `body[2][${i}][0]`))
  if (call.parents !== undefined) registerLineage(s, stx.hash, call.parents, buildStack(s, ctx.params, call.parents))
  const meta = nextMeta(s, (m) => ({ ...m, models: m.models + 1 }))
  s.set(ModelCodec, K.model(stx.hash), {
    id: stx.hash, owner: stx.sender, name: call.name, baseModel: call.baseModel, datanets: call.datanets, minFee: call.minFee,
    receipts: 0, feesTotal: 0n, seq: meta.models,
  })
  s.set(IdRefCodec, K.modelBySeq(meta.models), { id: stx.hash })
  return []
}

import type { Hex } from '../core/tx.js'

/**
 * The flows that explain every unit of a receipt's fee (DESIGN §4.1, §6.1):
 * each amount with the rule that moved it, merged per (address, role, rule,
 * via), and the payouts they sum to.
 */

/** The step of DESIGN §4 / §4.1 that sent an amount where it went. */
export type FlowRule = 'split' | 'attributionWeight' | 'pool' | 'royalty' | 'curation' | 'synthetic' | 'rounding'
export const FLOW_RULES: readonly FlowRule[] = ['split', 'attributionWeight', 'pool', 'royalty', 'curation', 'synthetic', 'rounding']

export type FlowRole = 'contributor' | 'datanetPool' | 'modelOwner' | 'operator' | 'validators' | 'treasury' | 'royalty' | 'curator'

/**
 * One flow of a receipt's fee: `via` is the model, contribution or Datanet
 * whose rule moved it (null for the plain split).
 */
export interface Flow { address: string | null; role: FlowRole; amount: bigint; rule: FlowRule; via: Hex | null }

/**
 * Up to this many merged entries are found by a linear scan (the common
 * receipt has a dozen or two flows: no key string is built and hashed per
 * credit); beyond it a Map index takes over, so a receipt reaching many
 * entities stays O(flows).
 */
const SCAN_LIMIT = 24

/** Flows merged by (address, role, rule, via), in order of first appearance: bounded by the entities a receipt reaches. */
export class FlowList {
  readonly items: Flow[] = []
  private index: Map<string, number> | null = null

  add(address: string | null, role: FlowRole, amount: bigint, rule: FlowRule, via: Hex | null): void {
    if (amount === 0n) return
    const items = this.items
    if (this.index === null) {
      for (let i = 0; i < items.length; i++) {
        const f = items[i]
        if (f.address === address && f.role === role && f.rule === rule && f.via === via) {
          f.amount += amount
          return
        }
      }
      items.push({ address, role, amount, rule, via })
      if (items.length > SCAN_LIMIT) this.index = new Map(items.map((f, i) => [`${f.role}|${f.address}|${f.rule}|${f.via}`, i]))
      return
    }
    const key = `${role}|${address}|${rule}|${via}`
    const i = this.index.get(key)
    if (i !== undefined) {
      items[i].amount += amount
      return
    }
    this.index.set(key, items.length)
    items.push({ address, role, amount, rule, via })
  }
}

/** A receipt's payouts (DESIGN §6.1): its flows summed per (address, role), first appearance first. */
export function payoutsOfFlows(flows: Flow[]): { address: string | null; role: FlowRole; amount: bigint }[] {
  const out: { address: string | null; role: FlowRole; amount: bigint }[] = []
  let index: Map<string, number> | null = null
  next: for (const f of flows) {
    if (index === null) {
      for (let i = 0; i < out.length; i++) {
        if (out[i].address === f.address && out[i].role === f.role) {
          out[i].amount += f.amount
          continue next
        }
      }
      out.push({ address: f.address, role: f.role, amount: f.amount })
      if (out.length > SCAN_LIMIT) index = new Map(out.map((p, i) => [`${p.role}|${p.address}`, i]))
      continue
    }
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

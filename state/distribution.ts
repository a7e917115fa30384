import type { Address } from '../core/address.js'

/**
 * Roles in a block's fee distribution (DESIGN §4, §6.1). Besides the six
 * ledger roles, `datanetPool` (address = Datanet id) and `delegatorPool`
 * (address = validator) are credits into reward pools, paid out by `claim`.
 */
export type DistributionRole =
  | 'contributor' | 'datanetPool' | 'modelOwner' | 'operator' | 'validator' | 'delegatorPool' | 'treasury'
  /** DESIGN §4.1: lineage revenue of an ancestor's or a synthetic source's owner, and a Datanet owner's curation share */
  | 'royalty' | 'curator'

export interface DistributionEntry {
  address: string
  role: DistributionRole
  amount: bigint
}

export interface Distribution {
  height: number
  minted: bigint
  entries: DistributionEntry[]
}

/** Per (address, role) aggregation of a block's credits; a tx layer reverts with its body. */
export class CreditBook {
  // role → address → amount: the address strings come from state and keep
  // their cached hash, where a "role|address" key would be a new string per add.
  private readonly block = new Map<DistributionRole, Map<string, bigint>>()
  private tx: Map<DistributionRole, Map<string, bigint>> | null = null
  /** the block's validator pool: tx fees and the validators' share of receipt fees */
  private pool = 0n
  private txPool = 0n

  addToValidatorPool(amount: bigint): void {
    if (this.tx) this.txPool += amount
    else this.pool += amount
  }

  get validatorPool(): bigint {
    return this.pool
  }

  add(address: Address | string, role: DistributionRole, amount: bigint): void {
    if (amount === 0n) return
    addTo(this.tx ?? this.block, role, address, amount)
  }

  beginTx(): void {
    this.tx = new Map()
    this.txPool = 0n
  }

  commitTx(): void {
    if (!this.tx) return
    const tx = this.tx
    this.tx = null
    for (const [role, byAddress] of tx) for (const [address, v] of byAddress) addTo(this.block, role, address, v)
    this.pool += this.txPool
    this.txPool = 0n
  }

  rollbackTx(): void {
    this.tx = null
    this.txPool = 0n
  }

  /** Entries sorted by (role, address): the distribution's canonical order. */
  entries(): DistributionEntry[] {
    const keyed: [string, DistributionEntry][] = []
    for (const [role, byAddress] of this.block) for (const [address, amount] of byAddress) keyed.push([`${role}|${address}`, { address, role, amount }])
    return keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e)
  }

  total(): bigint {
    let s = 0n
    for (const byAddress of this.block.values()) for (const v of byAddress.values()) s += v
    return s
  }
}

function addTo(m: Map<DistributionRole, Map<string, bigint>>, role: DistributionRole, address: string, amount: bigint): void {
  let byAddress = m.get(role)
  if (byAddress === undefined) m.set(role, (byAddress = new Map()))
  byAddress.set(address, (byAddress.get(address) ?? 0n) + amount)
}

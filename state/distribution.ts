import type { Address } from '../core/address.js'

/**
 * Roles in a block's fee distribution (DESIGN §4, §6.1). Besides the six
 * ledger roles, `datanetPool` (address = Datanet id) and `delegatorPool`
 * (address = validator) are credits into reward pools, paid out by `claim`.
 */
export type DistributionRole =
  | 'contributor' | 'datanetPool' | 'modelOwner' | 'operator' | 'validator' | 'delegatorPool' | 'treasury'

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
  private readonly block = new Map<string, bigint>()
  private tx: Map<string, bigint> | null = null
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
    const m = this.tx ?? this.block
    const k = `${role}|${address}`
    m.set(k, (m.get(k) ?? 0n) + amount)
  }

  beginTx(): void {
    this.tx = new Map()
    this.txPool = 0n
  }

  commitTx(): void {
    if (!this.tx) return
    const tx = this.tx
    this.tx = null
    for (const [k, v] of tx) this.block.set(k, (this.block.get(k) ?? 0n) + v)
    this.pool += this.txPool
    this.txPool = 0n
  }

  rollbackTx(): void {
    this.tx = null
    this.txPool = 0n
  }

  /** Entries sorted by (role, address): the distribution's canonical order. */
  entries(): DistributionEntry[] {
    return [...this.block.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, amount]) => {
        const [role, address] = k.split('|') as [DistributionRole, string]
        return { address, role, amount }
      })
  }

  total(): bigint {
    let s = 0n
    for (const v of this.block.values()) s += v
    return s
  }
}

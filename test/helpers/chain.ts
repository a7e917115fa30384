import { KeyPair } from '../../core/keys.js'
import { signTx, signingDigest, TX_VERSION, type TxCall, type SignedTx } from '../../core/tx.js'
import { encode, type Encodable } from '../../core/codec.js'
import { sha256 } from '../../core/hash.js'
import { toHex } from '../../core/bytes.js'
import { UNITS_PER_OPEN } from '../../core/amount.js'
import type { Receipt } from '../../core/tx.js'
import { buildDevnetGenesis, devAccountKey, devValidatorKey, type DevnetGenesisOptions } from '../../genesis/devnet.js'
import type { Genesis } from '../../genesis/genesis.js'
import {
  MemoryStateStore, StateQueries, executeBlock, genesisState, type BlockInput, type BlockOutcome, type ChainConfig, type SlashEvidence,
} from '../../state/index.js'

/**
 * An in-memory chain for state tests: genesis, then blocks executed and
 * applied one by one, with per-key nonce tracking. No IO, no clock.
 */
export class TestChain {
  readonly store = new MemoryStateStore()
  readonly chain: ChainConfig
  readonly q: StateQueries
  readonly genesis: Genesis
  root: Uint8Array
  height = 0
  timeMs = 1_767_225_600_000
  readonly blocks: BlockInput[] = []
  private readonly nonces = new Map<string, number>()

  constructor(opts: Partial<DevnetGenesisOptions> = {}, genesis?: Genesis) {
    this.genesis = genesis ?? buildDevnetGenesis({ validators: 1, accounts: 10, ...opts })
    this.chain = { chainId: this.genesis.chainId, params: this.genesis.params }
    const g = genesisState(this.store, this.genesis)
    this.store.apply(g.writes)
    this.root = g.stateRoot
    this.q = new StateQueries(this.store, this.chain)
  }

  account(k: number): KeyPair {
    return devAccountKey(k)
  }

  validator(i: number): KeyPair {
    return devValidatorKey(i)
  }

  /** Sign `call` from `key` with the next nonce this harness has handed out. */
  tx(key: KeyPair, call: TxCall, opts: { fee?: bigint; nonce?: number; chainId?: string } = {}): SignedTx {
    const nonce = opts.nonce ?? this.nonces.get(key.address) ?? this.q.nonce(key.address)
    if (opts.nonce === undefined) this.nonces.set(key.address, nonce + 1)
    return signTx({ chainId: opts.chainId ?? this.chain.chainId, nonce, fee: opts.fee ?? this.chain.params.minTxFee, call }, key)
  }

  /** What a block of `height` says of its parent (`BlockInput.prev`); none here. */
  protected prevOf(_height: number): Pick<BlockInput, 'prev'> {
    return {}
  }

  /** Execute and apply one block. Signers default to the whole set of the previous height. */
  block(txs: SignedTx[], opts: { evidence?: SlashEvidence[]; signers?: string[] | null } = {}): BlockOutcome {
    const height = this.height + 1
    this.timeMs += 1000
    const prevSet = this.q.validatorSet(height - 1)
    const input: BlockInput = {
      height, timeMs: this.timeMs, proposer: this.q.validatorSet(height)![0].address, txs, evidence: opts.evidence ?? [],
      lastCommitSigners: height === 1 ? null : opts.signers !== undefined ? opts.signers : (prevSet ?? []).map((m) => m.address),
      ...this.prevOf(height),
    }
    const out = executeBlock(this.store, this.chain, this.root, input)
    this.store.apply(out.writes)
    this.root = out.stateRoot
    this.height = height
    this.blocks.push(input)
    return out
  }

  /** Forget the nonces handed out, so the next `tx` of each key reads its nonce from state. */
  resetNonces(): void {
    this.nonces.clear()
  }

  /** Every state entry as hex, to show that a refused block changed nothing. */
  snapshot(): Map<string, string> {
    return new Map([...this.store.entries()].map(([k, v]) => [k, toHex(v)]))
  }

  /** One tx in its own block; returns that tx's result. */
  run(key: KeyPair, call: TxCall, opts: { fee?: bigint } = {}) {
    const stx = this.tx(key, call, opts)
    const out = this.block([stx])
    return { ...out.results[0], outcome: out, stx }
  }

  /** Total supply as the invariant counts it (DESIGN §4): balances, stake, unbonding, bonds, pools. */
  computedSupply(): bigint {
    let sum = 0n
    for (const [k, v] of this.store.entries()) sum += supplyOfEntry(k, v)
    return sum
  }
}

import { fromBytes, AccountCodec, ValidatorCodec, UnbondingCodec, ContributionCodec, DatanetCodec } from '../../state/entities.js'

function supplyOfEntry(key: string, bytes: Uint8Array): bigint {
  const prefix = key.slice(0, key.indexOf('/') + 1)
  switch (prefix) {
    case 'acct/': return fromBytes(AccountCodec, bytes).balance
    case 'val/': { const v = fromBytes(ValidatorCodec, bytes); return v.selfStake + v.delegated + v.pool.balance }
    case 'unbond/': return fromBytes(UnbondingCodec, bytes).entries.reduce((s, e) => s + e.amount, 0n)
    case 'ctb/': return fromBytes(ContributionCodec, bytes).bond
    case 'dn/': return fromBytes(DatanetCodec, bytes).pool.balance
    default: return 0n
  }
}

/**
 * Sign an arbitrary unsigned-tx array (any body, any field values), bypassing
 * the encoder's static checks, so that tests can build txs the decoder must
 * refuse with a valid signature.
 */
export function signRaw(key: KeyPair, unsigned: Encodable[]): Uint8Array {
  const u = encode(unsigned)
  return encode([unsigned, key.publicKey, key.sign(signingDigest(u))])
}

/** `[1, chainId, nonce, fee, type, body]` with defaults, for signRaw. */
export function rawUnsigned(type: string, body: Encodable, opts: { chainId?: string; nonce?: number; fee?: string } = {}): Encodable[] {
  return [TX_VERSION, opts.chainId ?? 'attrchain-devnet', opts.nonce ?? 0, opts.fee ?? '1000000000000000', type, body]
}

/** A 32-byte hex id derived from a label (ids, data hashes, input/output hashes in tests). */
export function h32(label: string): string {
  return toHex(sha256(label))
}

/** One well-formed call of every tx type (ids need not exist; these are for codec tests). */
export function sampleCalls(): TxCall[] {
  const a = '0x' + '11'.repeat(20)
  return [
    { type: 'transfer', to: a, amount: 5n },
    { type: 'createValidator', amount: 10n ** 22n, moniker: 'v-0', commissionBps: 500 },
    { type: 'stake', amount: 1n },
    { type: 'unstake', amount: 2n },
    { type: 'delegate', validator: a, amount: 3n },
    { type: 'undelegate', validator: a, amount: 4n },
    { type: 'unjail' },
    { type: 'registerDatanet', name: 'medical-qa', metadataUri: 'ipfs://bafy', contributionBond: 0n },
    { type: 'contribute', datanetId: h32('dn'), dataHash: h32('data'), metadataUri: '' },
    { type: 'reviewContribution', contributionId: h32('c'), accept: true, weight: 7 },
    { type: 'reviewContribution', contributionId: h32('c'), accept: false, weight: 0 },
    { type: 'registerModel', name: 'm', baseModel: 'llama', datanets: [{ datanetId: h32('dn'), weight: 3 }, { datanetId: h32('dn2'), weight: 1 }], minFee: 100n },
    { type: 'approveOperator', operator: a, amount: 0n },
    {
      type: 'submitReceipts', receipts: [
        { modelId: h32('m'), payer: a, fee: 1_000_003n, inputHash: h32('in'), outputHash: h32('out'), attribution: [{ contributionId: h32('c1'), weight: 1 }, { contributionId: h32('c2'), weight: 2 }] },
        { modelId: h32('m'), payer: a, fee: 1n << 100n, inputHash: h32('in2'), outputHash: h32('out2'), attribution: [] },
      ],
    },
    { type: 'claim' },
    { type: 'contribute', datanetId: h32('dn'), dataHash: h32('synthetic'), metadataUri: 'ipfs://gen', sourceModelId: h32('m') },
    { type: 'registerModel', name: 'ft', baseModel: 'm', datanets: [{ datanetId: h32('dn'), weight: 1 }], minFee: 0n, parents: [h32('m'), h32('m2')] },
    {
      type: 'submitReceipts', receipts: [
        { modelId: h32('m'), payer: a, fee: 7n, inputHash: h32('in3'), outputHash: h32('out3'), attribution: [], traceId: h32('trace') },
      ],
    },
    { type: 'setModelTerms', modelId: h32('m'), derivativeRoyaltyBps: 1000, allowDerivatives: false },
    { type: 'setDatanetTerms', datanetId: h32('dn'), curatorBps: 500 },
    { type: 'setCheckpointKey', ethAddress: a },
    { type: 'signCheckpoint', height: 100, signature: `0x${'ab'.repeat(64)}1b` },
  ]
}

// ---------------------------------------------------------------- state test fixtures

export const OPEN = UNITS_PER_OPEN
export const FEE = 10n ** 15n

/**
 * A chain with the attribution economy set up, one tx per block:
 * owner (account 0) curates Datanet `dn` (bond 1 OPEN) where contributor
 * (account 1) has c1 accepted with weight 1, c2 accepted with weight 2, c3
 * rejected and c4 pending; other (account 4) curates `dn2` with an accepted
 * contribution c5; the owner's model `model` has provenance [[dn, 1]] and
 * minFee 1000; payer (account 3) allows operator (account 2) 10 OPEN.
 */
export function economy(opts: Partial<DevnetGenesisOptions> = {}) {
  const c = new TestChain(opts)
  const owner = c.account(0)
  const contributor = c.account(1)
  const operator = c.account(2)
  const payer = c.account(3)
  const other = c.account(4)
  const dn = c.run(owner, { type: 'registerDatanet', name: 'medical-qa', metadataUri: 'ipfs://dn', contributionBond: OPEN }).hash
  const contribute = (key: KeyPair, datanetId: string, label: string) =>
    c.run(key, { type: 'contribute', datanetId, dataHash: h32(label), metadataUri: `ipfs://${label}` }).hash
  const c1 = contribute(contributor, dn, 'c1')
  const c2 = contribute(contributor, dn, 'c2')
  const c3 = contribute(contributor, dn, 'c3')
  const c4 = contribute(contributor, dn, 'c4')
  c.run(owner, { type: 'reviewContribution', contributionId: c1, accept: true, weight: 1 })
  c.run(owner, { type: 'reviewContribution', contributionId: c2, accept: true, weight: 2 })
  c.run(owner, { type: 'reviewContribution', contributionId: c3, accept: false, weight: 0 })
  const dn2 = c.run(other, { type: 'registerDatanet', name: 'other', metadataUri: '', contributionBond: 0n }).hash
  const c5 = contribute(other, dn2, 'c5')
  c.run(other, { type: 'reviewContribution', contributionId: c5, accept: true, weight: 1 })
  const model = c.run(owner, { type: 'registerModel', name: 'qa-7b', baseModel: 'llama', datanets: [{ datanetId: dn, weight: 1 }], minFee: 1000n }).hash
  c.run(payer, { type: 'approveOperator', operator: operator.address, amount: 10n * OPEN })
  const receipt = (fee: bigint, attribution: Receipt['attribution'] = [], payer_ = payer.address, modelId = model): Receipt => ({
    modelId, payer: payer_, fee, inputHash: h32(`in/${fee}`), outputHash: h32(`out/${fee}`), attribution,
  })
  return { c, owner, contributor, operator, payer, other, dn, dn2, c1, c2, c3, c4, c5, model, receipt }
}

/**
 * Keys written by a block besides the bookkeeping every block does (meta,
 * validator sets, the sender's fee and nonce, the validators' and the
 * treasury's rewards and ledgers, the active validators' delegator pools):
 * what a failed tx body must not touch.
 */
export function bodyWrites(out: BlockOutcome, c: TestChain, sender: string): string[] {
  const validators = (c.q.validatorSet(out.distribution.height) ?? []).map((m) => m.address)
  const bookkeeping = new Set([sender, c.chain.params.treasury, ...validators])
  return [...out.writes.keys()].filter((k) => {
    if (k === 'meta' || k.startsWith('valset/') || k.startsWith('valstake/') || k.startsWith('missed/')) return false
    const [prefix, address] = k.split('/')
    if ((prefix === 'acct' || prefix === 'ledger') && bookkeeping.has(address)) return false
    // a validator's delegator pool is credited every block; its other fields are compared by the caller
    if (prefix === 'val' && validators.includes(address)) return false
    return true
  })
}


/** mulberry32: a small seeded PRNG for property tests (never Math.random). Returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** TestChain whose blocks carry the previous header's hash and root, as the node's do (state/checkpoint.ts records checkpoints from them). */
export class CheckpointChain extends TestChain {
  protected override prevOf(height: number): Pick<BlockInput, 'prev'> {
    return { prev: { blockHash: toHex(sha256(`block/${height - 1}`)), stateRoot: toHex(this.root) } }
  }

  /** Empty blocks up to `height`. */
  until(height: number): void {
    while (this.height < height) this.block([])
  }
}

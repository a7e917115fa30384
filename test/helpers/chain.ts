import { KeyPair } from '../../core/keys.js'
import { signTx, signingDigest, TX_VERSION, type TxCall, type SignedTx } from '../../core/tx.js'
import { encode, type Encodable } from '../../core/codec.js'
import { sha256 } from '../../core/hash.js'
import { toHex } from '../../core/bytes.js'
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

  /** Execute and apply one block. Signers default to the whole set of the previous height. */
  block(txs: SignedTx[], opts: { evidence?: SlashEvidence[]; signers?: string[] | null } = {}): BlockOutcome {
    const height = this.height + 1
    this.timeMs += 1000
    const prevSet = this.q.validatorSet(height - 1)
    const input: BlockInput = {
      height, timeMs: this.timeMs, proposer: this.q.validatorSet(height)![0].address, txs, evidence: opts.evidence ?? [],
      lastCommitSigners: height === 1 ? null : opts.signers !== undefined ? opts.signers : (prevSet ?? []).map((m) => m.address),
    }
    const out = executeBlock(this.store, this.chain, this.root, input)
    this.store.apply(out.writes)
    this.root = out.stateRoot
    this.height = height
    this.blocks.push(input)
    return out
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
  ]
}

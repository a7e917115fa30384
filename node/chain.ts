// Why this file passes 400 lines (issue 14): it is one class, ChainService
// (head, block building, validation by execution, commit through ChainDb,
// validator sets per height), whose methods share the head and the cache
// of validator sets; the few helpers at the bottom are its own.
import { BlockError, type BlockErrorCode } from '../core/errors.js'
import { NodeError } from './errors.js'
import { sha256 } from '../core/hash.js'
import { toHex, bytesEqual, fromHex } from '../core/bytes.js'
import { decodeSignedTx, receiptCount, signingDigestOfSigned, type SignedTx } from '../core/tx.js'
import type { TxVerifier } from './verifier.js'
import { MIN_OFFLOADED_RECEIPTS } from './verifier.js'
import type { Address } from '../core/address.js'
import type { Encodable } from '../core/codec.js'
import { genesisTimeMs, genesisHash, type Genesis } from '../genesis/genesis.js'
import {
  executeBlock, genesisState, maxEvidenceAge, StateQueries, blockHash, txRoot, txRootOfHashes, encodeBlock, decodeBlock, commitHash as blockCommitHash, ZERO_HASH,
  type Block, type BlockOutcome, type ChainConfig, type SlashEvidence, type ValidatorSetMember,
} from '../state/index.js'
import {
  ValidatorSet, commitFromEncodable, commitToEncodable, encodeCommit, verifyCommit, evidenceFromEncodable, evidenceToEncodable, verifyEvidence, encodeValidatorSet,
  decodeValidatorSet, type Commit, type Evidence, type ValidatorInfo,
} from '../consensus/index.js'
import { nodeMetaKeys, type ChainDb, type Head } from './db/index.js'
import type { Logger } from './logger.js'
import { FlowAggregator, decodeFlowRecord, genesisRecord, flowStats, type FlowQuery, type FlowRecord, type FlowStatsJson } from './flowStats.js'

/** A block executed against the head and ready to commit once consensus decides it. */
export interface PreparedBlock {
  block: Block
  bytes: Uint8Array
  hash: string
  txs: SignedTx[]
  outcome: BlockOutcome
}

/** A block decoded ahead of validation (ChainService.predecode). */
export interface PredecodedBlock {
  bytes: Uint8Array
  block: Block
  /** sha256 of each tx, in block order */
  txHashes: Uint8Array[]
  txs: Promise<SignedTx[]>
}

export interface ChainServiceModules {
  db: ChainDb
  logger: Logger
  /** txs verified at mempool admission, so that block execution does not verify them again (DESIGN §2) */
  verifiedTx?: (hash: string) => SignedTx | undefined
  /** worker threads for the signatures (and receipt ids) of block txs not seen before; inline without */
  verifier?: TxVerifier | null
}

/** A proposal's time may run this far ahead of the validating node's clock. */
export const MAX_CLOCK_DRIFT_MS = 10_000

/** The nodeMeta key of the consensus validator set of `height` (declared in node/db/buckets.ts). */
const vsetKey = nodeMetaKeys.validatorSet

/**
 * The chain as a node holds it: head, state, block building and validation
 * (execute, then compare), and commit through the one atomic batch of the
 * ChainDb. Consensus validator sets with their proposer priorities are kept
 * per height beside the blocks.
 */
export class ChainService {
  readonly config: ChainConfig
  readonly queries: StateQueries
  readonly genesisTimeMs: number
  readonly genesisHash: string
  private readonly sets = new Map<number, ValidatorSet>()
  private readonly log: Logger
  /** flow statistics (issue 16): one record per block, written in its batch */
  private flow!: FlowAggregator

  private constructor(readonly genesis: Genesis, private readonly modules: ChainServiceModules) {
    this.config = { chainId: genesis.chainId, params: genesis.params }
    this.queries = new StateQueries(modules.db.state, this.config)
    this.genesisTimeMs = genesisTimeMs(genesis)
    this.genesisHash = genesisHash(genesis)
    this.log = modules.logger
  }

  static async open(genesis: Genesis, modules: ChainServiceModules): Promise<ChainService> {
    const chain = new ChainService(genesis, modules)
    if (modules.db.head() === null) await chain.initGenesis()
    await chain.loadSets()
    await chain.loadFlow()
    return chain
  }

  /** The last flow record from storage and the ranking of contributor earnings from the ledger in state. */
  private async loadFlow(): Promise<void> {
    const h = this.head.height
    const ranking = FlowAggregator.rankingOf(this.modules.db.state)
    let last: FlowRecord
    if (h === 0) {
      last = genesisRecord(this.genesisTimeMs, ranking.concentration())
    } else {
      const [bytes] = await this.modules.db.getFlowStats([h])
      if (bytes === null) throw new NodeError('CHAIN_ERROR_NO_FLOW_STATS', `no flow statistics record at head ${h}; the data dir is damaged`, { height: h })
      last = decodeFlowRecord(bytes)
    }
    this.flow = new FlowAggregator(last, ranking)
  }

  /** The flow record of the last committed block (height 0: genesis, nothing flowed). */
  get lastFlow(): FlowRecord {
    return this.flow.last
  }

  /**
   * Flow records at `heights` (0 is the genesis record); a height above the
   * head throws. The genesis record is timed at block 1, not at
   * `genesisTime`: a chain may start long after its genesis time (a devnet's
   * is fixed), and rates over a window from genesis count from its first block.
   */
  async flowRecords(heights: number[]): Promise<FlowRecord[]> {
    const bytes = await this.modules.db.getFlowStats(heights)
    let firstBlockMs = this.genesisTimeMs
    if (heights.includes(0) && this.head.height >= 1) {
      const [first] = await this.modules.db.getFlowStats([1])
      if (first) firstBlockMs = decodeFlowRecord(first).timeMs
    }
    return heights.map((h, i) => {
      if (h === 0) return genesisRecord(firstBlockMs)
      const b = bytes[i]
      if (b === null) throw new NodeError('CHAIN_ERROR_NO_FLOW_STATS', `no flow statistics record at height ${h}`, { height: h })
      return decodeFlowRecord(b)
    })
  }

  /** The `limit` largest contributor earnings since genesis (the attribution ledger), largest first. */
  topContributors(limit: number): { address: string; earned: bigint }[] {
    return this.flow.ranking.top(limit).map((e) => ({ address: e.address, earned: e.amount }))
  }

  /** `stats_flow` (node/flowStats.ts flowStats): time series and window summary from B + 1 stored records. */
  statsFlow(q: FlowQuery): Promise<FlowStatsJson> {
    return flowStats(q, this.head.height, (heights) => this.flowRecords(heights))
  }

  get db(): ChainDb {
    return this.modules.db
  }

  get head(): Head {
    const h = this.modules.db.head()
    if (!h) throw new NodeError('CHAIN_ERROR_NO_HEAD', 'chain has no head')
    return h
  }

  private async initGenesis(): Promise<void> {
    const g = genesisState(this.modules.db.state, this.genesis)
    const first = ValidatorSet.create(this.genesis.validators.map((v) => ({ address: v.address, pubKey: v.pubKey, power: v.stake })))
    const second = first.copyIncrement(1)
    await this.modules.db.commitGenesis(g.writes, g.stateRoot, [[vsetKey(1), encodeValidatorSet(first)], [vsetKey(2), encodeValidatorSet(second)]], this.genesisTimeMs, g.tree)
    this.log.info('genesis applied', { chainId: this.genesis.chainId, validators: this.genesis.validators.length, stateRoot: toHex(g.stateRoot) })
  }

  private async loadSets(): Promise<void> {
    const h = this.head.height
    for (const height of [h, h + 1, h + 2]) {
      if (height < 1) continue
      const bytes = await this.modules.db.getMeta(vsetKey(height))
      if (bytes) this.sets.set(height, decodeValidatorSet(bytes))
    }
  }

  /** The consensus validator set (with proposer priorities) for `height`, known up to head + 2. */
  validatorSet(height: number): ValidatorSet {
    const set = this.sets.get(height)
    if (!set) throw new NodeError('CHAIN_ERROR_NO_VALIDATOR_SET', `no validator set known for height ${height} (head ${this.head.height})`)
    return set
  }

  /** The set for `height` if held in memory (heights near the head), without IO. */
  knownValidatorSet(height: number): ValidatorSet | undefined {
    return this.sets.get(height)
  }

  async validatorSetAt(height: number): Promise<ValidatorSet | null> {
    const cached = this.sets.get(height)
    if (cached) return cached
    const bytes = await this.modules.db.getMeta(vsetKey(height))
    return bytes ? decodeValidatorSet(bytes) : null
  }

  /**
   * Build the proposal for head + 1 from candidate txs. A tx that cannot be
   * included (its envelope fails against the state the earlier txs leave)
   * is dropped, so a stale mempool entry never costs the block.
   */
  buildBlock(args: { timeMs: number; proposer: Address; txs: SignedTx[]; lastCommit: Commit | null; evidence: Evidence[] }): PreparedBlock {
    let txs = args.txs
    for (;;) {
      try {
        return this.prepare({ ...args, txs })
      } catch (e) {
        if (!(e instanceof BlockError) || e.code !== 'BLOCK_ERROR_INVALID_TX') throw e
        const bad = e.meta.index as number
        this.log.debug('dropping tx from proposal', { hash: txs[bad].hash, reason: e.message })
        txs = txs.filter((_, i) => i !== bad)
      }
    }
  }

  private prepare(args: { timeMs: number; proposer: Address; txs: SignedTx[]; lastCommit: Commit | null; evidence: Evidence[] }): PreparedBlock {
    const head = this.head
    const height = head.height + 1
    const timeMs = Math.max(args.timeMs, head.timeMs + 1, this.genesisTimeMs)
    const lastCommit: Encodable | null = args.lastCommit ? commitToEncodable(args.lastCommit) : null
    // Evidence outside the window of this height (h + 1 … h + maxEvidenceAge) would make our own proposal invalid: one of
    // the current height (a double sign seen in an earlier round of it) waits for the next block, one that aged out while
    // pending is dropped; a (validator, height) already punished would change nothing.
    args = {
      ...args,
      evidence: args.evidence.filter((e) => e.voteA.height < height && e.voteA.height + maxEvidenceAge(this.config.params) >= height
        && !this.queries.doubleSignPunished(e.voteA.validator, e.voteA.height)),
    }
    const evidence = args.evidence.map((e) => evidenceToEncodable(e))
    const partial: Block = {
      header: {
        chainId: this.config.chainId, height, timeMs, prevHash: head.blockHash, txRoot: txRoot(args.txs.map((t) => t.bytes)),
        stateRoot: ZERO_HASH, validatorsHash: toHex(this.validatorSet(height).hash()), proposer: args.proposer,
        lastCommitHash: blockCommitHash(lastCommit),
      },
      txs: args.txs.map((t) => t.bytes),
      lastCommit,
      evidence,
    }
    const outcome = executeBlock(this.modules.db.state, this.config, fromHex(head.stateRoot), {
      height, timeMs, proposer: args.proposer, txs: args.txs, evidence: args.evidence.map(slashOf),
      lastCommitSigners: args.lastCommit ? args.lastCommit.signatures.map((s) => s.validator) : null,
      prev: { blockHash: head.blockHash, stateRoot: head.stateRoot },
    })
    const block: Block = { ...partial, header: { ...partial.header, stateRoot: toHex(outcome.stateRoot) } }
    const bytes = encodeBlock(block)
    return { block, bytes, hash: blockHash(block.header), txs: args.txs, outcome }
  }

  /**
   * Validate a block proposed or synced for head + 1: header fields, last
   * commit, evidence, signatures of txs not seen before; then execute and
   * compare the state root (DESIGN §5: validators execute before prevoting).
   */
  async validateBlock(bytes: Uint8Array, opts: { nowMs?: number; predecoded?: PredecodedBlock; committed?: boolean } = {}): Promise<PreparedBlock> {
    const { params } = this.config
    const pre = opts.predecoded?.bytes === bytes ? opts.predecoded : null
    const block = pre?.block ?? this.decodeBlock(bytes)
    const h = block.header
    const head = this.head
    const bad = (code: BlockErrorCode, msg: string): never => { throw new BlockError(code, msg, { height: h.height }) }
    if (h.chainId !== this.config.chainId) bad('BLOCK_ERROR_WRONG_CHAIN', `chain id ${h.chainId}`)
    if (h.height !== head.height + 1) bad('BLOCK_ERROR_BAD_HEIGHT', `height ${h.height}, expected ${head.height + 1}`)
    if (h.prevHash !== head.blockHash) bad('BLOCK_ERROR_BAD_PREV_HASH', `prevHash ${h.prevHash} is not the head ${head.blockHash}`)
    if (h.timeMs <= head.timeMs || h.timeMs < this.genesisTimeMs) bad('BLOCK_ERROR_BAD_TIME', `time ${h.timeMs} not after the head's ${head.timeMs}`)
    if (opts.nowMs !== undefined && h.timeMs > opts.nowMs + MAX_CLOCK_DRIFT_MS) bad('BLOCK_ERROR_BAD_TIME', `time ${h.timeMs} is too far in the future`)
    if (block.txs.length > params.maxBlockTxs) bad('BLOCK_ERROR_TOO_MANY_TXS', `${block.txs.length} txs exceed maxBlockTxs`)
    if (block.txs.reduce((s, t) => s + t.length, 0) > params.maxBlockBytes) bad('BLOCK_ERROR_TOO_LARGE', 'txs exceed maxBlockBytes')
    const txHashes = pre?.txHashes ?? block.txs.map((t) => sha256(t))
    if (h.txRoot !== txRootOfHashes(txHashes)) bad('BLOCK_ERROR_BAD_TX_ROOT', 'txRoot does not match the txs')
    if (h.lastCommitHash !== blockCommitHash(block.lastCommit)) bad('BLOCK_ERROR_BAD_COMMIT_HASH', 'lastCommitHash does not match lastCommit')
    const set = this.validatorSet(h.height)
    if (h.validatorsHash !== toHex(set.hash())) bad('BLOCK_ERROR_BAD_VALIDATORS_HASH', 'validatorsHash is not the set of this height')
    if (!set.has(h.proposer)) bad('BLOCK_ERROR_BAD_PROPOSER', `${h.proposer} is not a validator at this height`)
    const lastCommit = await this.checkLastCommit(block)
    const evidence = await this.checkEvidence(block)
    const txs = await (pre?.txs ?? this.decodeTxs(block.txs, txHashes, opts.committed === true))
    const receipts = txs.reduce((n, t) => n + receiptCount(t), 0)
    if (receipts > params.maxBlockReceipts) bad('BLOCK_ERROR_TOO_MANY_RECEIPTS', `${receipts} receipts exceed maxBlockReceipts ${params.maxBlockReceipts}`)
    const outcome = executeBlock(this.modules.db.state, this.config, fromHex(head.stateRoot), {
      height: h.height, timeMs: h.timeMs, proposer: h.proposer, txs, evidence: evidence.map(slashOf),
      lastCommitSigners: lastCommit ? lastCommit.signatures.map((s) => s.validator) : null,
      prev: { blockHash: head.blockHash, stateRoot: head.stateRoot },
    })
    if (!bytesEqual(outcome.stateRoot, fromHex(h.stateRoot))) bad('BLOCK_ERROR_BAD_STATE_ROOT', `state root ${toHex(outcome.stateRoot)} after execution, header says ${h.stateRoot}`)
    return { block, bytes, hash: blockHash(h), txs, outcome }
  }

  /** A block's bytes decoded, within the size a valid block can have (its txs plus room for header, commit and evidence). */
  decodeBlock(bytes: Uint8Array): Block {
    return decodeBlock(bytes, this.config.params.maxBlockBytes + 1024 * 1024)
  }

  /**
   * Decode a block and its txs ahead of validating it: nothing here depends
   * on the head, so block sync runs it for the next block while the previous
   * one is being written (and the workers verify its signatures meanwhile).
   * Null when the block does not even decode: validateBlock says why.
   * `committed`: the caller verifies the block's commit before validating it
   * (as block sync does), so its txs' bytes need no canonical check.
   */
  predecode(bytes: Uint8Array, opts: { committed?: boolean } = {}): PredecodedBlock | null {
    let block: Block
    try {
      block = this.decodeBlock(bytes)
    } catch {
      return null
    }
    if (block.txs.length > this.config.params.maxBlockTxs) return null
    const txHashes = block.txs.map((t) => sha256(t))
    let txs: Promise<SignedTx[]>
    try {
      txs = this.decodeTxs(block.txs, txHashes, opts.committed === true)
    } catch (e) {
      txs = Promise.reject(e)
    }
    txs.catch(() => {}) // reported when validateBlock awaits it; unused, it must not be an unhandled rejection
    return { bytes, block, txHashes, txs }
  }

  /**
   * The block's txs, decoded. Txs the mempool admitted come verified; the
   * others (a block synced, or proposed before its txs reached us) have
   * their signatures verified, and their receipt ids hashed, in the
   * verifier's worker threads when the node has them, all txs of the block
   * at once.
   */
  private async decodeTxs(raw: Uint8Array[], hashes: Uint8Array[], committed = false): Promise<SignedTx[]> {
    const { verifier } = this.modules
    const { params } = this.config
    const limits = { maxReceiptsPerTx: params.maxReceiptsPerTx, maxAttribution: params.maxAttribution }
    const offThread: Promise<void>[] = []
    const needIds: { stx: SignedTx; txHash: Uint8Array }[] = []
    const txs = raw.map((bytes, i) => {
      const hash = toHex(hashes[i])
      const known = this.modules.verifiedTx?.(hash)
      if (known) return known
      let stx: SignedTx
      try {
        stx = decodeSignedTx(bytes, limits, { verify: !verifier, committed, hash })
      } catch (e) {
        throw new BlockError('BLOCK_ERROR_INVALID_TX', `tx ${i}: ${(e as Error).message}`, { index: i })
      }
      if (verifier) {
        offThread.push(verifier.verify(stx.pubKey, signingDigestOfSigned(stx.bytes), stx.signature, 'consensus').then((ok) => {
          if (!ok) throw new BlockError('BLOCK_ERROR_INVALID_TX', `tx ${i}: signature does not verify for this pubkey and tx`, { index: i })
        }))
        if (stx.tx.call.type === 'submitReceipts') needIds.push({ stx, txHash: hashes[i] })
      }
      return stx
    })
    if (verifier?.receiptIds && needIds.reduce((n, t) => n + receiptCount(t.stx), 0) >= MIN_OFFLOADED_RECEIPTS) {
      offThread.push(verifier.receiptIds(needIds.map((t) => ({ txHash: t.txHash, count: receiptCount(t.stx) }))).then((ids) => {
        needIds.forEach((t, k) => { t.stx.receiptIds = ids[k] })
      }))
    }
    await Promise.all(offThread)
    return txs
  }

  private async checkLastCommit(block: Block): Promise<Commit | null> {
    const h = block.header
    if (h.height === 1) {
      if (block.lastCommit !== null) throw new BlockError('BLOCK_ERROR_BAD_COMMIT', 'block 1 has no last commit')
      return null
    }
    if (block.lastCommit === null) throw new BlockError('BLOCK_ERROR_BAD_COMMIT', `block ${h.height} must carry the commit of ${h.height - 1}`)
    const commit = commitFromEncodable(block.lastCommit)
    const set = await this.validatorSetAt(h.height - 1)
    if (!set) throw new BlockError('BLOCK_ERROR_BAD_COMMIT', `no validator set for height ${h.height - 1}`)
    verifyCommit(commit, set, this.config.chainId, { height: h.height - 1, blockHash: fromHex(h.prevHash) })
    return commit
  }

  private async checkEvidence(block: Block): Promise<Evidence[]> {
    const out: Evidence[] = []
    for (const raw of block.evidence) {
      const ev = evidenceFromEncodable(raw)
      const height = ev.voteA.height
      // the state's rule (state/slashing.ts maxEvidenceAge: within the unbonding period)
      if (height + maxEvidenceAge(this.config.params) < block.header.height || height >= block.header.height) {
        throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `evidence of height ${height} is outside the accepted window`)
      }
      const set = await this.validatorSetAt(height)
      if (!set) throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `no validator set for evidence height ${height}`)
      verifyEvidence(ev, set, this.config.chainId)
      out.push(ev)
    }
    return out
  }

  /** Commit a prepared block with the certificate that decided it: one atomic batch. */
  /** fsync what commits with `durable: false` wrote (ChainDb.makeDurable). */
  makeDurable(): Promise<void> {
    return this.modules.db.makeDurable()
  }

  /** Store a block committed by `commit`; `durable: false` as in ChainDb.commitBlock (block sync only). */
  async commitBlock(p: PreparedBlock, commit: Commit, opts: { durable?: boolean } = {}): Promise<void> {
    const height = p.block.header.height
    const next = this.validatorSet(height + 1).withChanges(setChanges(this.stateSetMembers(height + 1), p.outcome.nextValidatorSet.members))
    const flow = this.flow.prepare(height, p.block.header.timeMs, p.txs, p.outcome)
    try {
      await this.modules.db.commitBlock({
        block: p.block, blockBytes: p.bytes, hash: p.hash, commit: encodeCommit(commit), writes: p.outcome.writes,
        stateRoot: p.outcome.stateRoot, tree: p.outcome.tree, results: p.outcome.results, receipts: p.outcome.receipts, distribution: p.outcome.distribution,
        meta: [[vsetKey(height + 2), encodeValidatorSet(next)]], flowStats: flow.bytes,
      }, opts)
    } catch (e) {
      this.flow.discard(flow)
      throw e
    }
    this.flow.stored(flow)
    this.sets.set(height + 2, next)
    this.sets.delete(height - 1)
  }

  /** The state's member list for a height (before the block at `height - 2` is applied it is the stored one). */
  private stateSetMembers(height: number): ValidatorSetMember[] {
    const members = this.queries.validatorSet(height)
    if (!members) throw new NodeError('CHAIN_ERROR_NO_VALIDATOR_SET', `no state validator set for height ${height}`)
    return members
  }
}

function slashOf(e: Evidence): SlashEvidence {
  return { validator: e.voteA.validator, height: e.voteA.height }
}

/** The change set from one height's members to the next (power 0 removes), by address. */
export function setChanges(before: ValidatorSetMember[], after: ValidatorSetMember[]): ValidatorInfo[] {
  const prev = new Map(before.map((m) => [m.address, m]))
  const changes: ValidatorInfo[] = []
  for (const m of after) {
    if (prev.get(m.address)?.power !== m.power) changes.push({ address: m.address, pubKey: fromHex(m.pubKey, 'pubKey', 32), power: m.power })
    prev.delete(m.address)
  }
  for (const m of prev.values()) changes.push({ address: m.address, pubKey: fromHex(m.pubKey, 'pubKey', 32), power: 0n })
  return changes.sort((a, b) => (a.address < b.address ? -1 : 1))
}

import type { Address } from '../core/address.js'
import type { Commit, Evidence, PrivValidator, Proposal, SignatureVerifier, TimeoutOptions, ValidatorSet, Vote } from '../consensus/index.js'
import type { Logger } from './logger.js'
import type { WalRecord } from './consensusWal.js'

// What the consensus driver (driver.ts) needs from the node around it: the
// network, the chain, a clock, the WAL, and its options. driver.ts
// re-exports all of it.

/** What the driver needs from the network (p2p gossip; nothing for a lone validator). */
export interface ConsensusNetwork {
  /** `relay` numbers a re-broadcast of a message already sent */
  broadcastProposal(proposal: Proposal, blockBytes: Uint8Array, relay?: number): void
  broadcastVote(vote: Vote, relay?: number): void
  /** double-sign evidence, to every node (absent: evidence stays with the node that saw it) */
  broadcastEvidence?(evidence: Evidence, relay?: number): void
}

export interface DriverOptions {
  /**
   * target interval between heights (ms): after a commit the next height
   * starts blockTimeMs after the committed header's time, no sooner than
   * blockTimeMs/2 after this node first held +2/3 precommits (the part of
   * CometBFT's timeout_commit kept: late precommits) and no later than
   * blockTimeMs after the commit (Driver.nextHeightStart)
   */
  blockTimeMs: number
  /** propose blocks with no txs; when false a proposer waits for a tx (up to emptyBlockIntervalMs) */
  emptyBlocks: boolean
  emptyBlockIntervalMs: number
  timeouts: TimeoutOptions
  /** heights ahead of ours whose messages are buffered */
  maxBufferedHeights: number
  /**
   * While a height is undecided, our own proposal and votes of it are
   * published again this often: gossip drops messages published before the
   * mesh forms (or to a peer that was down), and Tendermint's liveness needs
   * every message of a correct validator to arrive eventually.
   */
  rebroadcastMs: number
  /** signature verification for the consensus core (the simulator memoises it) */
  verifier?: SignatureVerifier
  /**
   * Evidence of height h may go in blocks h + 1 … h + maxEvidenceAge
   * (state/slashing.ts); older pending evidence is dropped. Absent: kept
   * until included.
   */
  maxEvidenceAge?: number
}

/** A block as the driver handles it: built here or received, then validated, then committed. */
export interface DriverBlock {
  /** `0x` hash of the header: what proposals and votes name */
  readonly hash: string
  readonly bytes: Uint8Array
  /** txs in it (for logs) */
  readonly txCount: number
  /** the double-sign evidence it includes (dropped from what this node will propose) */
  readonly evidence: readonly Evidence[]
  /**
   * its header time (ms): the proposer's clock when it proposed, the same
   * for every validator — the anchor of the next height's start
   * (ConsensusDriver nextHeightStart); absent: this node's own height start
   */
  readonly timeMs?: number
}

/**
 * What the driver needs of the chain: in a node, the ChainService and the
 * mempool (node/consensusChain.ts); in the simulator, a toy chain. The
 * driver itself never touches storage or txs.
 */
export interface DriverChain<B extends DriverBlock = DriverBlock> {
  readonly chainId: string
  /** no block before this time (ms since the epoch) */
  readonly genesisTimeMs: number
  /** height of the last committed block (0: genesis) */
  headHeight(): number
  /** the commit stored for the head, null at genesis */
  headCommit(): Promise<Commit | null>
  /** the validator set of `height` (head + 1 and head + 2 are always known) */
  validatorSet(height: number): ValidatorSet
  /** the set of `height` if held without IO (heights near the head), else undefined */
  knownValidatorSet(height: number): ValidatorSet | undefined
  /**
   * True once the state has applied evidence of this one's (validator,
   * height) — by a block this node committed through block sync, say: the
   * driver drops it from its pool (absent: kept until included or too old)
   */
  evidenceSettled?(evidence: Evidence): boolean
  /** txs waiting to be proposed (with empty blocks off a proposer waits for one) */
  pendingTxs(): number
  /**
   * build the proposal for head + 1 (getValue() of the paper). `lateMs`:
   * how far into the round's propose timeout the validators already are
   * when this node proposes — in round 0 the time since the height's common
   * start (Driver.nextHeightStart), 0 in later rounds; a proposal that must
   * still be received, validated and executed in the rest should be smaller
   */
  propose(args: { height: number; round: number; timeMs: number; proposer: Address; lastCommit: Commit | null; evidence: Evidence[]; lateMs: number }): Promise<B> | B
  /** validate a block proposed for head + 1 (execute and compare); throws when invalid */
  validate(bytes: Uint8Array, nowMs: number): Promise<B>
  /** commit a decided block with its certificate, durably */
  commit(block: B, commit: Commit): Promise<void>
}

/** Timers and the wall clock: real ones in a node, the virtual clock in the simulator. */
export interface DriverClock {
  /** wall clock in ms; the driver is the only place it is read (DESIGN §1) */
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The consensus WAL (node/consensusWal.ts on disk; in memory in the simulator). */
export interface DriverWal {
  read(height: number): WalRecord[]
  append(r: WalRecord): void
  /** make everything appended durable (before a signed message leaves) */
  sync(): void
  /** a new height: forget the records of the last one */
  reset(): void
}

export const realClock: DriverClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
}

export interface DriverModules<B extends DriverBlock = DriverBlock> {
  chain: DriverChain<B>
  privValidator: PrivValidator | null
  network: ConsensusNetwork | null
  logger: Logger
  /** called after each block is durably committed */
  onCommit(p: B, commit: Commit): void
  clock: DriverClock
  /** consensus can no longer move on (a decided block could not be committed): the node reports it loudly */
  onHalt?(height: number, reason: string): void
  /**
   * A proposal or vote waited `ms` between its arrival here and its
   * processing (the driver handles inputs one at a time; a block being
   * validated or committed makes the next message wait).
   */
  onMessageDelay?(kind: 'proposal' | 'vote', ms: number): void
  /** the consensus WAL of a validator (null for a full node: it signs nothing) */
  wal: DriverWal | null
}

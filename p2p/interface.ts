import type { SignedTx } from '../core/tx.js'
import type { Evidence, Proposal, Vote, ValidatorSet } from '../consensus/index.js'
import type { Logger } from '../core/logger.js'
import type { GossipRejectReason } from './validation.js'

/** One block as served by block sync: its canonical bytes and the encoded commit that finalized it. */
export interface SyncBlock {
  height: number
  bytes: Uint8Array
  /** `null` while the commit is only known through the next block's lastCommit (the head) */
  commit: Uint8Array | null
}

/**
 * What the node gives the network. The `on*` callbacks receive only
 * messages the topic validator accepted; they must not throw (an exception
 * is logged and dropped) and should return quickly.
 */
export interface P2PHandlers {
  /** txs whose signatures and static format have been verified (pass them to `Mempool.addDecoded`) */
  onTxs(txs: SignedTx[], from: string): void
  /**
   * Why the node is too busy for tx gossip now (a short reason, e.g. the
   * MEMPOOL_ERROR_FULL limit), else null. A tx message arriving then waits
   * for it to recover (P2POptions txGossipMaxWaitMs, txGossipMaxWaitingBytes)
   * and past those bounds is ignored unread (not forwarded, the peer not
   * penalised), and `txGossipIgnored` is told why.
   */
  txGossipBusy?(): string | null
  /** a tx message was ignored unread because the node stayed busy (`reason`, from txGossipBusy) */
  txGossipIgnored?(reason: string): void
  /** a proposal with a valid proposer signature and block bytes whose header hashes to its blockHash */
  onProposal(proposal: Proposal, blockBytes: Uint8Array, from: string): void
  /**
   * Verify the signatures of gossiped txs off the main thread (decoded, not
   * yet verified); true per tx when valid. Without it the gossip validator
   * verifies them inline. A tx the node already holds may be answered true
   * without verifying again.
   */
  verifyTxSignatures?(txs: SignedTx[]): Promise<boolean[]>
  /**
   * Serves `/pooledtxs/1` (gap repair, p2p/pooledTxs.ts): the bytes of the
   * txs this node holds of `sender` at nonces `fromNonce`, `fromNonce + 1`,
   * …, stopping at the first it lacks, at most `count` and `maxBytes` in
   * total. Absent: such requests get an empty answer.
   */
  pooledTxs?(sender: string, fromNonce: number, count: number, maxBytes: number): Uint8Array[]
  /** the bytes of a tx this node holds (its mempool), by `0x` hash: compact blocks are filled in from it */
  knownTx?(hash: string): Uint8Array | undefined
  /** a vote with a valid signature of a known validator */
  onVote(vote: Vote, from: string): void
  /**
   * Double-sign evidence whose two votes verify against the validator set
   * of their height and conflict (consensus verifyEvidence). Absent: the
   * node takes no evidence from the network (the topic's messages are ignored).
   */
  onEvidence?(evidence: Evidence, from: string): void
  /**
   * The validator set that voted at `height`, to check gossiped evidence
   * against; `null` when the node cannot tell or no block it would build
   * may include evidence of that height any more (outside the evidence
   * window, state/slashing.ts maxEvidenceAge): the message is then ignored.
   */
  evidenceValidatorSet?(height: number): Promise<ValidatorSet | null>
  /**
   * True when this node already holds this evidence or has already punished
   * its (validator, height): the message is ignored before any signature
   * is checked, so that relays of known evidence cost nothing.
   */
  knownEvidence?(evidence: Evidence): boolean
  /** our committed height and the lowest block height we serve (absent: 1), sent in the status handshake */
  getStatus(): { height: number; lowestHeight?: number }
  /**
   * Answer a `/snapshot/1` request (p2p/snapshot.ts): the encoded list, a
   * manifest or a chunk; an empty frame when not held. Absent: no snapshots.
   */
  serveSnapshot?(req: import('./snapshot.js').SnapshotRequest): Promise<Uint8Array>
  /** committed blocks in [from, to] in height order, possibly fewer (ours end at our height) */
  getBlocks(from: number, to: number): Promise<SyncBlock[]>
  /**
   * The Ed25519 public key of `address` in the validator set that votes at
   * `height`, or `null` when the node cannot tell (unknown validator, or a
   * height too far from its own); such messages are ignored, not rejected.
   */
  validatorPubKey(height: number, address: string): Uint8Array | null
}

export interface P2PModules {
  logger: Logger
  handlers: P2PHandlers
}

export type GossipKind = 'txs' | 'proposals' | 'votes' | 'evidence'

export const GOSSIP_KINDS: readonly GossipKind[] = ['txs', 'proposals', 'votes', 'evidence']

/** Outcome of a topic validator, as gossipsub's TopicValidatorResult. */
export type Verdict = 'accept' | 'ignore' | 'reject'

export interface GossipCounters {
  accepted: number
  ignored: number
  rejected: number
  /** messages this node published */
  published: number
  /** `rejected` by reason (a closed set: GOSSIP_REJECT_REASONS) */
  rejectedBy: Record<GossipRejectReason, number>
}

export type GossipStats = Record<GossipKind, GossipCounters>

/** A connected peer that passed the status handshake, with the height it last reported. */
export interface PeerInfo {
  id: string
  height: number
  /** lowest block height it serves over block sync (status handshake) */
  lowestHeight: number
}

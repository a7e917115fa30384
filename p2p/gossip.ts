import { TopicValidatorResult, type GossipSub, type GossipsubMessage, type Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { toHex } from '../core/bytes.js'
import type { Logger } from '../core/logger.js'
import type { Evidence, Proposal, Vote } from '../consensus/index.js'
import { GOSSIP_KINDS, type GossipKind, type GossipStats, type P2PHandlers, type Verdict } from './interface.js'
import type { P2POptions } from './options.js'
import type { CompactBlock } from './compactBlock.js'
import type { ReqResp } from './reqresp.js'
import { encodeEvidenceMessage, encodeProposalMessage, encodeTxBatch, encodeVoteMessage, INLINE_BLOCK_BYTES, INLINE_COMPACT_BYTES, topicName } from './topics.js'
import { TxBatcher } from './txBatcher.js'
import { GOSSIP_REJECT_REASONS, validateEvidence, validateGossip, validateProposalBlock, type GossipMessage, type GossipRejectReason, type Settled, type ValidatorContext } from './validation.js'

/** How often a tx message waiting for a busy node looks again (ms). */
const TX_GOSSIP_POLL_MS = 20

const VERDICT: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}

export interface GossipModules {
  logger: Logger
  handlers: P2PHandlers
  /** fetches the block of a proposal that came without it, and keeps large blocks to serve */
  reqresp: ReqResp
  /** whether a peer passed the status handshake (waits for one in progress); others' messages are ignored */
  peerVerified(peer: PeerId): Promise<boolean>
  /** the running gossipsub service, null before start and after stop */
  pubsub(): GossipSub | null
}

/**
 * The gossip topics (DESIGN §6, plus evidence): publishing (txs batched,
 * proposals with their block inline up to INLINE_BLOCK_BYTES, votes,
 * double-sign evidence), one validator per topic (p2p/validation.ts) with the counters behind the gossip metrics, and
 * delivery of accepted messages to the node's handlers.
 */
export class Gossip {
  private readonly log: Logger
  private readonly handlers: P2PHandlers
  /** decoded payloads of accepted messages, from the validator to the delivery event (same Message object) */
  private readonly accepted = new WeakMap<Message, GossipMessage>()
  private readonly counters: GossipStats
  private readonly validatorCtx: ValidatorContext
  private readonly txBatcher: TxBatcher
  /** relay counter of re-broadcast tx batches; starts at the clock so a restarted node's bytes differ from before */
  private txRelaySeq = Date.now()

  constructor(
    private readonly opts: P2POptions,
    private readonly modules: GossipModules,
  ) {
    this.log = modules.logger
    this.handlers = modules.handlers
    const byReason = () => Object.fromEntries(Object.keys(GOSSIP_REJECT_REASONS).map((r) => [r, 0])) as Record<GossipRejectReason, number>
    this.counters = Object.fromEntries(GOSSIP_KINDS.map((k) => [k, { accepted: 0, ignored: 0, rejected: 0, published: 0, rejectedBy: byReason() }])) as GossipStats
    this.validatorCtx = {
      chainId: this.opts.chainId,
      limits: this.opts.maxMessageBytes,
      txLimits: this.opts.txLimits,
      validatorPubKey: (height, address) => this.handlers.validatorPubKey(height, address),
      deferTxSignatures: this.handlers.verifyTxSignatures !== undefined,
    }
    this.txBatcher = new TxBatcher(
      { max: this.opts.txBatchMax, delayMs: this.opts.txBatchDelayMs, maxBytes: this.opts.maxMessageBytes.txs },
      (batch) => this.publish('txs', batch),
    )
  }

  /** Drops the txs queued for the next batch (on stop); returns how many. */
  clearQueue(): number {
    return this.txBatcher.clear()
  }

  stats(): GossipStats {
    return Object.fromEntries(GOSSIP_KINDS.map((k) => [k, { ...this.counters[k], rejectedBy: { ...this.counters[k].rejectedBy } }])) as GossipStats
  }

  /** `relay` (a counter) marks a re-broadcast of a message already published, so gossip does not drop it as seen. */
  broadcastProposal(proposal: Proposal, blockBytes: Uint8Array, relay?: number): void {
    if (blockBytes.length <= INLINE_BLOCK_BYTES) return this.publish('proposals', encodeProposalMessage(proposal, blockBytes, relay))
    const hash = toHex(proposal.blockHash)
    this.modules.reqresp.rememberBlock(hash, blockBytes)
    const { compact } = this.modules.reqresp.partsOf(hash, blockBytes)
    this.publish('proposals', encodeProposalMessage(proposal, compact.length <= INLINE_COMPACT_BYTES ? { compact } : null, relay))
  }

  broadcastVote(vote: Vote, relay?: number): void {
    this.publish('votes', encodeVoteMessage(vote, relay))
  }

  /** Double-sign evidence to every node, so that whichever validator proposes next can include it. */
  broadcastEvidence(evidence: Evidence, relay?: number): void {
    this.publish('evidence', encodeEvidenceMessage(evidence, relay))
  }

  /**
   * Queues a mempool-admitted tx for the next batch (sent within
   * txBatchDelayMs); false when it was not queued: no peer subscribes to
   * the tx topic (a lone validator, or peers whose subscriptions have not
   * arrived yet), so there is nothing to encode or send (node/txRelay.ts
   * publishes pending txs again once a peer subscribes; encoding the
   * batches for nobody was 1.5 % of a lone validator's main thread under
   * the overload bench), or the tx alone exceeds a message (logged).
   */
  publishTx(txBytes: Uint8Array): boolean {
    const pubsub = this.modules.pubsub()
    if (pubsub === null || pubsub.getSubscribers(topicName(this.opts.chainId, 'txs')).length === 0) return false
    if (this.txBatcher.add(txBytes)) return true
    this.log.warn('tx too large to gossip', { bytes: txBytes.length, max: this.opts.maxMessageBytes.txs })
    return false
  }

  /**
   * Re-broadcast txs already published (node/txRelay.ts), in batches of
   * txBatchMax with a relay counter so that gossipsub (which drops bytes it
   * saw in the last two minutes) sends them again. Returns how many were
   * sent (the host sends none without a peer on the tx topic).
   */
  relayTxs(txs: Uint8Array[]): number {
    if (txs.length === 0) return 0
    let batch: Uint8Array[] = []
    let bytes = 0
    let sent = 0
    const flush = (): void => {
      if (batch.length === 0) return
      this.publish('txs', encodeTxBatch(batch, this.txRelaySeq++))
      sent += batch.length
      batch = []
      bytes = 0
    }
    for (const tx of txs) {
      // 16 bytes: msgpack headers of the item, the array and the counter
      if (tx.length + 16 > this.opts.maxMessageBytes.txs) continue
      if (bytes + tx.length + 16 > this.opts.maxMessageBytes.txs || batch.length >= this.opts.txBatchMax) flush()
      batch.push(tx)
      bytes += tx.length + 5
    }
    flush()
    return sent
  }

  private publish(kind: GossipKind, data: Uint8Array): void {
    const pubsub = this.modules.pubsub()
    if (pubsub === null) {
      this.log.debug('not started; gossip dropped', { topic: kind })
      return
    }
    if (data.length > this.opts.maxMessageBytes[kind]) {
      this.log.warn('gossip message over the size limit not sent', { topic: kind, bytes: data.length, max: this.opts.maxMessageBytes[kind] })
      return
    }
    pubsub.publish(topicName(this.opts.chainId, kind), data).then(
      (res) => {
        this.counters[kind].published++
        this.log.debug('published', { topic: kind, bytes: data.length, recipients: res.recipients.length })
      },
      (e: unknown) => {
        const reason = e instanceof Error ? e.message : String(e)
        // No subscribed peer yet (mesh still forming, or alone): the caller re-broadcasts later.
        if (reason.includes('NoPeersSubscribedToTopic')) this.log.debug('no peers for topic yet', { topic: kind })
        else this.log.warn('publish failed', { topic: kind, error: reason })
      },
    )
  }

  /**
   * Tx messages are validated concurrently (their signatures in the worker
   * threads) but answered in the order they arrived, so that gossipsub
   * delivers them in that order: a sender's txs published in two messages
   * otherwise reached peers out of nonce order whenever the second verified
   * first, and the peers refused the later nonces as queued behind a gap
   * (MEMPOOL_ERROR_FULL `sender_queued`, up to 5,000 per node in a 20 s
   * flood), leaving them to their own node's turn to propose.
   */
  private txsAnswered: Promise<unknown> = Promise.resolve()

  async validate(kind: GossipKind, peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    if (kind !== 'txs') return this.validateNow(kind, peer, msg)
    const before = this.txsAnswered
    const result = this.validateNow(kind, peer, msg)
    this.txsAnswered = result.catch(() => undefined)
    await before
    return result
  }

  private async validateNow(kind: GossipKind, peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    if (kind === 'txs' && !(await this.txCapacity(msg.data.length))) {
      this.counters.txs.ignored++
      return TopicValidatorResult.Ignore
    }
    // A peer that has not passed the status handshake may be on another genesis under the same chain id.
    if (!(await this.modules.peerVerified(peer))) {
      this.counters[kind].ignored++
      return TopicValidatorResult.Ignore
    }
    let result: Settled
    try {
      const first = validateGossip(this.validatorCtx, kind, msg.data)
      result = first.verdict === 'fetch' ? await this.completeProposal(peer, first.proposal, first.compact) : first.verdict === 'lookup' ? await this.completeEvidence(first.evidence) : first
      if (result.verdict === 'accept' && result.message.kind === 'txs' && this.validatorCtx.deferTxSignatures) {
        const verdicts = await this.handlers.verifyTxSignatures!(result.message.txs)
        if (verdicts.some((ok) => !ok)) result = { verdict: 'reject', reason: 'bad_signature', detail: 'tx' }
      }
    } catch (e) {
      // A throwing hook is our bug, not the peer's fault: do not penalise it.
      this.log.error('gossip validator failed', { topic: kind, error: e as Error })
      this.counters[kind].ignored++
      return TopicValidatorResult.Ignore
    }
    if (result.verdict === 'accept') {
      this.counters[kind].accepted++
      this.accepted.set(msg, result.message)
    } else if (result.verdict === 'ignore') {
      this.counters[kind].ignored++
    } else {
      this.counters[kind].rejected++
      this.counters[kind].rejectedBy[result.reason]++
      this.log.debug('gossip rejected', { topic: kind, peer: peer.toString(), reason: result.reason, detail: result.detail })
    }
    return VERDICT[result.verdict]
  }

  /** bytes of tx messages waiting in txCapacity */
  private txWaitingBytes = 0

  /**
   * Backpressure on tx gossip (issue 10): a message that arrives while the
   * node is busy waits, in arrival order, until it is not (polled every
   * TX_GOSSIP_POLL_MS), for txGossipMaxWaitMs at most and while the waiting
   * messages stay within txGossipMaxWaitingBytes; past either bound it is
   * ignored unread (not forwarded, nobody penalised) and the sender's relay
   * brings its txs again later. Ignoring at once, as this did before,
   * turned every short stall (a block's execution holds the event loop for
   * 100–300 ms under the 4-validator flood) into lost txs: the senders'
   * later nonces then sat behind a gap on the peers (refused
   * `sender_queued`, 900–4,600 per node in a 20 s flood, most runs) until
   * their own node's turn to propose or the 10 s relay. Waiting is what Lodestar's
   * network processor does with gossip work: bounded queues, dropped only
   * when full. Returns whether to go on reading the message.
   */
  private async txCapacity(bytes: number): Promise<boolean> {
    const busy = (): string | null => this.handlers.txGossipBusy?.() ?? null
    let reason = busy()
    if (reason === null) return true
    if (this.txWaitingBytes + bytes <= this.opts.txGossipMaxWaitingBytes) {
      this.txWaitingBytes += bytes
      try {
        const deadline = performance.now() + this.opts.txGossipMaxWaitMs
        while (reason !== null && performance.now() < deadline) {
          await new Promise((r) => setTimeout(r, TX_GOSSIP_POLL_MS))
          reason = busy()
        }
      } finally {
        this.txWaitingBytes -= bytes
      }
      if (reason === null) return true
    }
    this.handlers.txGossipIgnored?.(reason)
    return false
  }

  deliver(detail: GossipsubMessage): void {
    const message = this.accepted.get(detail.msg)
    if (message === undefined) return
    this.accepted.delete(detail.msg)
    const from = detail.propagationSource.toString()
    try {
      if (message.kind === 'txs') this.handlers.onTxs(message.txs, from)
      else if (message.kind === 'proposals') this.handlers.onProposal(message.proposal, message.blockBytes, from)
      else if (message.kind === 'evidence') this.handlers.onEvidence?.(message.evidence, from)
      else this.handlers.onVote(message.vote, from)
    } catch (e) {
      this.log.error('gossip handler threw', { topic: message.kind, error: e as Error })
    }
  }

  /** Well-formed evidence: known or unwanted ones are ignored unverified, the rest checked against the set of their height. */
  private async completeEvidence(evidence: Evidence): Promise<Settled> {
    const h = this.handlers
    if (!h.onEvidence || !h.evidenceValidatorSet) return { verdict: 'ignore', reason: 'evidence_out_of_window' }
    if (h.knownEvidence?.(evidence)) return { verdict: 'ignore', reason: 'known_evidence' }
    return validateEvidence(this.validatorCtx, evidence, await h.evidenceValidatorSet(evidence.voteA.height))
  }

  /** A validly signed proposal that came without its block (with its compact body, or not even that): the block, filled in from the mempool and pulled from the peer that forwarded it. */
  private async completeProposal(peer: PeerId, proposal: Proposal, compact?: CompactBlock): Promise<Settled> {
    const bytes = await this.modules.reqresp.blockFor(peer, proposal.blockHash, compact)
    // Not provable misbehaviour: the forwarder may have evicted it, or the link failed.
    if (bytes === null) return { verdict: 'ignore', reason: 'block_unavailable' }
    const result = validateProposalBlock(this.validatorCtx, proposal, bytes)
    if (result.verdict === 'accept') this.modules.reqresp.rememberBlock(toHex(proposal.blockHash), bytes)
    return result
  }
}

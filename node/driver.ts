// Why this file passes 400 lines (issue 14): it is one job, the consensus
// driver, a single class whose state (the queue that serializes inputs,
// timers, buffered future-height messages, WAL replay, own-message
// rebroadcast, pause for block sync) is shared by every method; cutting it
// would spread one state machine over files. What it needs from the node
// around it (network, chain, clock, WAL, options) is in driverTypes.ts.
import { toHex } from '../core/bytes.js'
import { NodeError } from './errors.js'
import {
  initConsensus, step, addPrecommit, type ConsensusState, type ConsensusInput, type ConsensusOutput, type Commit,
  type Evidence, type Proposal, type Vote,
} from '../consensus/index.js'
import type { Logger } from './logger.js'
import type { WalRecord } from './consensusWal.js'
import type { DriverBlock, DriverClock, DriverModules, DriverOptions } from './driverTypes.js'

export {
  realClock, type ConsensusNetwork, type DriverBlock, type DriverChain, type DriverClock, type DriverModules, type DriverOptions, type DriverWal,
} from './driverTypes.js'

const MAX_BUFFERED_MESSAGES = 10_000
/**
 * Double-sign evidence held for inclusion, at most this many (validator,
 * height) pairs. Only a validator that really signed twice produces valid
 * evidence, one pair per height it did; this bounds the pool whatever the
 * window (Driver.addEvidence).
 */
const MAX_PENDING_EVIDENCE = 1_000
/** Evidence one proposal carries at most, oldest first (≈ 400 bytes each; the rest wait for the next block). */
const MAX_EVIDENCE_PER_BLOCK = 100
/** Inputs held while block sync has consensus paused (replayed if sync did not move the head). */
const MAX_PAUSED_INPUTS = 10_000

/**
 * Wires the pure consensus core (consensus/core.ts) to timers, the mempool
 * (proposal building), the chain (validation = execute and compare, commit
 * = one atomic batch), the PrivValidator (WAL synced before a vote leaves)
 * and the network. Inputs are processed strictly one at a time.
 */
export class ConsensusDriver<B extends DriverBlock = DriverBlock> {
  private state: ConsensusState | null = null
  private queue: Promise<void> = Promise.resolve()
  private readonly timers = new Set<unknown>()
  /** block bytes by hash, from our own proposals and proposals received */
  private readonly blocks = new Map<string, { height: number; bytes: Uint8Array }>()
  /**
   * Blocks (hex hash) whose bytes the consensus WAL already holds for the
   * current height: a block is logged with its bytes once, with the first
   * input that names it (a proposer's own `proposalValue`, then its signed
   * `proposal` of the same block, and a valid value proposed again in a
   * later round, name it without them; replay finds the bytes in the
   * earlier record). Cleared with the WAL at each height.
   */
  private readonly walBlocks = new Set<string>()
  private readonly prepared = new Map<string, B>()
  /**
   * Blocks whose validation consensus requested before their bytes were
   * here (hash → height): +2/3 precommits can arrive before the proposal
   * whose block is still being pulled, and the core asks only once, so the
   * validation runs when the block arrives (onProposal).
   */
  private readonly awaitingBlock = new Map<string, number>()
  private readonly future = new Map<number, ConsensusInput[]>()
  /** evidence to include in our proposals, by `validator/height`, with when it was last published */
  private readonly pendingEvidence = new Map<string, { evidence: Evidence; sentAt: number }>()
  private lastCommit: Commit | null = null
  private stopped = false
  private paused = false
  /** inputs that arrived while paused, in arrival order */
  private pausedInputs: ConsensusInput[] = []
  private halt: { height: number; reason: string } | null = null
  /** replaying the WAL after a restart: nothing is logged again or sent to the network */
  private replaying = false
  /** what we signed at the current height, for re-broadcast */
  private own: { proposal: { proposal: Proposal; bytes: Uint8Array } | null; votes: Vote[] } = { proposal: null, votes: [] }
  private rebroadcastTimer: unknown = null
  private relays = 0
  private heightStartedAt = 0
  /** when this node first held +2/3 precommits for one block of the current height (clock ms); null before */
  private precommitQuorumAt: number | null = null
  /** the common start of the next height (clock ms), set at each decision (nextHeightStart) */
  private nextHeightDue: { height: number; at: number } | null = null
  private readonly log: Logger

  private readonly clock: DriverClock

  constructor(private readonly opts: DriverOptions, private readonly modules: DriverModules<B>) {
    this.log = modules.logger
    this.clock = modules.clock
  }

  get height(): number {
    return this.state?.height ?? this.modules.chain.headHeight() + 1
  }

  /** The core's state of the current height (read-only use: tests and the simulator's invariant checks). */
  get consensusState(): ConsensusState | null {
    return this.state
  }

  /** Resolves once every input queued so far has been processed. */
  settled(): Promise<void> {
    return this.queue
  }

  get round(): number {
    return this.state?.round ?? 0
  }

  /** Set once consensus cannot move on (a decided block failed to commit): the height and why. */
  get halted(): { height: number; reason: string } | null {
    return this.halt
  }

  /** The commit this node holds for the last height it committed: every precommit for it received so far. */
  get latestCommit(): Commit | null {
    return this.lastCommit
  }

  async start(): Promise<void> {
    const headHeight = this.modules.chain.headHeight()
    if (headHeight > 0) {
      this.lastCommit = await this.modules.chain.headCommit()
      if (!this.lastCommit) throw new NodeError('DRIVER_ERROR_NO_COMMIT', `no commit stored for head ${headHeight}`)
    }
    const begin = (): void => this.enqueue(async () => {
      const height = headHeight + 1
      const records = this.modules.wal?.read(height) ?? []
      await this.startHeight(height, records.length > 0)
      await this.replay(records)
    })
    // No block before genesis time (BFT time): consensus starts once the clock reaches it.
    const wait = headHeight === 0 ? this.modules.chain.genesisTimeMs - this.clock.now() : 0
    if (wait > 0) {
      this.log.info('waiting for genesis time', { genesisTimeMs: this.modules.chain.genesisTimeMs, inMs: wait })
      this.setTimer(wait, begin)
    } else {
      begin()
    }
    this.scheduleRebroadcast()
  }

  private scheduleRebroadcast(): void {
    this.rebroadcastTimer = this.clock.setTimeout(() => {
      this.enqueue(() => this.rebroadcast())
      if (!this.stopped) this.scheduleRebroadcast()
    }, this.opts.rebroadcastMs)
    ;(this.rebroadcastTimer as { unref?: () => void }).unref?.()
  }

  /**
   * Only once a height has gone undecided for two periods: in the normal
   * case every message arrives the first time, and re-sending a proposal
   * costs every peer a block decode.
   */
  private rebroadcast(): void {
    this.rebroadcastEvidence()
    const network = this.modules.network
    if (!network || !this.state || this.state.decision !== null || this.paused) return
    if (this.clock.now() - this.heightStartedAt < 2 * this.opts.rebroadcastMs) return
    const relay = ++this.relays
    if (this.own.proposal) network.broadcastProposal(this.own.proposal.proposal, this.own.proposal.bytes, relay)
    for (const v of this.own.votes) network.broadcastVote(v, relay)
  }

  /** Feed the inputs of the current height logged before a restart, so locks and valid values come back. */
  private async replay(records: WalRecord[]): Promise<void> {
    if (records.length === 0) return
    this.replaying = true
    try {
      for (const r of records) {
        if (r.blockBytes) {
          const hash = blockHashOf(r.input)
          if (hash) {
            this.blocks.set(toHex(hash), { height: r.height, bytes: r.blockBytes })
            this.walBlocks.add(toHex(hash))
          }
        }
        this.keepOwn(r)
        await this.input(r.input)
      }
    } finally {
      this.replaying = false
    }
    this.log.info('consensus WAL replayed', { height: this.height, records: records.length, round: this.round })
  }

  /**
   * What we signed before a restart is re-broadcast like what we sign after
   * it (the signer may refuse to sign it again, and a polka that needs our
   * earlier prevote could otherwise never form for peers that missed it).
   */
  private keepOwn(r: WalRecord): void {
    const self = this.modules.privValidator?.address
    const i = r.input
    if (i.kind === 'vote' && i.vote.validator === self) this.keepOwnVote(i.vote)
    if (i.kind === 'proposal' && i.proposal.proposer === self) {
      // the block's bytes are in this record or an earlier one of the height (walBlocks), which replay put in `blocks`
      const bytes = r.blockBytes ?? this.blocks.get(toHex(i.proposal.blockHash))?.bytes
      if (bytes) this.own.proposal = { proposal: i.proposal, bytes }
    }
  }

  private keepOwnVote(vote: Vote): void {
    if (!this.own.votes.some((v) => v.type === vote.type && v.round === vote.round)) this.own.votes.push(vote)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.rebroadcastTimer) this.clock.clearTimeout(this.rebroadcastTimer)
    for (const t of this.timers) this.clock.clearTimeout(t)
    this.timers.clear()
    await this.queue
  }

  /** A proposal and its block from the network (or a peer's sync of the current height). */
  onProposal(proposal: Proposal, blockBytes: Uint8Array): void {
    const arrived = this.clock.now()
    this.enqueue(async () => {
      this.modules.onMessageDelay?.('proposal', this.clock.now() - arrived)
      if (proposal.height < this.height) return
      const key = toHex(proposal.blockHash)
      this.blocks.set(key, { height: proposal.height, bytes: blockBytes })
      await this.input({ kind: 'proposal', proposal })
      const awaited = this.awaitingBlock.get(key)
      if (awaited !== undefined && awaited === this.state?.height) {
        this.awaitingBlock.delete(key)
        await this.validate(awaited, proposal.blockHash)
      }
    })
  }

  onVote(vote: Vote): void {
    const arrived = this.clock.now()
    this.enqueue(() => {
      this.modules.onMessageDelay?.('vote', this.clock.now() - arrived)
      return vote.height === this.lastCommit?.height ? this.addLatePrecommit(vote) : this.input({ kind: 'vote', vote })
    })
  }

  /**
   * A precommit for the height this node committed last (during the commit
   * pause or after): added to the commit the next proposal carries, so that
   * a validator whose vote came after the first +2/3 is not counted absent.
   */
  private addLatePrecommit(vote: Vote): void {
    const set = this.modules.chain.knownValidatorSet(vote.height)
    if (!this.lastCommit || !set) return
    const extended = addPrecommit(this.lastCommit, vote, set, this.modules.chain.chainId)
    if (extended) this.lastCommit = extended
  }

  /**
   * Hold double-sign evidence for our next proposal (CometBFT's evidence
   * pool): one item per (validator, height), since a second changes nothing
   * in the state (state/slashing.ts applyEvidence). `broadcast`: publish it
   * to every node (evidence this node detected itself), so that whichever
   * validator proposes next includes it — the node that sees the
   * conflicting votes may be the equivocator's other half, whose own
   * proposals can lose to its twin's at every height, while the others have
   * decided before the second vote reaches them. Returns false when not
   * added (held already, or the pool is full).
   */
  addEvidence(e: Evidence, opts: { broadcast?: boolean } = {}): boolean {
    const key = evidenceKey(e)
    if (this.pendingEvidence.has(key) || this.pendingEvidence.size >= MAX_PENDING_EVIDENCE) return false
    this.pendingEvidence.set(key, { evidence: e, sentAt: this.clock.now() })
    if (opts.broadcast) this.modules.network?.broadcastEvidence?.(e)
    return true
  }

  /** Whether evidence of this one's (validator, height) is held for inclusion. */
  hasEvidence(e: Evidence): boolean {
    return this.pendingEvidence.has(evidenceKey(e))
  }

  /** Drop held evidence already applied, or that a block of `nextHeight` could no longer include (DriverOptions.maxEvidenceAge). */
  private pruneEvidence(nextHeight: number): void {
    const age = this.opts.maxEvidenceAge ?? Infinity
    for (const [key, p] of this.pendingEvidence) {
      if (p.evidence.voteA.height + age < nextHeight || this.modules.chain.evidenceSettled?.(p.evidence)) this.pendingEvidence.delete(key)
    }
  }

  /** Held evidence not yet in a block is published again every two periods: a publish before the mesh formed, or to a peer that was down, is lost. */
  private rebroadcastEvidence(): void {
    const network = this.modules.network
    if (!network?.broadcastEvidence || this.paused) return
    const now = this.clock.now()
    for (const p of this.pendingEvidence.values()) {
      if (now - p.sentAt < 2 * this.opts.rebroadcastMs) continue
      p.sentAt = now
      network.broadcastEvidence(p.evidence, ++this.relays)
    }
  }

  /**
   * Stand still while block sync moves the head; resolves once no step is
   * running. Nothing is forgotten: the current height's state (locks, valid
   * value, votes) is kept, and inputs arriving meanwhile (messages, timeouts)
   * are held in order, to be replayed by `resume` if the head did not move.
   */
  pause(): Promise<void> {
    return new Promise((resolve) => {
      this.enqueue(() => {
        this.paused = true
        resolve()
      })
    })
  }

  /**
   * Block sync is done. If it moved the head (to the height `lastCommit`
   * committed), consensus runs from the next height; otherwise it carries on
   * with the height it was in, the held inputs replayed.
   */
  resume(lastCommit: Commit | null): void {
    this.enqueue(async () => {
      this.paused = false
      const held = this.pausedInputs
      this.pausedInputs = []
      const height = this.modules.chain.headHeight()
      if (this.state && this.state.height > height) {
        for (const input of held) await this.input(input)
        return
      }
      if (lastCommit && lastCommit.height === height) {
        // Precommits for the synced height that this node already held (in the core, or that came during
        // the pause) join the synced commit, so the next proposal does not count their validators absent.
        const known = this.state?.height === height ? this.state.rounds.get(lastCommit.round)?.precommits.votesFor(lastCommit.blockHash) ?? [] : []
        this.lastCommit = lastCommit
        for (const vote of known) this.addLatePrecommit(vote)
        for (const input of held) if (input.kind === 'vote' && input.vote.height === height) this.addLatePrecommit(input.vote)
      }
      this.prepared.clear()
      this.awaitingBlock.clear()
      this.pruneEvidence(height + 1)
      for (const [hash, b] of this.blocks) if (b.height <= height) this.blocks.delete(hash)
      for (const h of [...this.future.keys()]) if (h <= height) this.future.delete(h)
      for (const input of held) if (inputHeight(input) > height + 1) this.buffer(inputHeight(input), input)
      await this.startHeight(height + 1)
      for (const input of held) if (inputHeight(input) === height + 1) await this.input(input)
    })
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return
      try {
        await task()
      } catch (e) {
        this.log.error('consensus driver task failed', { err: e as Error, height: this.state?.height })
      }
    })
  }

  private setTimer(ms: number, fn: () => void): void {
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  private async startHeight(height: number, keepWal = false): Promise<void> {
    if (this.paused || this.halt) return
    if (this.state && this.state.height >= height) return
    if (!keepWal) {
      this.modules.wal?.reset()
      this.walBlocks.clear()
    }
    this.own = { proposal: null, votes: [] }
    this.heightStartedAt = this.clock.now()
    this.precommitQuorumAt = null
    const validators = this.modules.chain.validatorSet(height)
    const self = this.modules.privValidator?.address ?? null
    const config = { chainId: this.modules.chain.chainId, self, timeouts: this.opts.timeouts, ...(this.opts.verifier ? { verifier: this.opts.verifier } : {}) }
    const { state, outputs } = initConsensus(config, height, validators)
    this.state = state
    await this.handle(outputs)
    const buffered = this.future.get(height) ?? []
    this.future.delete(height)
    for (const input of buffered) await this.input(input)
  }

  private async input(input: ConsensusInput): Promise<void> {
    if (this.paused) {
      if (this.pausedInputs.length < MAX_PAUSED_INPUTS) this.pausedInputs.push(input)
      return
    }
    const s = this.state
    if (!s) return
    const h = inputHeight(input)
    if (h > s.height) return this.buffer(h, input)
    if (h === s.height && !this.replaying) this.log_(input)
    const { outputs } = step(s, input)
    if (input.kind === 'vote' && input.vote.type === 'precommit' && h === s.height && this.precommitQuorumAt === null
      && s.rounds.get(input.vote.round)?.precommits.twoThirdsBlock() != null) this.precommitQuorumAt = this.clock.now()
    await this.handle(outputs)
  }

  private log_(input: ConsensusInput): void {
    const wal = this.modules.wal
    if (!wal || input.kind === 'newHeight') return
    const hash = blockHashOf(input)
    const key = hash ? toHex(hash) : null
    const blockBytes = key !== null && !this.walBlocks.has(key) ? this.blocks.get(key)?.bytes ?? null : null
    wal.append({ height: this.height, input, blockBytes })
    // marked once the record is written: an append that throws (disk full) leaves the next record to carry the bytes
    if (key !== null && blockBytes) this.walBlocks.add(key)
  }

  private buffer(height: number, input: ConsensusInput): void {
    if (height > this.height + this.opts.maxBufferedHeights) return
    const list = this.future.get(height) ?? []
    if (list.length >= MAX_BUFFERED_MESSAGES) return
    list.push(input)
    this.future.set(height, list)
  }

  /**
   * Act on every output even if one fails: a refused signature (e.g. the
   * proposal of a round signed before a crash) must not swallow the timeout
   * scheduled beside it, or the height would never move on.
   */
  private async handle(outputs: ConsensusOutput[]): Promise<void> {
    for (const out of outputs) {
      if (this.stopped) return
      try {
        await this.act(out)
      } catch (e) {
        this.log.warn('consensus output not carried out', { kind: out.kind, height: this.state?.height, reason: (e as Error).message })
      }
    }
  }

  private async act(out: ConsensusOutput): Promise<void> {
    const { privValidator, network, chain } = this.modules
    switch (out.kind) {
      case 'scheduleTimeout':
        this.setTimer(out.ms, () => this.enqueue(() => this.input({ kind: 'timeout', height: out.height, round: out.round, step: out.step })))
        return
      case 'requestProposal':
        if (this.replaying) return
        return this.propose(out.height, out.round)
      case 'broadcastProposal': {
        if (!privValidator) return
        const bytes = this.blocks.get(toHex(out.proposal.blockHash))?.bytes
        if (!bytes) throw new NodeError('DRIVER_ERROR_NO_BLOCK', 'asked to propose a block we do not hold')
        this.modules.wal?.sync()
        const proposal = await privValidator.signProposal(chain.chainId, out.proposal)
        this.own.proposal = { proposal, bytes }
        if (!this.replaying) network?.broadcastProposal(proposal, bytes)
        return this.input({ kind: 'proposal', proposal })
      }
      case 'broadcastVote': {
        if (!privValidator) return
        this.modules.wal?.sync()
        const vote = await privValidator.signVote(chain.chainId, out.vote)
        this.keepOwnVote(vote)
        if (!this.replaying) network?.broadcastVote(vote)
        return this.input({ kind: 'vote', vote })
      }
      case 'requestValidation':
        return this.validate(out.height, out.blockHash)
      case 'decide':
        return this.decide(out.height, out.blockHash, out.commit)
      case 'evidence':
        this.log.warn('double signing detected', { validator: out.evidence.voteA.validator, height: out.evidence.voteA.height })
        this.addEvidence(out.evidence, { broadcast: !this.replaying })
        return
      case 'rejected':
        this.log.debug('consensus message rejected', { code: out.code, reason: out.reason, validator: out.validator })
        return
    }
  }

  private async propose(height: number, round: number): Promise<void> {
    const { chain, privValidator } = this.modules
    if (!privValidator) return
    if (!this.opts.emptyBlocks) await this.waitForTxs()
    const evidence = [...this.pendingEvidence.values()].map((p) => p.evidence)
      .sort((a, b) => a.voteA.height - b.voteA.height).slice(0, MAX_EVIDENCE_PER_BLOCK)
    const now = this.clock.now()
    const due = this.nextHeightDue
    const lateMs = round === 0 && due !== null && due.height === height ? Math.max(0, now - due.at) : 0
    const p = await chain.propose({ height, round, timeMs: now, proposer: privValidator.address, lastCommit: this.lastCommit, evidence, lateMs })
    this.blocks.set(p.hash, { height, bytes: p.bytes })
    this.prepared.set(p.hash, p)
    this.log.debug('proposal built', { height, round, txs: p.txCount, hash: p.hash, lateMs })
    await this.input({ kind: 'proposalValue', height, round, blockHash: hexBytes(p.hash) })
  }

  private async waitForTxs(): Promise<void> {
    const deadline = this.clock.now() + this.opts.emptyBlockIntervalMs
    while (this.modules.chain.pendingTxs() === 0 && this.clock.now() < deadline && !this.stopped) {
      await new Promise<void>((r) => this.clock.setTimeout(r, 20))
    }
  }

  private async validate(height: number, blockHash: Uint8Array): Promise<void> {
    const key = toHex(blockHash)
    if (this.prepared.has(key)) return this.input({ kind: 'proposalValidated', height, blockHash, valid: true })
    const bytes = this.blocks.get(key)?.bytes
    if (!bytes) {
      this.awaitingBlock.set(key, height)
      return
    }
    try {
      const p = await this.modules.chain.validate(bytes, this.clock.now())
      if (p.hash !== key) throw new NodeError('DRIVER_ERROR_HASH_MISMATCH', 'block bytes do not hash to the proposed hash')
      this.prepared.set(key, p)
      await this.input({ kind: 'proposalValidated', height, blockHash, valid: true })
    } catch (e) {
      this.log.warn('invalid proposal', { height, hash: key, reason: (e as Error).message })
      await this.input({ kind: 'proposalValidated', height, blockHash, valid: false })
    }
  }

  private async decide(height: number, blockHash: Uint8Array, commit: Commit): Promise<void> {
    const key = toHex(blockHash)
    let p = this.prepared.get(key)
    if (!p) {
      const bytes = this.blocks.get(key)?.bytes
      if (!bytes) throw new NodeError('DRIVER_ERROR_NO_BLOCK', `decided block ${key} at ${height} is unknown here`)
      p = await this.modules.chain.validate(bytes, this.clock.now())
    }
    const started = this.clock.now()
    try {
      await this.modules.chain.commit(p, commit)
    } catch (e) {
      // Every validator that decided this block fails the same way: the chain stops here. Say so, loudly and once.
      const reason = (e as Error).message
      this.halt = { height, reason }
      this.log.error('consensus halted: the decided block could not be committed', { height, hash: key, reason })
      this.modules.onHalt?.(height, reason)
      return
    }
    for (const e of p.evidence) this.pendingEvidence.delete(evidenceKey(e))
    this.pruneEvidence(height + 1)
    this.lastCommit = commit
    this.prepared.clear()
    this.awaitingBlock.clear()
    for (const [hash, b] of this.blocks) if (b.height <= height) this.blocks.delete(hash)
    this.log.info('block committed', { height, hash: key, txs: p.txCount, round: commit.round, ms: this.clock.now() - started })
    this.modules.onCommit(p, commit)
    const due = this.nextHeightStart(p)
    this.nextHeightDue = { height: height + 1, at: due }
    this.setTimer(Math.max(0, due - this.clock.now()), () => this.enqueue(() => this.startHeight(height + 1)))
  }

  /**
   * How long to wait after committing `block` before the next height: until
   * `blockTimeMs` after the block's header time, and at least
   * COMMIT_PAUSE_FLOOR of it after this node first held +2/3 precommits for
   * it; never more than blockTimeMs. So heights come every blockTimeMs while
   * consensus takes less than half of it, and every (consensus time +
   * blockTimeMs/2) under load — not blockTimeMs + consensus time as a fixed
   * pause (CometBFT's timeout_commit) would give: a "1 s" devnet made
   * 1.4–1.6 s blocks under a flood.
   *
   * Both anchors are common to the validators: the header time is the
   * proposer's clock when it proposed, and +2/3 precommits reach everyone at
   * about the same moment. Anchored on this node's own height start and
   * decision instead (as before), a validator that decided late — it
   * validated a 40,000-receipt block 300 ms slower than its peers, or got
   * the proposal late — started every later height late by as much: under
   * the 4-validator flood the validators' height starts spread by 200–800 ms
   * (traced), and when the late one was the next proposer its proposal
   * reached the others after their 1 s propose timeout and the height needed
   * a second round. Now a late decider starts at once and the spread
   * closes. The floor is the pause's other job: late precommits still reach
   * the next proposer's lastCommit (an honest validator a little slower
   * than the first +2/3 is not counted absent). With clocks that differ
   * between hosts the header time shifts the start by the proposer's offset,
   * bounded by the blockTimeMs cap.
   *
   * Returns the start (clock ms); it may be in the past when this node's
   * commit ended after it (a slow commit of a large block): the node then
   * starts at once, late, and if it proposes in round 0 its peers' propose
   * timeouts have run since this start (the `lateMs` of DriverChain.propose).
   */
  private nextHeightStart(block: DriverBlock): number {
    const now = this.clock.now()
    const { blockTimeMs } = this.opts
    const anchor = block.timeMs ?? this.heightStartedAt
    const quorumAt = this.precommitQuorumAt ?? now
    return Math.min(now + blockTimeMs, Math.max(anchor + blockTimeMs, quorumAt + COMMIT_PAUSE_FLOOR * blockTimeMs))
  }
}

/** The least share of blockTimeMs a node pauses after a commit (Driver.nextHeightStart). */
const COMMIT_PAUSE_FLOOR = 0.5

/** One pool entry per (validator, height): what the state punishes once (state/slashing.ts applyEvidence). */
function evidenceKey(e: Evidence): string {
  return `${e.voteA.validator}/${e.voteA.height}`
}

function inputHeight(input: ConsensusInput): number {
  return input.kind === 'proposal' ? input.proposal.height : input.kind === 'vote' ? input.vote.height : input.height
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'))
}

/** The block an input names (a proposal, or this node's own proposalValue), else null: the WAL holds its bytes once per height, with the first record naming it. */
function blockHashOf(input: ConsensusInput): Uint8Array | null {
  return input.kind === 'proposal' ? input.proposal.blockHash : input.kind === 'proposalValue' ? input.blockHash : null
}

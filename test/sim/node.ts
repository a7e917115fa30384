import { toHex } from '../../core/bytes.js'
import { sha256 } from '../../core/hash.js'
import type { KeyPair } from '../../core/keys.js'
import {
  MemoryWalStore,
  PrivValidator,
  defaultTimeoutOptions,
  initConsensus,
  step,
  voteSignBytes,
  type Commit,
  type ConsensusInput,
  type ConsensusOutput,
  type ConsensusState,
  type Proposal,
  type Vote,
} from '../../consensus/index.js'
import type { Behaviour } from './scenario.js'
import type { World } from './world.js'

export type Message =
  | { readonly kind: 'proposal'; readonly proposal: Proposal; readonly bytes: Uint8Array }
  | { readonly kind: 'vote'; readonly vote: Vote }
  | { readonly kind: 'status'; readonly height: number }
  | { readonly kind: 'sync'; readonly height: number; readonly bytes: Uint8Array; readonly commit: Commit }

const FUTURE_BUFFER_MAX = 2000

/**
 * One simulated validator: the real core and a real PrivValidator behind a
 * small driver. What survives a crash is what a node keeps on disk: the
 * signer's WAL store, the consensus inputs of the current height (replayed
 * on restart so that locks are not forgotten) and the committed chain.
 */
export class SimNode {
  readonly privStore = new MemoryWalStore()
  private wal: ConsensusInput[] = []
  readonly chain = new Map<number, { bytes: Uint8Array; commit: Commit }>()
  committedHeight = 0
  readonly blocks = new Map<string, Uint8Array>()

  up = false
  private incarnation = 0
  core: ConsensusState | null = null
  private pv: PrivValidator | null = null
  private future: Message[] = []
  private pendingValidation = new Map<string, number>()
  private own: Message[] = []
  private replaying = false
  /** Equivocations this node reported, as validator/height/round/type. */
  readonly reported = new Set<string>()

  constructor(
    readonly id: number,
    readonly validatorIndex: number,
    readonly key: KeyPair,
    readonly behaviour: Behaviour,
    private readonly world: World,
  ) {}

  get honest(): boolean {
    return this.behaviour === 'honest'
  }

  async start(): Promise<void> {
    this.up = true
    const inc = ++this.incarnation
    this.pv = await PrivValidator.open(this.key, this.privStore)
    const height = this.committedHeight + 1
    const config = { chainId: this.world.chainId, self: this.key.address, timeouts: defaultTimeoutOptions, verifier: this.world.verifier }
    const init = initConsensus(config, height, this.world.setFor(height))
    this.core = init.state
    this.world.entered(this, height)
    this.replaying = true
    await this.handleOutputs(init.outputs, [])
    this.own = this.wal.flatMap((i) => this.ownMessage(i))
    for (const input of this.wal) await this.process(input, false)
    this.replaying = false
    this.scheduleGossip(inc)
  }

  crash(): void {
    this.up = false
    this.incarnation++
    this.core = null
    this.pv = null
    this.future = []
    this.pendingValidation.clear()
    this.own = []
  }

  async deliver(msg: Message, from: SimNode): Promise<void> {
    if (!this.up || !this.core) return
    switch (msg.kind) {
      case 'proposal':
        if (toHex(sha256(msg.bytes)) !== toHex(msg.proposal.blockHash)) return
        this.storeBlock(msg.bytes)
        await this.routeConsensus(msg, msg.proposal.height, { kind: 'proposal', proposal: msg.proposal })
        return this.resolvePending(msg.proposal.blockHash)
      case 'vote':
        return this.routeConsensus(msg, msg.vote.height, { kind: 'vote', vote: msg.vote })
      case 'status':
        return this.answerStatus(msg.height, from)
      case 'sync':
        return this.applySync(msg)
    }
  }

  private async routeConsensus(msg: Message, height: number, input: ConsensusInput): Promise<void> {
    const core = this.core!
    if (height === core.height) return this.process(input)
    if (height === core.height + 1 && this.future.length < FUTURE_BUFFER_MAX) this.future.push(msg)
  }

  /** Feed one input and everything it causes, breadth first, so own votes are signed in (height, round, step) order. */
  private async process(first: ConsensusInput, log = true): Promise<void> {
    const queue: ConsensusInput[] = [first]
    let logThis = log
    while (queue.length > 0 && this.core) {
      const input = queue.shift()!
      if (input.kind === 'newHeight') {
        this.wal = []
        this.own = []
      } else if (logThis && !this.replaying) {
        this.wal.push(input)
      }
      logThis = true
      const before = this.core
      const decidedBefore = before.decision !== null
      const r = step(before, input)
      this.core = r.state
      await this.handleOutputs(r.outputs, queue)
      if (input.kind === 'vote' && !decidedBefore) this.world.checkEquivocation(this, input.vote)
    }
  }

  private async handleOutputs(outputs: ConsensusOutput[], queue: ConsensusInput[]): Promise<void> {
    for (const o of outputs) await this.onOutput(o, queue)
  }

  private async onOutput(o: ConsensusOutput, queue: ConsensusInput[]): Promise<void> {
    const inc = this.incarnation
    const height = this.core!.height
    switch (o.kind) {
      case 'broadcastProposal':
        return this.signProposal(o.proposal, queue)
      case 'broadcastVote':
        return this.signVote(o.vote, queue)
      case 'scheduleTimeout':
        return this.later(inc, o.ms, height, { kind: 'timeout', height: o.height, round: o.round, step: o.step })
      case 'requestValidation':
        return this.world.clock.schedule(this.world.rng.int(0, 30), () => this.validate(inc, height, o.blockHash))
      case 'requestProposal':
        return this.world.clock.schedule(this.world.rng.int(0, 20), () => this.buildBlock(inc, o.height, o.round))
      case 'decide':
        this.world.decided(this, o.height, o.round, o.blockHash, o.commit, 'consensus')
        return this.commit(o.height, this.blocks.get(toHex(o.blockHash))!, o.commit, queue)
      case 'evidence':
        this.reported.add(`${o.evidence.voteA.validator}/${o.evidence.voteA.height}/${o.evidence.voteA.round}/${o.evidence.voteA.type}`)
        return this.world.evidence(this, o.evidence)
      case 'rejected':
        return this.world.rejected(this, o.code, o.validator, o.reason)
    }
  }

  private async signProposal(proposal: Proposal | Omit<Proposal, 'signature'>, queue: ConsensusInput[]): Promise<void> {
    if (this.replaying) return
    const bytes = this.blocks.get(toHex(proposal.blockHash))
    if (!bytes) return this.world.violation(`node ${this.id} proposes a block it does not have`)
    let signed: Proposal
    try {
      signed = await this.pv!.signProposal(this.world.chainId, proposal)
    } catch (e) {
      return this.world.refused(this, e)
    }
    const msg: Message = { kind: 'proposal', proposal: signed, bytes }
    this.own.push(msg)
    this.world.broadcast(this, msg)
    queue.push({ kind: 'proposal', proposal: signed })
  }

  private async signVote(vote: Omit<Vote, 'signature'>, queue: ConsensusInput[]): Promise<void> {
    if (this.replaying) return
    let signed: Vote
    try {
      signed = await this.pv!.signVote(this.world.chainId, vote)
    } catch (e) {
      return this.world.refused(this, e)
    }
    const msg: Message = { kind: 'vote', vote: signed }
    this.own.push(msg)
    if (this.behaviour === 'equivocator') this.equivocate(msg, signed)
    else this.world.broadcast(this, msg)
    queue.push({ kind: 'vote', vote: signed })
  }

  /** Byzantine: one side of a per-height split of the peers gets the real vote, the other a conflicting one signed behind the signer's back. */
  private equivocate(msg: Message, vote: Vote): void {
    const other = vote.blockHash === null ? sha256(`equivocation/${vote.height}/${vote.round}`) : null
    const unsigned = { ...vote, blockHash: other }
    const conflicting: Message = { kind: 'vote', vote: { ...unsigned, signature: this.key.sign(voteSignBytes(this.world.chainId, unsigned)) } }
    for (const peer of this.world.peersOf(this)) this.world.send(this, peer, this.world.splitSide(peer, vote.height) ? msg : conflicting)
  }

  private later(inc: number, ms: number, height: number, input: ConsensusInput): void {
    this.world.clock.schedule(ms, async () => {
      if (this.alive(inc, height)) await this.process(input)
    })
  }

  private alive(inc: number, height: number): boolean {
    return this.up && this.incarnation === inc && this.core?.height === height
  }

  private async validate(inc: number, height: number, blockHash: Uint8Array): Promise<void> {
    if (!this.alive(inc, height)) return
    const bytes = this.blocks.get(toHex(blockHash))
    if (!bytes) {
      this.pendingValidation.set(toHex(blockHash), height)
      return
    }
    const valid = this.behaviour === 'invalidProposer' || this.world.isValidBlock(bytes, height)
    if (valid) this.world.validated(this, blockHash)
    await this.process({ kind: 'proposalValidated', height, blockHash, valid })
  }

  private async resolvePending(blockHash: Uint8Array): Promise<void> {
    const height = this.pendingValidation.get(toHex(blockHash))
    if (height === undefined) return
    this.pendingValidation.delete(toHex(blockHash))
    await this.validate(this.incarnation, height, blockHash)
  }

  /** getValue(): honest blocks are a function of (height, round, proposer), so a rebuilt block after a restart is the same block. */
  private async buildBlock(inc: number, height: number, round: number): Promise<void> {
    if (!this.alive(inc, height)) return
    const bytes = this.world.makeBlock(height, round, this.key.address, this.behaviour === 'invalidProposer')
    this.storeBlock(bytes)
    await this.process({ kind: 'proposalValue', height, round, blockHash: sha256(bytes) })
  }

  private storeBlock(bytes: Uint8Array): void {
    this.blocks.set(toHex(sha256(bytes)), bytes)
    this.world.registerBlock(bytes)
  }

  private async commit(height: number, bytes: Uint8Array, commit: Commit, queue: ConsensusInput[]): Promise<void> {
    this.chain.set(height, { bytes, commit })
    this.committedHeight = height
    this.world.entered(this, height + 1)
    queue.push({ kind: 'newHeight', height: height + 1, validators: this.world.setFor(height + 1) })
    const buffered = this.future.filter((m) => (m.kind === 'vote' ? m.vote.height : m.kind === 'proposal' ? m.proposal.height : -1) === height + 1)
    this.future = []
    for (const m of buffered) {
      if (m.kind === 'vote') queue.push({ kind: 'vote', vote: m.vote })
      if (m.kind === 'proposal') queue.push({ kind: 'proposal', proposal: m.proposal })
    }
  }

  private answerStatus(height: number, from: SimNode): void {
    const block = this.chain.get(height)
    if (block) this.world.send(this, from, { kind: 'sync', height, bytes: block.bytes, commit: block.commit })
  }

  /** Block sync: verify the commit against the set of that height, validate, then move on (DESIGN §6 / issue 5's block sync). */
  private async applySync(msg: Extract<Message, { kind: 'sync' }>): Promise<void> {
    if (msg.height !== this.core!.height) return
    const hash = sha256(msg.bytes)
    if (!this.world.verifySyncedCommit(this, msg.height, hash, msg.commit)) return
    if (!this.world.isValidBlock(msg.bytes, msg.height)) return this.world.violation(`node ${this.id} was synced an invalid block at height ${msg.height}`)
    this.storeBlock(msg.bytes)
    this.world.decided(this, msg.height, msg.commit.round, hash, msg.commit, 'sync')
    const queue: ConsensusInput[] = []
    await this.commit(msg.height, msg.bytes, msg.commit, queue)
    for (const input of queue) await this.process(input)
  }

  private scheduleGossip(inc: number): void {
    this.world.clock.schedule(this.world.scenario.gossipMs, () => {
      if (!this.up || this.incarnation !== inc) return
      this.gossip()
      this.scheduleGossip(inc)
    })
  }

  /** Periodic re-broadcast of this node's recent messages and its height, standing in for CometBFT's gossip routines. */
  private gossip(): void {
    const core = this.core!
    this.world.broadcast(this, { kind: 'status', height: core.height })
    for (const m of this.own) {
      const round = m.kind === 'vote' ? m.vote.round : m.kind === 'proposal' ? m.proposal.round : -1
      if (round >= core.round - 1) this.world.broadcast(this, m)
    }
  }

  private ownMessage(input: ConsensusInput): Message[] {
    if (input.kind === 'vote' && input.vote.validator === this.key.address) return [{ kind: 'vote', vote: input.vote }]
    if (input.kind === 'proposal' && input.proposal.proposer === this.key.address) {
      const bytes = this.blocks.get(toHex(input.proposal.blockHash))
      return bytes ? [{ kind: 'proposal', proposal: input.proposal, bytes }] : []
    }
    return []
  }
}

import { toHex } from '../../core/bytes.js'
import { sha256 } from '../../core/hash.js'
import type { KeyPair } from '../../core/keys.js'
import {
  MemoryWalStore,
  PrivValidator,
  defaultTimeoutOptions,
  voteSignBytes,
  type Commit,
  type ConsensusState,
  type Evidence,
  type Proposal,
  type Vote,
} from '../../consensus/index.js'
import { ConsensusDriver, type ConsensusNetwork, type DriverBlock, type DriverChain, type DriverClock, type DriverWal } from '../../node/driver.js'
import type { WalRecord } from '../../node/consensusWal.js'
import type { Logger } from '../../node/logger.js'
import type { SimEvent } from './clock.js'
import type { Behaviour } from './scenario.js'
import type { World } from './world.js'

export type Message =
  | { readonly kind: 'proposal'; readonly proposal: Proposal; readonly bytes: Uint8Array }
  | { readonly kind: 'vote'; readonly vote: Vote }
  /** the sender's committed height (block sync: a peer that is behind asks for the next block) */
  | { readonly kind: 'status'; readonly height: number }
  | { readonly kind: 'blockRequest'; readonly height: number }
  | { readonly kind: 'sync'; readonly height: number; readonly bytes: Uint8Array; readonly commit: Commit }

/** A toy block as the production driver handles it. */
export interface SimBlock extends DriverBlock {
  readonly height: number
}

/**
 * The consensus WAL in memory, with the disk one's durability: appended
 * records are lost in a crash until `sync` (the driver syncs before every
 * signature), `reset` is durable at once.
 */
export class SimWal implements DriverWal {
  private durable: WalRecord[] = []
  private pending: WalRecord[] = []

  read(height: number): WalRecord[] {
    return [...this.durable, ...this.pending].filter((r) => r.height === height)
  }

  append(r: WalRecord): void {
    this.pending.push(r)
  }

  sync(): void {
    if (this.pending.length === 0) return
    this.durable.push(...this.pending)
    this.pending = []
  }

  reset(): void {
    this.durable = []
    this.pending = []
  }

  /** A crash: what was not synced is gone. */
  crash(): void {
    this.pending = []
  }
}

/**
 * Gossipsub forwards every message a node receives to its mesh peers, so a
 * byzantine validator cannot keep a vote from part of the network: what the
 * byzantine behaviours send is relayed once by each node that receives it
 * directly. (Honest nodes send to everyone and re-broadcast their own
 * messages; `silent` validators are scripted and reach only whom the script
 * chooses.)
 */
const RELAYED = new Set<Behaviour>(['equivocator', 'twin', 'invalidProposer'])

/** CometBFT's timeout_commit in the simulator is the scenario's; these are the node's other driver options. */
const MAX_BUFFERED_HEIGHTS = 2

/**
 * One simulated node: the PRODUCTION consensus driver (node/driver.ts) with
 * the real core and a real PrivValidator, behind adapters: a toy chain
 * (world.makeBlock / isValidBlock), the virtual clock, an in-memory WAL and
 * signer store that survive crashes, and the simulated network. A crash
 * drops the driver instance (its timers are cancelled and guarded by the
 * incarnation); a restart builds a new driver over what a node keeps on
 * disk (the WAL, the signer's last-signed state, the committed chain), so
 * WAL replay runs under seeds. Block sync uses the driver's pause/resume.
 *
 * Behaviour `silent` runs nothing (a scripted scenario speaks for it);
 * `liar` is a full node that claims a huge height and never serves a block.
 */
export class SimNode {
  readonly privStore = new MemoryWalStore()
  readonly wal = new SimWal()
  /** committed blocks; `commit` is the canonical one (block H + 1's lastCommit) once H + 1 is committed */
  readonly chain = new Map<number, { bytes: Uint8Array; commit: Commit; via: 'consensus' | 'sync' }>()
  committedHeight = 0
  driver: ConsensusDriver<SimBlock> | null = null
  up = false
  private incarnation = 0
  /** between `driver.pause()` and `driver.resume()` */
  private syncing = false
  /** restarting: the driver replays its WAL (refusals of re-signing are expected there) */
  private restoring = false
  /** Equivocations this node reported, as validator/height/round/type. */
  readonly reported = new Set<string>()
  /** virtual time this node (last) entered each height */
  readonly enteredAt = new Map<number, number>()
  readonly crashTimes: number[] = []
  /** block requests this node sent, by the peer asked */
  readonly requestsTo = new Map<number, number>()
  syncPauses = 0
  /** signatures in the commit this node decided each height with (before late precommits) */
  readonly decidedSigners = new Map<number, number>()

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

  /** The core state of the current height (invariant checks). */
  get core(): ConsensusState | null {
    return this.driver?.consensusState ?? null
  }

  async start(): Promise<void> {
    this.up = true
    const inc = ++this.incarnation
    this.scheduleStatus(inc)
    if (this.behaviour === 'silent' || this.behaviour === 'liar') return
    const pv = await PrivValidator.open(this.key, this.privStore)
    this.watchSigner(pv)
    const driver = new ConsensusDriver<SimBlock>(
      {
        blockTimeMs: this.world.scenario.blockTimeMs,
        emptyBlocks: true,
        emptyBlockIntervalMs: 0,
        timeouts: defaultTimeoutOptions,
        maxBufferedHeights: MAX_BUFFERED_HEIGHTS,
        rebroadcastMs: this.world.scenario.gossipMs,
        verifier: this.world.verifier,
      },
      {
        chain: this.simChain(),
        privValidator: pv,
        network: this.simNetwork(),
        logger: this.logger(),
        onCommit: () => undefined,
        clock: this.simClock(inc),
        wal: this.wal,
      },
    )
    const addEvidence = driver.addEvidence.bind(driver)
    driver.addEvidence = (e: Evidence, opts?: { broadcast?: boolean }): boolean => {
      this.onEvidence(e)
      return addEvidence(e, opts)
    }
    this.driver = driver
    this.restoring = true
    await driver.start()
    await driver.settled()
    this.restoring = false
  }

  /** Stop dead, between two events (the driver is idle then): nothing unsynced survives. */
  crash(): void {
    this.up = false
    this.incarnation++
    this.crashTimes.push(this.world.clock.now)
    this.wal.crash()
    this.syncing = false
    const d = this.driver
    this.driver = null
    // stop() marks the driver stopped and cancels its timers synchronously; the queue is idle.
    if (d) void d.stop()
  }

  async deliver(msg: Message, from: SimNode): Promise<void> {
    if (!this.up) return
    if (this.behaviour === 'liar') return this.lie(msg, from)
    const driver = this.driver
    if (!driver) return
    if (this.honest && RELAYED.has(from.behaviour) && (msg.kind === 'vote' || msg.kind === 'proposal')) this.world.broadcast(this, msg)
    switch (msg.kind) {
      case 'proposal':
        if (toHex(sha256(msg.bytes)) !== toHex(msg.proposal.blockHash)) return
        this.world.registerBlock(msg.bytes)
        driver.onProposal(msg.proposal, msg.bytes)
        return
      case 'vote': {
        const before = driver.consensusState
        const decidedBefore = before?.decision !== null
        driver.onVote(msg.vote)
        await driver.settled()
        if (!decidedBefore && !this.syncing && driver.consensusState === before) this.world.checkEquivocation(this, msg.vote)
        return
      }
      case 'status':
        if (msg.height > this.committedHeight && !this.syncing) {
          this.requestsTo.set(from.id, (this.requestsTo.get(from.id) ?? 0) + 1)
          this.world.send(this, from, { kind: 'blockRequest', height: this.committedHeight + 1 })
        }
        return
      case 'blockRequest': {
        const block = this.chain.get(msg.height)
        if (block) this.world.send(this, from, { kind: 'sync', height: msg.height, bytes: block.bytes, commit: block.commit })
        return
      }
      case 'sync':
        return this.applySync(msg, from)
    }
  }

  /** A lying full node: answers a block request with a block whose commit it forged itself. */
  private lie(msg: Message, from: SimNode): void {
    if (msg.kind !== 'blockRequest') return
    const bytes = this.world.makeBlock(msg.height, 0, this.key.address, false, null)
    const blockHash = sha256(bytes)
    const unsigned = { type: 'precommit' as const, height: msg.height, round: 0, blockHash, validator: this.key.address }
    const commit: Commit = { height: msg.height, round: 0, blockHash, signatures: [{ validator: this.key.address, signature: this.key.sign(voteSignBytes(this.world.chainId, unsigned)) }] }
    this.world.send(this, from, { kind: 'sync', height: msg.height, bytes, commit })
  }

  /**
   * Block sync (the production path): the commit is verified against the
   * set of that height BEFORE consensus is paused; then driver.pause() →
   * commit to the chain → driver.resume(commit).
   */
  private async applySync(msg: Extract<Message, { kind: 'sync' }>, from: SimNode): Promise<void> {
    const driver = this.driver!
    if (msg.height !== this.committedHeight + 1 || this.syncing) return
    const hash = sha256(msg.bytes)
    if (!this.world.verifySyncedCommit(this, from, msg.height, hash, msg.commit)) return
    if (!this.world.isValidBlock(msg.bytes, msg.height)) return this.world.violation(`node ${this.id} was synced an invalid block at height ${msg.height}`)
    this.syncing = true
    this.syncPauses++
    await driver.pause()
    if (this.driver !== driver || msg.height !== this.committedHeight + 1) {
      // committed meanwhile by consensus (or crashed): carry on where it was
      this.syncing = false
      if (this.driver === driver) driver.resume(null)
      return
    }
    this.world.registerBlock(msg.bytes)
    this.world.decided(this, msg.height, msg.commit.round, hash, msg.commit, 'sync')
    this.store(msg.height, msg.bytes, msg.commit, 'sync')
    this.syncing = false
    driver.resume(msg.commit)
  }

  private store(height: number, bytes: Uint8Array, commit: Commit, via: 'consensus' | 'sync'): void {
    this.chain.set(height, { bytes, commit, via })
    this.committedHeight = height
    const last = this.world.decodeBlock(bytes)?.lastCommit
    const previous = this.chain.get(height - 1)
    if (last && previous) this.chain.set(height - 1, { ...previous, commit: last })
  }

  private simChain(): DriverChain<SimBlock> {
    const world = this.world
    const wrap = (bytes: Uint8Array, height: number): SimBlock => ({ hash: toHex(sha256(bytes)), bytes, txCount: 0, evidence: [], height })
    return {
      chainId: world.chainId,
      genesisTimeMs: 0,
      headHeight: () => this.committedHeight,
      headCommit: async () => this.chain.get(this.committedHeight)?.commit ?? null,
      validatorSet: (height) => {
        // called once as the driver starts a height
        this.enteredAt.set(height, world.clock.now)
        world.entered(this, height)
        return world.setFor(height)
      },
      knownValidatorSet: (height) => world.setFor(height),
      pendingTxs: () => 0,
      /** getValue(): the block carries the driver's lastCommit; an invalidProposer marks it invalid. */
      propose: ({ height, round, proposer, lastCommit }) => {
        const bytes = world.makeBlock(height, round, proposer, this.behaviour === 'invalidProposer', lastCommit)
        const block = wrap(bytes, height)
        world.registerBlock(bytes)
        world.built(this, block.hash)
        if (world.isValidBlock(bytes, height)) world.validated(this, sha256(bytes))
        return block
      },
      validate: async (bytes) => {
        const height = this.committedHeight + 1
        const valid = this.behaviour === 'invalidProposer' || world.isValidBlock(bytes, height)
        if (!valid) throw new Error(`invalid block for height ${height}`)
        world.registerBlock(bytes)
        world.validated(this, sha256(bytes))
        return wrap(bytes, height)
      },
      commit: async (block, commit) => {
        this.decidedSigners.set(block.height, commit.signatures.length)
        world.decided(this, block.height, commit.round, sha256(block.bytes), commit, 'consensus')
        this.store(block.height, block.bytes, commit, 'consensus')
      },
    }
  }

  private simNetwork(): ConsensusNetwork {
    return {
      broadcastProposal: (proposal, bytes) => this.world.broadcast(this, { kind: 'proposal', proposal, bytes }),
      broadcastVote: (vote) => {
        this.world.sentVote(this, vote)
        if (this.behaviour === 'equivocator') this.equivocate({ kind: 'vote', vote }, vote)
        else this.world.broadcast(this, { kind: 'vote', vote })
      },
    }
  }

  /** Timers on the virtual clock: cancellable, and dead once this incarnation has crashed. */
  private simClock(inc: number): DriverClock {
    const clock = this.world.clock
    return {
      now: () => clock.now,
      setTimeout: (fn, ms) => clock.schedule(ms, () => {
        if (this.up && this.incarnation === inc) fn()
      }),
      clearTimeout: (handle) => clock.cancel(handle as SimEvent),
    }
  }

  /** The driver reports through its logger: rejected messages, failed tasks and outputs it could not carry out. */
  private logger(): Logger {
    const world = this.world
    const log: Logger = {
      error: (msg, ctx) => {
        if (this.honest) world.violation(`node ${this.id}: ${msg} ${describe(ctx)}`)
      },
      warn: (msg, ctx) => {
        if (msg !== 'consensus output not carried out' || !this.honest) return
        const reason = String(ctx?.['reason'] ?? '')
        // signer refusals are judged by watchSigner
        if (!/CONSENSUS_ERROR_(DOUBLE_SIGN|SIGN_REGRESSION)/.test(reason)) world.violation(`node ${this.id}: ${msg} ${describe(ctx)}`)
      },
      info: () => undefined,
      debug: (msg, ctx) => {
        if (msg === 'consensus message rejected') world.rejected(this, String(ctx?.['code']), String(ctx?.['validator']), String(ctx?.['reason']))
      },
      child: () => log,
    }
    return log
  }

  /** Refusals of the real signer are counted; an honest node's outside WAL replay is a violation. */
  private watchSigner(pv: PrivValidator): void {
    const signVote = pv.signVote.bind(pv)
    const signProposal = pv.signProposal.bind(pv)
    pv.signVote = async (chainId, vote) => {
      try {
        return await signVote(chainId, vote)
      } catch (e) {
        this.world.refused(this, e, this.restoring)
        throw e
      }
    }
    pv.signProposal = async (chainId, proposal) => {
      try {
        return await signProposal(chainId, proposal)
      } catch (e) {
        this.world.refused(this, e, this.restoring)
        throw e
      }
    }
  }

  private onEvidence(e: Evidence): void {
    const v = e.voteA
    this.reported.add(`${v.validator}/${v.height}/${v.round}/${v.type}`)
    this.world.evidence(this, e)
  }

  /** Byzantine: one side of a per-height split of the peers gets the real vote, the other a conflicting one signed behind the signer's back. */
  private equivocate(msg: Message, vote: Vote): void {
    const other = vote.blockHash === null ? sha256(`equivocation/${vote.height}/${vote.round}`) : null
    const unsigned = { ...vote, blockHash: other }
    const conflicting: Message = { kind: 'vote', vote: { ...unsigned, signature: this.key.sign(voteSignBytes(this.world.chainId, unsigned)) } }
    for (const peer of this.world.peersOf(this)) this.world.send(this, peer, this.world.splitSide(peer, vote.height) ? msg : conflicting)
  }

  /** Every gossipMs: the committed height (a liar claims a million). */
  private scheduleStatus(inc: number): void {
    this.world.clock.schedule(this.world.scenario.gossipMs, () => {
      if (!this.up || this.incarnation !== inc) return
      if (this.behaviour !== 'silent') this.world.broadcast(this, { kind: 'status', height: this.behaviour === 'liar' ? 1_000_000 : this.committedHeight })
      this.scheduleStatus(inc)
    })
  }
}

function describe(ctx: Record<string, unknown> | undefined): string {
  if (!ctx) return ''
  return JSON.stringify(ctx, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? v.message : v instanceof Uint8Array ? toHex(v) : v))
}

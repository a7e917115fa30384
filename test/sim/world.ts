import { fromHex, toHex } from '../../core/bytes.js'
import { decode, encode } from '../../core/codec.js'
import { sha256 } from '../../core/hash.js'
import { KeyPair, verifySignature } from '../../core/keys.js'
import {
  ValidatorSet,
  commitFromEncodable,
  commitToEncodable,
  verifyCommit,
  voteSignBytes,
  verifyEvidence,
  type Commit,
  type Evidence,
  type SignatureVerifier,
  type ValidatorInfo,
  type Vote,
} from '../../consensus/index.js'
import { VirtualClock } from './clock.js'
import { SimNode, type Message } from './node.js'
import { Prng } from './prng.js'
import { makeScenario, type Scenario } from './scenario.js'

/** After GST a height that starts must be decided within this many rounds (liveness). */
export const MAX_ROUNDS_AFTER_GST = 6
const EVENT_BUDGET = 3_000_000

/** A decoded toy block: `[height, round, proposer, invalid, lastCommit]`. */
export interface ToyBlock {
  readonly height: number
  readonly round: number
  readonly proposer: string
  readonly invalid: boolean
  readonly lastCommit: Commit | null
}

export interface RunResult {
  readonly seed: number
  readonly validators: number
  readonly byzantine: string[]
  readonly heights: number
  /** Round in which each height was first decided by an honest node. */
  readonly rounds: number[]
  readonly violations: string[]
  readonly gstMs: number
  readonly virtualMs: number
  readonly wallMs: number
  readonly events: number
  readonly messages: number
  readonly evidence: number
  readonly refusals: number
  /** (height, honest validator) pairs the economic invariant checked */
  readonly economicChecks: number
}

const keyPool: KeyPair[] = []
/** The key of validator (or extra node) `i`: the same in every run. */
export function simKey(i: number): KeyPair {
  while (keyPool.length <= i) keyPool.push(new KeyPair(sha256(`attrchain/sim/validator/${keyPool.length}`)))
  return keyPool[i]!
}

/** The simulated network, the shared validator-set schedule and the invariant checks. */
export class World {
  readonly chainId = 'attrchain-sim'
  readonly rng: Prng
  readonly clock = new VirtualClock()
  readonly nodes: SimNode[] = []
  readonly violations: string[] = []
  private readonly sets: ValidatorSet[] = []
  private nextSet!: ValidatorSet
  private readonly decisions = new Map<number, { hash: string; round: number }>()
  private readonly validBlocks = new Set<string>()
  private readonly registry = new Map<string, Uint8Array>()
  private readonly firstEntered = new Map<number, number>()
  private readonly verified = new Map<string, boolean>()
  private readonly byzantineAddresses = new Set<string>()
  /** first time (at or after GST) an honest validator sent each precommit, by validator/height/round/block */
  private readonly precommitSent = new Map<string, number>()
  /** who built each block and when */
  private readonly builders = new Map<string, { node: SimNode; at: number }>()
  private readonly decodedBlocks = new Map<string, ToyBlock | null>()
  messages = 0
  economicChecks = 0
  evidenceCount = 0
  refusals = 0

  constructor(readonly scenario: Scenario) {
    this.rng = new Prng(scenario.seed ^ 0x5eed)
    scenario.validators.forEach((v, i) => {
      const key = simKey(i)
      this.nodes.push(new SimNode(i, i, key, v.behaviour, this))
      if (v.behaviour !== 'honest') this.byzantineAddresses.add(key.address)
    })
    scenario.validators.forEach((v, i) => {
      if (v.behaviour === 'twin') this.nodes.push(new SimNode(this.nodes.length, i, simKey(i), 'twin', this))
    })
    // full nodes outside the set (a lying sync peer); keys after the validators'
    for (const [j, b] of (scenario.extraNodes ?? []).entries()) {
      const index = scenario.validators.length + j
      this.nodes.push(new SimNode(this.nodes.length, index, simKey(index), b, this))
    }
    this.buildSets()
  }

  /** Memoised verification: every node checks the same signatures; the answer cannot differ. */
  readonly verifier: SignatureVerifier = (pubKey, message, signature) => {
    const key = toHex(signature) + toHex(message)
    let ok = this.verified.get(key)
    if (ok === undefined) {
      ok = verifySignature(pubKey, message, signature)
      this.verified.set(key, ok)
    }
    return ok
  }

  /** validators(1) = create(genesis), next(1) = create(genesis).copyIncrement(1); changes of block H count from H + 2. */
  private buildSets(): void {
    const genesis = this.scenario.validators.flatMap((v, i) => (v.joinsAt === 1 ? [this.info(i, v.power)] : []))
    this.sets[1] = ValidatorSet.create(genesis)
    this.nextSet = ValidatorSet.create(genesis).copyIncrement(1)
  }

  private info(i: number, power: bigint): ValidatorInfo {
    return { address: simKey(i).address, pubKey: simKey(i).publicKey, power }
  }

  /** Extends the schedule on demand: nodes may run past the target height while others catch up. */
  setFor(height: number): ValidatorSet {
    while (this.sets.length <= height) {
      const h = this.sets.length - 1
      this.sets.push(this.nextSet)
      const changes = this.scenario.validators.flatMap((v, i) => (v.joinsAt === h + 2 ? [this.info(i, v.power)] : []))
      for (const c of this.scenario.powerChanges) if (c.height === h) changes.push(this.info(c.validator, c.power))
      this.nextSet = this.nextSet.withChanges(changes)
    }
    return this.sets[height]!
  }

  peersOf(node: SimNode): SimNode[] {
    return this.nodes.filter((n) => n !== node)
  }

  broadcast(from: SimNode, msg: Message): void {
    for (const peer of this.peersOf(from)) this.send(from, peer, msg)
  }

  /** Until GST: drops, partitions and long delays; after it every message arrives within the stable bound. */
  send(from: SimNode, to: SimNode, msg: Message): void {
    const s = this.scenario
    const now = this.clock.now
    const scripted = s.script?.route?.(from, to, msg, now)
    if (scripted === null) return
    if (scripted !== undefined) {
      this.messages++
      this.clock.schedule(scripted, () => to.deliver(msg, from))
      return
    }
    const unstable = now < s.gstMs
    if (unstable && (this.partitioned(from, to, now) || this.rng.chance(s.dropRate))) return
    const slow = unstable && s.slowLinks.some(([f, t]) => f === from.validatorIndex && t === to.validatorIndex)
    const maxDelay = unstable ? s.maxDelayMs * (slow ? 4 : 1) : s.stableMaxDelayMs
    const copies = this.rng.chance(s.duplicateRate) ? 2 : 1
    for (let i = 0; i < copies; i++) {
      this.messages++
      this.clock.schedule(this.rng.int(1, maxDelay), () => to.deliver(msg, from))
    }
  }

  /** A scripted message: delivered to `to` at virtual time `atMs` as if `from` sent it (no network rules apply). */
  inject(from: SimNode, to: SimNode, msg: Message, atMs: number): void {
    this.messages++
    this.clock.schedule(atMs - this.clock.now, () => to.deliver(msg, from))
  }

  /** The equivocators' split of the peers at a height: fixed for the height, so that the two sides see consistent stories. */
  splitSide(peer: SimNode, height: number): boolean {
    return ((peer.validatorIndex * 2654435761 + height * 40503 + this.scenario.seed) >>> 0) % 2 === 0
  }

  private partitioned(a: SimNode, b: SimNode, now: number): boolean {
    return this.scenario.partitions.some(
      (p) => now >= p.fromMs && now < p.untilMs && p.sideA.includes(a.validatorIndex) !== p.sideA.includes(b.validatorIndex),
    )
  }

  /** A toy block; it carries the proposer's lastCommit (the commit of height − 1 as the driver holds it). */
  makeBlock(height: number, round: number, proposer: string, invalid: boolean, lastCommit: Commit | null): Uint8Array {
    return encode([height, round, fromHex(proposer), invalid, lastCommit ? commitToEncodable(lastCommit) : null])
  }

  decodeBlock(bytes: Uint8Array): ToyBlock | null {
    const key = toHex(sha256(bytes))
    let b = this.decodedBlocks.get(key)
    if (b !== undefined) return b
    try {
      const v = decode(bytes) as unknown[]
      if (!Array.isArray(v) || v.length !== 5 || typeof v[0] !== 'number' || typeof v[1] !== 'number' || !(v[2] instanceof Uint8Array) || typeof v[3] !== 'boolean') b = null
      else b = { height: v[0], round: v[1], proposer: toHex(v[2]), invalid: v[3], lastCommit: v[4] === null ? null : commitFromEncodable(v[4] as never) }
    } catch {
      b = null
    }
    this.decodedBlocks.set(key, b)
    return b
  }

  /**
   * The honest validation rule: the block is for this height, not marked
   * invalid, and its lastCommit is a commit of the block decided at
   * height − 1 (none at height 1).
   */
  isValidBlock(bytes: Uint8Array, height: number): boolean {
    const b = this.decodeBlock(bytes)
    if (!b || b.height !== height || b.invalid) return false
    if (height === 1) return b.lastCommit === null
    const previous = this.decisions.get(height - 1)
    return b.lastCommit !== null && previous !== undefined && this.commitVerifies(b.lastCommit, height - 1, previous.hash)
  }

  /** verifyCommit with the memoised signature check (the rule is the same). */
  private commitVerifies(c: Commit, height: number, hash: string): boolean {
    if (c.height !== height || toHex(c.blockHash) !== hash) return false
    const set = this.setFor(height)
    let power = 0n
    let previous = ''
    for (const { validator, signature } of c.signatures) {
      const member = set.get(validator)
      if (validator <= previous || !member) return false
      previous = validator
      const vote = { type: 'precommit' as const, height, round: c.round, blockHash: c.blockHash, validator }
      if (!this.verifier(member.pubKey, voteSignBytes(this.chainId, vote), signature)) return false
      power += member.power
    }
    return 3n * power > 2n * set.totalPower
  }

  /** An honest node built this block (for the economic invariant: when its lastCommit was taken). */
  built(node: SimNode, hash: string): void {
    if (!this.builders.has(hash)) this.builders.set(hash, { node, at: this.clock.now })
  }

  /** An honest validator sent a vote (the first send at or after GST of each precommit is kept). */
  sentVote(node: SimNode, vote: Vote): void {
    if (!node.honest || vote.type !== 'precommit' || vote.blockHash === null || this.clock.now < this.scenario.gstMs) return
    const key = `${vote.validator}/${vote.height}/${vote.round}/${toHex(vote.blockHash)}`
    if (!this.precommitSent.has(key)) this.precommitSent.set(key, this.clock.now)
  }

  registerBlock(bytes: Uint8Array): void {
    this.registry.set(toHex(sha256(bytes)), bytes)
  }

  validated(node: SimNode, blockHash: Uint8Array): void {
    if (node.honest) this.validBlocks.add(toHex(blockHash))
  }

  entered(node: SimNode, height: number): void {
    if (node.honest && !this.firstEntered.has(height)) this.firstEntered.set(height, this.clock.now)
  }

  violation(what: string): void {
    this.violations.push(`t=${this.clock.now}ms: ${what}`)
  }

  /** Agreement, validity and commit checks, on every honest decision (by consensus or by sync). */
  decided(node: SimNode, height: number, round: number, blockHash: Uint8Array, commit: Commit, via: string): void {
    if (!node.honest) return
    const hash = toHex(blockHash)
    try {
      verifyCommit(commit, this.setFor(height), this.chainId, { height, blockHash })
    } catch (e) {
      this.violation(`node ${node.id} decided height ${height} (${via}) with a commit that does not verify: ${(e as Error).message}`)
    }
    const first = this.decisions.get(height)
    if (first && first.hash !== hash) this.violation(`agreement: node ${node.id} decided ${hash} at height ${height}, another honest node ${first.hash}`)
    if (!first) this.decisions.set(height, { hash, round })
    const bytes = this.registry.get(hash)
    if (!bytes || !this.isValidBlock(bytes, height) || (via === 'consensus' && !this.validBlocks.has(hash))) {
      this.violation(`validity: node ${node.id} decided a block at height ${height} that no honest validation accepted`)
    }
  }

  verifySyncedCommit(node: SimNode, from: SimNode, height: number, blockHash: Uint8Array, commit: Commit): boolean {
    if (this.commitVerifies(commit, height, toHex(blockHash))) return true
    if (from.honest) this.violation(`node ${node.id} was sent by honest node ${from.id} a commit that does not verify`)
    return false
  }

  evidence(node: SimNode, ev: Evidence): void {
    if (!node.honest) return
    this.evidenceCount++
    try {
      verifyEvidence(ev, this.setFor(ev.voteA.height), this.chainId)
    } catch (e) {
      this.violation(`node ${node.id} produced evidence that does not verify: ${(e as Error).message}`)
    }
    if (!this.byzantineAddresses.has(ev.voteA.validator)) this.violation(`evidence against honest validator ${ev.voteA.validator}`)
  }

  /** Evidence: an honest node fed a vote conflicting with one it counted must have reported it in that step. */
  checkEquivocation(node: SimNode, vote: Vote): void {
    const core = node.core
    if (!node.honest || !core || core.height !== vote.height) return
    const rs = core.rounds.get(vote.round)
    const counted = (vote.type === 'prevote' ? rs?.prevotes : rs?.precommits)?.get(vote.validator)
    if (!counted || sameHash(counted.blockHash, vote.blockHash)) return
    if (!node.reported.has(`${vote.validator}/${vote.height}/${vote.round}/${vote.type}`)) {
      this.violation(`evidence: node ${node.id} saw ${vote.validator} equivocate at ${vote.height}/${vote.round}/${vote.type} and reported nothing`)
    }
  }

  rejected(node: SimNode, code: string, validator: string, reason: string): void {
    if (node.honest && !this.byzantineAddresses.has(validator)) this.violation(`node ${node.id} rejected a message of honest ${validator}: ${code} ${reason}`)
  }

  /**
   * The signer refused. While a restarted driver replays its WAL it asks
   * again for what it signed before the crash (the same request is answered
   * with the same signature, an earlier one is refused): counted. Anywhere
   * else an honest node's signer must never refuse.
   */
  refused(node: SimNode, e: unknown, replaying: boolean): void {
    this.refusals++
    const code = (e as { code?: string }).code
    if (code !== 'CONSENSUS_ERROR_DOUBLE_SIGN' && code !== 'CONSENSUS_ERROR_SIGN_REGRESSION') {
      this.violation(`the signer of node ${node.id} failed: ${(e as Error).message}`)
      return
    }
    if (node.honest && !replaying) this.violation(`the signer of honest node ${node.id} refused: ${code}`)
  }

  async run(): Promise<RunResult> {
    const started = performance.now()
    const s = this.scenario
    for (const node of this.nodes) await node.start()
    await this.settle()
    s.script?.setup?.(this)
    for (const c of s.crashes) {
      const node = this.nodes[c.node]!
      this.clock.schedule(c.atMs, () => node.crash())
      this.clock.schedule(c.restartAtMs, () => node.start())
    }
    const deadline = s.gstMs + 60_000 + s.heights * 10_000
    let events = 0
    for (let e = this.clock.next(); e; e = this.clock.next()) {
      await e.run()
      await this.settle()
      if (++events > EVENT_BUDGET) {
        this.violation(`event budget of ${EVENT_BUDGET} exhausted`)
        break
      }
      if (this.done() || this.clock.now > deadline) break
    }
    this.checkLiveness()
    this.checkEconomics()
    return this.result(events, performance.now() - started)
  }

  /** Virtual time advances only when every live driver is idle: await each one's queue until none has new work. */
  private async settle(): Promise<void> {
    for (;;) {
      let idle = true
      for (const n of this.nodes) {
        const d = n.driver
        if (!d) continue
        const q = d.settled()
        await q
        if (d.settled() !== q) idle = false
      }
      if (idle) return
    }
  }

  /**
   * The economic invariant (issue 11: an honest validator that is up is
   * never counted absent, so never jailed or slashed for downtime), on
   * canonical commits: for every committed block H + 1 built by an honest
   * proposer that decided H itself and ran without a crash from entering H
   * to building H + 1, every honest validator's precommit for H's block in
   * the commit's round that was sent at or after GST, after the proposer
   * entered H, and at least the post-GST delay bound before the block was
   * built, is in the block's lastCommit. Downtime (DESIGN §5) counts exactly
   * the validators missing from lastCommit.
   */
  private checkEconomics(): void {
    const bound = this.scenario.script?.maxDelayAfterGstMs ?? this.scenario.stableMaxDelayMs
    for (const [height, d] of this.decisions) {
      const bytes = this.registry.get(d.hash)
      const block = bytes && this.decodeBlock(bytes)
      const builder = this.builders.get(d.hash)
      if (!block || !block.lastCommit || !builder || !builder.node.honest) continue
      const h = height - 1
      const entered = builder.node.enteredAt.get(h)
      if (entered === undefined || builder.node.chain.get(h)?.via !== 'consensus') continue
      if (builder.node.crashTimes.some((t) => t >= entered && t <= builder.at)) continue
      const lc = block.lastCommit
      const signers = new Set(lc.signatures.map((x) => x.validator))
      for (const v of this.setFor(h).validators) {
        if (this.byzantineAddresses.has(v.address)) continue
        const sent = this.precommitSent.get(`${v.address}/${h}/${lc.round}/${toHex(lc.blockHash)}`)
        if (sent === undefined || sent < entered || sent + bound >= builder.at) continue
        this.economicChecks++
        if (!signers.has(v.address)) {
          this.violation(`economics: honest validator ${v.address} precommitted height ${h} at t=${sent}ms but block ${height} (built by node ${builder.node.id} at t=${builder.at}ms) counts it absent`)
        }
      }
    }
  }

  private honestNodes(): SimNode[] {
    return this.nodes.filter((n) => n.honest)
  }

  private done(): boolean {
    return this.honestNodes().every((n) => n.committedHeight >= this.scenario.heights)
  }

  /** Every honest node reaches the target; heights started after GST decide within a bounded number of rounds. */
  private checkLiveness(): void {
    const behind = this.honestNodes().filter((n) => n.committedHeight < this.scenario.heights)
    if (behind.length > 0) {
      this.violation(`liveness: honest nodes ${behind.map((n) => `${n.id}@${n.committedHeight}`).join(', ')} did not reach height ${this.scenario.heights}`)
    }
    for (const [height, d] of this.decisions) {
      const entered = this.firstEntered.get(height)
      if (entered !== undefined && entered >= this.scenario.gstMs && d.round > MAX_ROUNDS_AFTER_GST) {
        this.violation(`liveness: height ${height}, started after GST, took ${d.round + 1} rounds`)
      }
    }
  }

  private result(events: number, wallMs: number): RunResult {
    const s = this.scenario
    const rounds: number[] = []
    for (let h = 1; h <= s.heights; h++) {
      const d = this.decisions.get(h)
      if (d) rounds.push(d.round)
    }
    return {
      seed: s.seed,
      validators: s.validators.length,
      byzantine: s.validators.flatMap((v) => (v.behaviour === 'honest' ? [] : [v.behaviour])),
      heights: Math.min(...this.honestNodes().map((n) => n.committedHeight)),
      rounds,
      violations: this.violations,
      gstMs: s.gstMs,
      virtualMs: this.clock.now,
      wallMs: Math.round(wallMs),
      events,
      messages: this.messages,
      evidence: this.evidenceCount,
      refusals: this.refusals,
      economicChecks: this.economicChecks,
    }
  }
}

function sameHash(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : toHex(a) === toHex(b)
}

export async function runSeed(seed: number, heights: number): Promise<RunResult> {
  return new World(makeScenario(seed, heights)).run()
}

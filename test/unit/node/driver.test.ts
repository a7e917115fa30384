import t from 'tap'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import { KeyPair } from '../../../core/keys.js'
import { MemoryWalStore, PrivValidator, ValidatorSet, defaultTimeoutOptions, proposalSignBytes, voteSignBytes, type Commit } from '../../../consensus/index.js'
import { ConsensusDriver, type DriverBlock, type DriverChain, type DriverClock, type DriverWal } from '../../../node/driver.js'
import type { WalRecord } from '../../../node/consensusWal.js'
import { silentLogger } from '../../../node/logger.js'

/**
 * The production driver over a toy chain (blocks are their height's bytes)
 * and a manual clock: a lone validator commits by itself; a block that
 * cannot be committed halts consensus loudly; nothing starts before
 * genesis time (issue 11).
 */
const key = new KeyPair(sha256('attrchain/test/driver/validator'))
const set = ValidatorSet.create([{ address: key.address, pubKey: key.publicKey, power: 10n }])

class ManualClock implements DriverClock {
  nowMs = 1_000_000
  private timers: { at: number; fn: () => void; id: number }[] = []
  private next = 0
  now(): number { return this.nowMs }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++
    this.timers.push({ at: this.nowMs + ms, fn, id })
    return id
  }
  clearTimeout(h: unknown): void { this.timers = this.timers.filter((x) => x.id !== h) }
  /** run every timer due within `ms`, in time order */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const end = this.nowMs + ms
    for (;;) {
      await settle()
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id)
      const due = this.timers[0]
      if (!due || due.at > end) break
      this.timers.shift()
      this.nowMs = Math.max(this.nowMs, due.at)
      due.fn()
    }
    this.nowMs = end
    await settle()
  }
}

/** A toy chain of empty blocks; `onPropose` sees each propose call first (and may move the clock: a slow build). */
function toyChain(opts: { genesisTimeMs: number; failCommitAt?: number; onPropose?: (args: Parameters<DriverChain['propose']>[0]) => void }): DriverChain & { height: number; commits: Commit[] } {
  const block = (h: number): DriverBlock => {
    const bytes = new TextEncoder().encode(`block ${h}`)
    return { hash: toHex(sha256(bytes)), bytes, txCount: 0, evidence: [] }
  }
  const chain = {
    chainId: 'attrchain-driver-test', genesisTimeMs: opts.genesisTimeMs, height: 0, commits: [] as Commit[],
    headHeight: () => chain.height,
    headCommit: async () => chain.commits.at(-1) ?? null,
    validatorSet: () => set,
    knownValidatorSet: () => set,
    pendingTxs: () => 0,
    propose: (args: Parameters<DriverChain['propose']>[0]) => {
      opts.onPropose?.(args)
      return block(args.height)
    },
    validate: async () => block(chain.height + 1),
    commit: async (_b: DriverBlock, c: Commit) => {
      if (c.height === opts.failCommitAt) throw new Error('disk full')
      chain.height = c.height
      chain.commits.push(c)
    },
  }
  return chain
}

async function driverOver(chain: DriverChain, clock: ManualClock, halts: string[] = []) {
  const pv = await PrivValidator.open(key, new MemoryWalStore())
  const d = new ConsensusDriver(
    { blockTimeMs: 100, emptyBlocks: true, emptyBlockIntervalMs: 1000, timeouts: defaultTimeoutOptions, maxBufferedHeights: 2, rebroadcastMs: 1000 },
    { chain, privValidator: pv, network: null, logger: silentLogger, onCommit: () => {}, clock, wal: null, onHalt: (_h, reason) => halts.push(reason) },
  )
  return d
}

t.test('a lone validator commits every block by itself; a commit that fails halts consensus and says so', async (t) => {
  const clock = new ManualClock()
  const chain = toyChain({ genesisTimeMs: 0, failCommitAt: 4 })
  const halts: string[] = []
  const d = await driverOver(chain, clock, halts)
  await d.start()
  await clock.advance(5_000, () => d.settled())
  t.equal(chain.height, 3, 'heights 1..3 committed, 4 could not be')
  t.same(d.halted, { height: 4, reason: 'disk full' }, 'the driver reports the halt')
  t.same(halts, ['disk full'], 'onHalt called once')
  await clock.advance(10_000, () => d.settled())
  t.equal(chain.height, 3, 'and stays halted: no later height is started')
  await d.stop()
})

t.test('no consensus before genesis time', async (t) => {
  const clock = new ManualClock()
  const chain = toyChain({ genesisTimeMs: clock.nowMs + 10_000 })
  const d = await driverOver(chain, clock)
  await d.start()
  await clock.advance(9_000, () => d.settled())
  t.equal(chain.height, 0, 'nothing committed before genesis time')
  await clock.advance(3_000, () => d.settled())
  t.ok(chain.height >= 1, `committed once genesis time passed (height ${chain.height})`)
  await d.stop()
})

t.test('blockTimeMs is the target interval between heights: the commit pause is what is left of it, and at least half of it', async (t) => {
  // blockTimeMs 100 (driverOver). Each proposal's build takes `buildMs` of the clock.
  for (const [buildMs, interval] of [[0, 100], [20, 100], [50, 100], [80, 130], [300, 350]] as const) {
    const clock = new ManualClock()
    const starts: number[] = []
    const chain = toyChain({ genesisTimeMs: 0, onPropose: () => {
      starts.push(clock.nowMs)
      clock.nowMs += buildMs
    } })
    const d = await driverOver(chain, clock)
    await d.start()
    await clock.advance(5 * interval + 10, () => d.settled())
    await d.stop()
    const gaps = starts.slice(1).map((s, i) => s - starts[i])
    t.ok(gaps.length >= 3, `build ${buildMs} ms: several heights (${gaps.length + 1})`)
    t.same(new Set(gaps), new Set([interval]), `build ${buildMs} ms: a height every ${interval} ms (${gaps.join(', ')})`)
  }
})

t.test('a proposer whose commit of the last block ended after the height\'s common start tells the chain how late it is (lateMs)', async (t) => {
  // blockTimeMs 100: heights start 100 ms after the last one started (toy blocks have no header time). A commit that
  // takes 300 ms ends 200 ms after that start: the next proposal is built 200 ms into the validators' propose timeout.
  for (const [commitMs, late] of [[0, 0], [30, 0], [300, 200]] as const) {
    const clock = new ManualClock()
    const lateness: number[] = []
    const chain = toyChain({ genesisTimeMs: 0, onPropose: (args) => lateness.push(args.lateMs) })
    const commit = chain.commit
    chain.commit = async (b, c) => {
      clock.nowMs += commitMs
      return commit(b, c)
    }
    const d = await driverOver(chain, clock)
    await d.start()
    await clock.advance(2_000, () => d.settled())
    await d.stop()
    t.ok(lateness.length >= 3, `commit ${commitMs} ms: several proposals (${lateness.length})`)
    t.equal(lateness[0], 0, `commit ${commitMs} ms: the first height has no previous start to be late for`)
    t.same(new Set(lateness.slice(1)), new Set([late]), `commit ${commitMs} ms: every later proposal ${late} ms late (${lateness.join(', ')})`)
  }
})

/**
 * A driver for one of four validators that is not height 1's round-0
 * proposer, over the toy chain; `precommit` and `propose` hand it the other
 * validators' signed messages for block 1.
 */
async function fourValidators(blockTimeMs: number, proposeMs = defaultTimeoutOptions.proposeMs) {
  const keys = [0, 1, 2, 3].map((i) => new KeyPair(sha256(`attrchain/test/driver/set4/${i}`)))
  const set4 = ValidatorSet.create(keys.map((k) => ({ address: k.address, pubKey: k.publicKey, power: 10n })))
  const proposerKey = keys.find((k) => k.address === set4.proposer.address)!
  const self = keys.find((k) => k !== proposerKey)!
  const clock = new ManualClock()
  const chain = toyChain({ genesisTimeMs: 0 })
  chain.validatorSet = () => set4
  chain.knownValidatorSet = () => set4
  const pv = await PrivValidator.open(self, new MemoryWalStore())
  const d = new ConsensusDriver(
    { blockTimeMs, emptyBlocks: true, emptyBlockIntervalMs: 1000, timeouts: { ...defaultTimeoutOptions, proposeMs }, maxBufferedHeights: 2, rebroadcastMs: 1000 },
    { chain, privValidator: pv, network: null, logger: silentLogger, onCommit: () => {}, clock, wal: null },
  )
  const bytes = new TextEncoder().encode('block 1')
  const blockHash = sha256(bytes)
  /** +2/3 precommits for block 1 in round 0, from the three other validators */
  const precommit = (): void => {
    for (const k of keys.filter((k) => k !== self)) {
      const vote = { type: 'precommit' as const, height: 1, round: 0, blockHash, validator: k.address }
      d.onVote({ ...vote, signature: k.sign(voteSignBytes(chain.chainId, vote)) })
    }
  }
  /** the round-0 proposal of block 1, with its bytes */
  const propose = (): void => {
    const proposal = { height: 1, round: 0, validRound: -1, blockHash, proposer: proposerKey.address }
    d.onProposal({ ...proposal, signature: proposerKey.sign(proposalSignBytes(chain.chainId, proposal)) }, bytes)
  }
  return { d, clock, chain, precommit, propose }
}

t.test('precommits for a block that arrive before its proposal: the block is validated when it comes, and the height decided (not left to block sync)', async (t) => {
  // Under the 4-validator flood a validator pulling a proposal's missing txs got +2/3 precommits first; consensus
  // asked for the block's validation then, the driver had no bytes yet and dropped the request, and the core does
  // not ask twice: the node sat in later rounds until block sync brought the height 2-3 s later.
  const { d, clock, chain, precommit, propose } = await fourValidators(100)
  await d.start()
  await clock.advance(10, () => d.settled())
  precommit()
  await clock.advance(10, () => d.settled())
  t.equal(chain.height, 0, 'nothing decided without the block')
  propose()
  await clock.advance(10, () => d.settled())
  t.equal(chain.height, 1, 'height 1 decided once its block arrived')
  t.equal(chain.commits[0]?.round, 0, 'in round 0, with the precommits that came first')
  await d.stop()
})

t.test('a validator that decides late starts the next height with its peers: the pause runs from the header time and the precommit quorum, not from its own decision', async (t) => {
  // Anchored on its own height start and decision, a validator that validated late started every later height late
  // by as much; when it then proposed, its proposal reached the others after their propose timeout (a round lost).
  const { d, clock, chain, precommit, propose } = await fourValidators(1000, 3000)
  await d.start()
  await clock.advance(0, () => d.settled())
  const startedAt = clock.nowMs
  const validate = chain.validate
  chain.validate = async (bytes, nowMs) => ({ ...(await validate(bytes, nowMs)), timeMs: startedAt })
  await clock.advance(10, () => d.settled())
  precommit()
  await clock.advance(890, () => d.settled())
  propose()
  await clock.advance(1, () => d.settled())
  t.equal(chain.height, 1, 'height 1 decided 900 ms into it, on the late proposal')
  t.equal(d.height, 1, 'height 2 not started yet')
  await clock.advance(startedAt + 1010 - clock.nowMs, () => d.settled())
  t.equal(d.height, 2, 'height 2 started 1,000 ms after the header time (decision + half a block time would be 1,400 ms)')
  await d.stop()
})

/** A WAL in memory that also keeps every record it was given (`all`), across resets. */
class RecordingWal implements DriverWal {
  current: WalRecord[] = []
  all: WalRecord[] = []
  read(height: number): WalRecord[] { return this.current.filter((r) => r.height === height) }
  append(r: WalRecord): void {
    this.current.push(r)
    this.all.push(r)
  }
  sync(): void {}
  reset(): void { this.current = [] }
}

t.test('the consensus WAL holds a block\'s bytes once per height, and a restart still finds the proposer\'s own block', async (t) => {
  const clock = new ManualClock()
  const chain = toyChain({ genesisTimeMs: 0, failCommitAt: 3 })
  const wal = new RecordingWal()
  const driver = async (): Promise<ConsensusDriver> => new ConsensusDriver(
    { blockTimeMs: 100, emptyBlocks: true, emptyBlockIntervalMs: 1000, timeouts: defaultTimeoutOptions, maxBufferedHeights: 2, rebroadcastMs: 1000 },
    { chain, privValidator: await PrivValidator.open(key, new MemoryWalStore()), network: null, logger: silentLogger, onCommit: () => {}, clock, wal, onHalt: () => {} },
  )
  const d = await driver()
  await d.start()
  await clock.advance(5_000, () => d.settled())
  t.same(d.halted?.height, 3, 'heights 1 and 2 committed; 3 decided, its commit failed')
  for (const h of [1, 2, 3]) {
    const records = wal.all.filter((r) => r.height === h)
    const withBytes = records.filter((r) => r.blockBytes !== null)
    t.equal(withBytes.length, 1, `height ${h}: the block's bytes logged once`)
    t.equal(withBytes[0].input.kind, 'proposalValue', `height ${h}: with the proposer's own proposalValue, the first record naming the block`)
    t.ok(records.some((r) => r.input.kind === 'proposal' && r.blockBytes === null), `height ${h}: its signed proposal of the same block logged without them`)
  }
  await d.stop()
  // a restart replays height 3's records: the own proposal comes back with the block's bytes from the earlier record
  const again = await driver()
  await again.start()
  await clock.advance(10, () => again.settled())
  const own = (again as unknown as { own: { proposal: { bytes: Uint8Array } | null } }).own
  t.same(own.proposal?.bytes, new TextEncoder().encode('block 3'), 'the proposer\'s own block is back for re-broadcast')
  await again.stop()
})

import t from 'tap'
import { CHILD_ENV } from '../helpers/childEnv.js'
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesEqual, toHex } from '../../core/bytes.js'
import { decodeSignedTx } from '../../core/tx.js'
import { genesisHash } from '../../genesis/genesis.js'
import { MemoryStateStore, StateQueries, executeBlock, genesisState } from '../../state/index.js'
import { ChainDb } from '../../node/db/index.js'
import { testGenesis, blockInput } from './fixtures/dbWriter.js'

/**
 * DESIGN §6: "A node killed at any instant reopens at its last committed
 * block, consistent." A child commits blocks through ChainDb as fast as it
 * can and prints each committed height and state root; it is SIGKILLed at
 * seeded moments, and after each kill the data dir must reopen at what the
 * child reported (or one block later: the batch may land before the print),
 * with every block up to the head stored, none beyond, and a state that a
 * replay of the stored blocks from genesis reproduces exactly.
 */
const fixture = fileURLToPath(new URL('./fixtures/dbWriter.ts', import.meta.url))
const genesis = testGenesis()
const ident = { genesisHash: genesisHash(genesis), chainId: genesis.chainId }
const config = { chainId: genesis.chainId, params: genesis.params }
const SEED = 0x5eed_0b10
const KILLS = 6

/** mulberry32: the kill delays are reproducible from SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

interface ChildRun {
  ready: number
  /** height → state root, as printed after each commit resolved */
  committed: Map<number, string>
  last: number
  exitCode: number | null
  signal: NodeJS.Signals | null
}

/** Run the writer; `killAfterMs` after its first commit it is SIGKILLed (null: let it finish `max` blocks). */
function runWriter(dir: string, killAfterMs: number | null, max?: number): Promise<ChildRun> {
  const args = ['--import', 'tsx', fixture, 'write', dir, ...(max === undefined ? [] : [String(max)])]
  const proc = spawn(process.execPath, args, { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'inherit'] })
  const run: ChildRun = { ready: -1, committed: new Map(), last: -1, exitCode: null, signal: null }
  let buf = ''
  let armed = false
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    const lines = buf.split('\n')
    buf = lines.pop()!
    for (const line of lines) {
      const [what, height, root] = line.split(' ')
      if (what === 'ready') run.ready = Number(height)
      if (what !== 'committed') continue
      run.committed.set(Number(height), root)
      run.last = Number(height)
      if (killAfterMs !== null && !armed) {
        armed = true
        setTimeout(() => proc.kill('SIGKILL'), killAfterMs)
      }
    }
  })
  return new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ ...run, exitCode: code, signal }))
  })
}

/** Re-executes the stored chain from genesis, a few blocks further each round. */
class Replayer {
  readonly store = new MemoryStateStore()
  readonly q = new StateQueries(this.store, config)
  root: Uint8Array
  height = 0

  constructor() {
    const g = genesisState(this.store, genesis)
    this.store.apply(g.writes)
    this.root = g.stateRoot
  }

  async replayTo(t: Test, db: ChainDb, head: number): Promise<void> {
    const blocks = await db.getBlocks(this.height + 1, head)
    t.same(blocks.map((b) => b.height), range(this.height + 1, head), `blocks ${this.height + 1}..${head} all stored`)
    for (const stored of blocks) {
      const block = (await db.getBlock(stored.height))!
      const txs = block.txs.map((b) => decodeSignedTx(b, undefined, { verify: false }))
      const input = blockInput(this.q, stored.height, block.header.timeMs, txs)
      const out = executeBlock(this.store, config, this.root, input)
      this.store.apply(out.writes)
      this.root = out.stateRoot
      if (toHex(out.stateRoot) !== block.header.stateRoot) t.fail(`replayed root of block ${stored.height} differs from its header`)
    }
    this.height = head
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

function sameState(t: Test, actual: MemoryStateStore, expected: MemoryStateStore): void {
  let mismatches = actual.size === expected.size ? 0 : 1
  for (const [k, v] of expected.entries()) {
    const got = actual.get(k)
    if (got === undefined || !bytesEqual(got, v)) mismatches++
  }
  t.equal(mismatches, 0, 'memory state equals the replay of the stored blocks, key by key')
}

t.test('kill -9 during commits: reopen at a reported height, consistent, and resume', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'attrchain-crash-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dir = join(root, 'data')
  const rand = prng(SEED)
  const reported = new Map<number, string>()
  const replay = new Replayer()
  let head = 0

  for (let round = 1; round <= KILLS + 1; round++) {
    const final = round > KILLS
    const delay = Math.floor(rand() * 400)
    const run = await runWriter(dir, final ? null : delay, final ? 5 : undefined)
    await t.test(final ? 'a last clean run' : `kill ${round} at +${delay} ms`, async (t) => {
      if (final) t.equal(run.exitCode, 0, 'the writer finishes and exits cleanly')
      else t.equal(run.signal, 'SIGKILL', 'the writer was killed, it did not stop on its own')
      t.equal(run.ready, head, 'the writer reopened at the head the previous check saw')
      t.ok(run.committed.size > 0, 'it committed blocks')
      t.equal(Math.min(...run.committed.keys()), head + 1, 'it resumed at head + 1')
      for (const [h, r] of run.committed) reported.set(h, r)

      const db = await ChainDb.open({ dir, ...ident })
      try {
        const h = db.head()!
        t.ok(h.height === run.last || h.height === run.last + 1, `head ${h.height} is the last reported ${run.last} or the next`)
        if (reported.has(h.height)) t.equal(h.stateRoot, reported.get(h.height), 'head root is the reported root')
        for (const [height, r] of run.committed) {
          if ((await db.getBlock(height))?.header.stateRoot !== r) t.fail(`stored root of ${height} differs from the reported one`)
        }
        t.equal(await db.getBlock(h.height + 1), null, 'no block beyond head')
        t.same(await db.getBlocks(h.height + 1, h.height + 1000), [], 'nothing stored beyond head')
        await replay.replayTo(t, db, h.height)
        t.equal(toHex(replay.root), h.stateRoot, 'replayed root equals the head root')
        sameState(t, db.state, replay.store)
        head = h.height
      } finally {
        await db.close()
      }
    })
  }
  t.ok(head > KILLS, `the chain advanced across the kills (head ${head})`)
})

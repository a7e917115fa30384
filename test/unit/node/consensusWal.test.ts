import t from 'tap'
import type { Test } from 'tap'
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConsensusWal, type WalRecord } from '../../../node/consensusWal.js'
import { FileWalStore } from '../../../node/home.js'
import type { LastSigned } from '../../../consensus/index.js'

/**
 * node/consensusWal.ts and the PrivValidator's FileWalStore (node/home.ts)
 * on a real file: what is appended comes back in order for its height, a
 * new height empties the log, a torn last record is dropped.
 */

const VALIDATOR = '0x' + '33'.repeat(20)
const hash = (b: number) => new Uint8Array(32).fill(b)

function vote(height: number, round: number, b: number): WalRecord {
  return { height, input: { kind: 'vote', vote: { type: 'prevote', height, round, blockHash: hash(b), validator: VALIDATOR, signature: new Uint8Array(64).fill(b) } }, blockBytes: null }
}

function proposal(height: number, blockBytes: Uint8Array): WalRecord {
  return { height, input: { kind: 'proposal', proposal: { height, round: 0, validRound: -1, blockHash: hash(9), proposer: VALIDATOR, signature: new Uint8Array(64).fill(9) } }, blockBytes }
}

function dir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'attrchain-wal-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

t.test('records of a height come back in order, a large block included; a new height empties the log', async (t) => {
  const path = join(dir(t), 'data', 'consensus.wal')
  const wal = new ConsensusWal(path)
  t.teardown(() => wal.close())
  const block = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251)
  const records = [vote(5, 0, 1), proposal(5, block), vote(5, 1, 2), { height: 5, input: { kind: 'timeout', height: 5, round: 1, step: 'prevote' }, blockBytes: null } satisfies WalRecord]
  for (const r of records) wal.append(r)
  wal.sync()
  wal.sync()
  const back = wal.read(5)
  t.same(back.map((r) => r.input.kind), ['vote', 'proposal', 'vote', 'timeout'], 'in order')
  t.ok(Buffer.from(back[1].blockBytes!).equals(Buffer.from(block)), 'the proposal\'s 3 MiB block intact')
  t.same(back[2], records[2], 'a vote as appended')
  t.same(wal.read(6), [], 'nothing for another height')
  wal.reset()
  t.equal(statSync(path).size, 0, 'reset empties the file')
  wal.append(vote(6, 0, 3))
  wal.sync()
  t.same(wal.read(5), [], 'the old height is gone')
  t.same(wal.read(6), [vote(6, 0, 3)])
  const reopened = new ConsensusWal(path)
  t.same(reopened.read(6), [vote(6, 0, 3)], 'a restarted node reads the same')
  reopened.close()
})

t.test('a torn last record (a crash mid-write) is dropped, the records before it kept', async (t) => {
  const path = join(dir(t), 'consensus.wal')
  const wal = new ConsensusWal(path)
  wal.append(vote(7, 0, 1))
  wal.append(proposal(7, new Uint8Array(1000).fill(4)))
  wal.sync()
  wal.close()
  const whole = readFileSync(path)
  rmSync(path)
  appendFileSync(path, whole.subarray(0, whole.length - 10))
  const torn = new ConsensusWal(path)
  t.same(torn.read(7).map((r) => r.input.kind), ['vote'], 'only the whole record')
  // the restarted validator logs more of the same height, then crashes again: nothing it logged is lost
  torn.append(vote(7, 1, 2))
  torn.append(vote(7, 2, 3))
  torn.sync()
  torn.close()
  const again = new ConsensusWal(path)
  t.same(again.read(7), [vote(7, 0, 1), vote(7, 1, 2), vote(7, 2, 3)], 'records appended after the restart are read after the next one (the torn bytes were cut at open)')
  again.close()
})

t.test('FileWalStore: the last-signed state round-trips through an fsynced file', async (t) => {
  const path = join(dir(t), 'data', 'priv_validator_state.bin')
  const store = new FileWalStore(path)
  t.equal(await store.load(), null, 'nothing signed yet')
  const states: LastSigned[] = [1, 2].map((h) => ({ height: h, round: 0, step: 2, signBytes: hash(h), signature: new Uint8Array(64).fill(h) }))
  for (const s of states) await store.save(s)
  t.same(await store.load(), states[1], 'the latest save')
  t.same(await new FileWalStore(path).load(), states[1], 'read back by a new store (a restart)')
  t.notOk(existsSync(`${path}.tmp`), 'no temp file left')
})

import t from 'tap'
import { sha256 } from '../../../core/hash.js'
import { toHex, fromHex } from '../../../core/bytes.js'
import { CheckpointKey, recoverEthAddress } from '../../../core/checkpointKey.js'
import {
  checkpointDigest, checkpointSetHash, readCheckpoint, readCheckpointSet, readCheckpointKey, type CheckpointRecord,
} from '../../../state/checkpoint.js'
import { devValidatorKey } from '../../../genesis/devnet.js'
import { CheckpointChain, TestChain } from '../../helpers/chain.js'

const INTERVAL = 5
const ckKey = (i: number) => CheckpointKey.derivedFrom(devValidatorKey(i).seed)

function sign(c: TestChain, cp: CheckpointRecord, key: CheckpointKey): string {
  return toHex(key.signDigest(checkpointDigest({ chainId: c.chain.chainId, height: cp.height, blockHash: cp.blockHash, stateRoot: cp.stateRoot, validatorSetHash: cp.validatorSetHash })))
}

t.test('a checkpoint every interval, signed by its signer set, with the set hash of the next set', async (t) => {
  const c = new CheckpointChain({ validators: 4, params: { checkpointInterval: INTERVAL } })
  const set0 = readCheckpointSet(c.store)
  t.equal(set0.members.length, 4, 'the genesis checkpoint set holds the 4 declared keys')
  t.same(set0.members.map((m) => m.ethAddress), [...set0.members.map((m) => m.ethAddress)].sort(), 'by ascending Ethereum address')
  t.equal(readCheckpointKey(c.store, devValidatorKey(2).address), ckKey(2).address, 'genesis checkpointAddress is stored')
  c.until(INTERVAL)
  t.equal(readCheckpoint(c.store), undefined, 'nothing before block interval + 1')
  const rootAtH = toHex(c.root)
  c.block([])
  const cp = readCheckpoint(c.store)!
  t.equal(cp.height, INTERVAL)
  t.equal(cp.stateRoot, rootAtH, 'stateRoot = the root after block H')
  t.equal(cp.blockHash, toHex(sha256(`block/${INTERVAL}`)), 'blockHash = the hash of block H')
  t.equal(cp.validatorSetHash, checkpointSetHash(cp.next), 'validatorSetHash names the next set')
  t.same(cp.signers, set0.members, 'signed by the set in force')

  const before = c.snapshot()
  const bad = (i: number, call: Parameters<TestChain['tx']>[1], code: string, what: string) => {
    const r = c.run(i < 0 ? c.account(0) : c.validator(i), call)
    t.equal(r.status, 'failed', what)
    t.equal(r.error?.code, code, what)
  }
  bad(-1, { type: 'signCheckpoint', height: INTERVAL, signature: sign(c, cp, ckKey(0)) }, 'TX_ERROR_NOT_CHECKPOINT_SIGNER', 'a non-validator cannot sign')
  bad(1, { type: 'signCheckpoint', height: INTERVAL + 1, signature: sign(c, cp, ckKey(1)) }, 'TX_ERROR_UNKNOWN_CHECKPOINT', 'no checkpoint at that height')
  bad(1, { type: 'signCheckpoint', height: INTERVAL, signature: sign(c, cp, ckKey(2)) }, 'TX_ERROR_BAD_CHECKPOINT_SIGNATURE', "another validator's key")
  bad(1, { type: 'signCheckpoint', height: INTERVAL, signature: sign(c, { ...cp, blockHash: toHex(sha256('fork')) }, ckKey(1)) }, 'TX_ERROR_BAD_CHECKPOINT_SIGNATURE', 'a signature of a forked block')
  const good = fromHex(sign(c, cp, ckKey(1)))
  const highS = new Uint8Array(good)
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
  highS.set(fromHex('0x' + (n - BigInt(toHex(good.subarray(32, 64)))).toString(16).padStart(64, '0')), 32)
  highS[64] = good[64] === 27 ? 28 : 27
  const digest = checkpointDigest({ chainId: c.chain.chainId, ...cp })
  t.equal(recoverEthAddress(digest, highS), null, 'the high-s twin is refused by recovery')
  bad(1, { type: 'signCheckpoint', height: INTERVAL, signature: toHex(highS) }, 'TX_ERROR_BAD_CHECKPOINT_SIGNATURE', 'the malleable high-s twin')
  t.equal(readCheckpoint(c.store, INTERVAL)!.signatures.length, 0, 'failed signatures changed nothing')
  t.not(before.size, 0)

  for (const i of [3, 1]) t.equal(c.run(c.validator(i), { type: 'signCheckpoint', height: INTERVAL, signature: sign(c, cp, ckKey(i)) }).status, 'ok', `validator ${i} signs`)
  bad(1, { type: 'signCheckpoint', height: INTERVAL, signature: sign(c, cp, ckKey(1)) }, 'TX_ERROR_ALREADY_SIGNED', 'twice')
  const signed = readCheckpoint(c.store, INTERVAL)!
  t.same(signed.signatures.map((s) => s.index), [...signed.signatures.map((s) => s.index)].sort((a, b) => a - b), 'signatures by signer index')
  t.equal(signed.signedPower, signed.signers[0].power * 2n, 'two equal powers signed')
  for (const s of signed.signatures) t.equal(recoverEthAddress(digest, fromHex(s.signature)), signed.signers[s.index].ethAddress, 'each stored signature recovers to its signer')
})

t.test('setCheckpointKey: validators only, one validator per address, effective in the next checkpoint set', async (t) => {
  const c = new CheckpointChain({ validators: 4, params: { checkpointInterval: INTERVAL } })
  const fresh = CheckpointKey.derivedFrom(sha256('fresh'))
  let r = c.run(c.account(0), { type: 'setCheckpointKey', ethAddress: fresh.address })
  t.equal(r.error?.code, 'TX_ERROR_UNKNOWN_VALIDATOR', 'an account that is not a validator')
  r = c.run(c.validator(0), { type: 'setCheckpointKey', ethAddress: ckKey(1).address })
  t.equal(r.error?.code, 'TX_ERROR_CHECKPOINT_KEY_TAKEN', "another validator's address")
  r = c.run(c.validator(0), { type: 'setCheckpointKey', ethAddress: '0x' + '00'.repeat(20) })
  t.equal(r.error?.code, 'TX_ERROR_BAD_CHECKPOINT_KEY', 'the zero address')
  r = c.run(c.validator(3), { type: 'setCheckpointKey', ethAddress: fresh.address })
  t.equal(r.status, 'ok', 'a validator rotates its key')
  t.equal(readCheckpointKey(c.store, devValidatorKey(3).address), fresh.address)
  t.equal(c.run(c.validator(0), { type: 'setCheckpointKey', ethAddress: ckKey(3).address }).status, 'ok', 'the released address may be taken')

  c.until(INTERVAL + 1)
  const cp = readCheckpoint(c.store, INTERVAL)!
  t.ok(cp.signers.some((m) => m.ethAddress === ckKey(3).address && m.validator === devValidatorKey(3).address), 'the checkpoint is still signed with the old key')
  t.ok(cp.next.some((m) => m.ethAddress === fresh.address && m.validator === devValidatorKey(3).address), 'its next set holds the new key')
  t.not(cp.validatorSetHash, checkpointSetHash(cp.signers), 'so its validatorSetHash differs: a set update for the L1')
  r = c.run(c.validator(3), { type: 'signCheckpoint', height: INTERVAL, signature: sign(c, cp, fresh) })
  t.equal(r.error?.code, 'TX_ERROR_BAD_CHECKPOINT_SIGNATURE', 'the new key cannot sign before it takes effect')
  t.equal(c.run(c.validator(3), { type: 'signCheckpoint', height: INTERVAL, signature: sign(c, cp, ckKey(3)) }).status, 'ok', 'the old key signs it')

  c.until(2 * INTERVAL + 1)
  const cp2 = readCheckpoint(c.store)!
  t.equal(cp2.height, 2 * INTERVAL)
  t.same(cp2.signers, cp.next, "the next checkpoint is signed by the previous one's next set")
  t.equal(cp2.validatorSetHash, cp.validatorSetHash, 'no change since: same set hash')
  t.equal(c.run(c.validator(3), { type: 'signCheckpoint', height: 2 * INTERVAL, signature: sign(c, cp2, fresh) }).status, 'ok', 'the new key signs the next checkpoint')
})

t.test('interval 0: no checkpoint, no checkpoint set', async (t) => {
  const c = new CheckpointChain({ validators: 2, params: { checkpointInterval: 0 } })
  c.until(12)
  t.equal(readCheckpoint(c.store), undefined)
  t.same(readCheckpointSet(c.store).members, [])
})

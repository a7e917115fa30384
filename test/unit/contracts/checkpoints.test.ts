import t from 'tap'
import type { Test } from 'tap'
import { createPublicClient, createWalletClient, defineChain, http, type Hex as EvmHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { sha256 } from '../../../core/hash.js'
import { toHex, fromHex } from '../../../core/bytes.js'
import { CheckpointKey } from '../../../core/checkpointKey.js'
import { checkpointDigest, checkpointSetHash, type CheckpointSigner } from '../../../state/checkpoint.js'
import { checkpointsAbi, checkpointsBytecode } from '../../../contracts/AttrchainCheckpoints.artifact.js'
import { CheckpointRelay, RollupError, DEV_L1_KEY } from '../../../node/rollupRelay.js'
import { startAnvil } from '../../helpers/anvil.js'

/**
 * The L1 contract alone, on anvil, with checkpoints signed here: the
 * acceptance rule (> 2/3 of the power, sorted unique signers, low s), the
 * refusals (too little power, replay, conflicting and forked checkpoints,
 * a set that does not match its hash), the set update and the gas of each
 * (printed; README "Rollup checkpoints").
 */

const CHAIN_ID = 'attrchain-l1-test'
const POWER = 100n * 10n ** 18n

interface Member { key: CheckpointKey; power: bigint }
const setOf = (tags: string[], power = POWER): Member[] =>
  tags.map((tag) => ({ key: CheckpointKey.derivedFrom(sha256(`l1-test/${tag}`)), power })).sort((a, b) => (a.key.address < b.key.address ? -1 : 1))
const signersOf = (set: Member[]): CheckpointSigner[] => set.map((m) => ({ validator: m.key.address, ethAddress: m.key.address, power: m.power }))

interface Cp { height: number; blockHash: string; stateRoot: string; validatorSetHash: string }
const cpAt = (height: number, next: Member[], fork = ''): Cp => ({
  height, blockHash: toHex(sha256(`block/${height}${fork}`)), stateRoot: toHex(sha256(`root/${height}`)), validatorSetHash: checkpointSetHash(signersOf(next)),
})
/** signatures of `cp` by the members at `indexes` of `set` */
const sign = (cp: Cp, set: Member[], indexes: number[]) =>
  indexes.map((index) => ({ index, signature: toHex(set[index].key.signDigest(checkpointDigest({ chainId: CHAIN_ID, ...cp }))) }))

t.test('the checkpoint contract on anvil', async (t) => {
  const anvil = await startAnvil()
  t.teardown(() => anvil.stop())
  const pub = createPublicClient({ transport: http(anvil.url) })
  const chain = defineChain({ id: await pub.getChainId(), name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } })
  const wallet = createWalletClient({ chain, account: privateKeyToAccount(DEV_L1_KEY as EvmHex), transport: http(anvil.url) })

  const set1 = setOf(['a', 'b', 'c', 'd'])
  const hash = await wallet.deployContract({
    abi: checkpointsAbi, bytecode: checkpointsBytecode,
    args: [CHAIN_ID, set1.map((m) => m.key.address as EvmHex), set1.map((m) => m.power), 0n],
  })
  const deployed = await pub.waitForTransactionReceipt({ hash })
  const relay = await CheckpointRelay.open({ l1: anvil.url, key: DEV_L1_KEY, rpc: 'http://127.0.0.1:1', contract: deployed.contractAddress! })
  const gas: Record<string, bigint> = { deploy: deployed.gasUsed }
  const refused = async (t: Test, what: string, reason: string, cp: Cp, sigs: { index: number; signature: string }[], next: Member[] = []) => {
    const e = await relay.submitRaw(cp, sigs, next.map((m) => ({ ethAddress: m.key.address, power: m.power.toString() }))).then(() => null, (x: unknown) => x)
    t.ok(e instanceof RollupError && e.code === 'ROLLUP_ERROR_REFUSED', `${what}: refused`)
    t.equal((e as RollupError).meta.reason, reason, `${what}: ${reason}`)
  }
  const accept = async (cp: Cp, sigs: { index: number; signature: string }[], next: Member[] = []) =>
    (await relay.submitRaw(cp, sigs, next.map((m) => ({ ethAddress: m.key.address, power: m.power.toString() })))).gasUsed

  await refused(t, '2 of 4 equal signers (1/2)', 'InsufficientPower', cpAt(100, set1), sign(cpAt(100, set1), set1, [0, 1]))
  gas.first = await accept(cpAt(100, set1), sign(cpAt(100, set1), set1, [0, 1, 2]))
  t.same(await relay.contractState(), { height: 100, blockHash: cpAt(100, set1).blockHash, stateRoot: cpAt(100, set1).stateRoot, validatorSetHash: checkpointSetHash(signersOf(set1)) }, '3 of 4 (3/4) verify it')
  gas.threeOfFour = await accept(cpAt(200, set1), sign(cpAt(200, set1), set1, [1, 2, 3]))
  gas.fourOfFour = await accept(cpAt(300, set1), sign(cpAt(300, set1), set1, [0, 1, 2, 3]))

  await refused(t, 'a replay of the latest', 'StaleCheckpoint', cpAt(300, set1), sign(cpAt(300, set1), set1, [0, 1, 2, 3]))
  await refused(t, 'an older height', 'StaleCheckpoint', cpAt(250, set1), sign(cpAt(250, set1), set1, [0, 1, 2, 3]))
  await refused(t, 'another block at a verified height', 'ConflictingCheckpoint', cpAt(200, set1, 'fork'), sign(cpAt(200, set1, 'fork'), set1, [0, 1, 2, 3]))
  await refused(t, 'the signatures of a real checkpoint on a forked block', 'BadSignature', cpAt(400, set1, 'fork'), sign(cpAt(400, set1), set1, [0, 1, 2]))
  await refused(t, 'a signer counted twice', 'SignersNotSorted', cpAt(400, set1), [...sign(cpAt(400, set1), set1, [0, 1]), ...sign(cpAt(400, set1), set1, [1])])
  await refused(t, 'signers out of order', 'SignersNotSorted', cpAt(400, set1), sign(cpAt(400, set1), set1, [2, 1, 0]))
  const good = sign(cpAt(400, set1), set1, [0, 1, 2])
  const high = fromHex(good[0].signature)
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
  high.set(fromHex('0x' + (n - BigInt(toHex(high.subarray(32, 64)))).toString(16).padStart(64, '0')), 32)
  high[64] = high[64] === 27 ? 28 : 27
  await refused(t, 'the high-s twin of a valid signature', 'BadSignature', cpAt(400, set1), [{ index: 0, signature: toHex(high) }, ...good.slice(1)])
  const outsider = setOf(['z'])
  await refused(t, 'a key outside the set at a member\'s index', 'BadSignature', cpAt(400, set1), [...good.slice(0, 2), { index: 2, signature: sign(cpAt(400, set1), outsider, [0])[0].signature }])

  // a set update: 5 members, one of them with double power
  const set2 = setOf(['b', 'c', 'e', 'f', 'g']).map((m, i) => (i === 0 ? { ...m, power: 2n * POWER } : m))
  const upd = cpAt(400, set2)
  await refused(t, 'a new set that does not hash to validatorSetHash', 'ValidatorSetMismatch', upd, sign(upd, set1, [0, 1, 2]), set2.slice(1))
  gas.setUpdate = await accept(upd, sign(upd, set1, [0, 1, 2]), set2)
  t.equal((await relay.contractState()).validatorSetHash, checkpointSetHash(signersOf(set2)), 'the contract holds the new set')
  await refused(t, 'the old set after the update', 'BadSignature', cpAt(500, set2), sign(cpAt(500, set2), set1, [0, 1, 2, 3]))
  await refused(t, 'the new set, 4 of 6 power units (exactly 2/3)', 'InsufficientPower', cpAt(500, set2), sign(cpAt(500, set2), set2, [0, 1, 2]))
  gas.afterUpdate = await accept(cpAt(500, set2), sign(cpAt(500, set2), set2, [0, 1, 2, 3]))

  t.comment(`gas: ${Object.entries(gas).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  t.ok(gas.threeOfFour < 150_000n && gas.setUpdate < 400_000n, 'gas per checkpoint and per set update bounded')
})

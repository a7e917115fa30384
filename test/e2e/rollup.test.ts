import t from 'tap'
import type { Test } from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createPublicClient, http, type Address as EvmAddress } from 'viem'
import { sha256 } from '../../core/hash.js'
import { toHex } from '../../core/bytes.js'
import { devAccountKey, devValidatorKey } from '../../genesis/devnet.js'
import { TxSender, delegate, type ResultOf } from '../../rpc/index.js'
import { checkpointSetHash } from '../../state/checkpoint.js'
import { checkpointsAbi } from '../../contracts/AttrchainCheckpoints.artifact.js'
import { CheckpointRelay, RollupError, DEV_L1_KEY, type RelayStep } from '../../node/rollupRelay.js'
import { startNetwork } from '../helpers/network.js'
import { startAnvil } from '../helpers/anvil.js'
import { BIN, until } from '../helpers/nodeProcess.js'
import { CHILD_ENV } from '../helpers/childEnv.js'
import { NODE_RUNTIME_FLAGS } from '../../node/runtime.js'

/**
 * Rollup checkpoints end to end (issue 15 item 4): a 3-validator network
 * whose validator nodes sign every checkpoint by themselves, an anvil L1,
 * `attrchain rollup deploy` (the CLI), then the relayer's steps: checkpoints
 * accepted with > 2/3 of the power, a validator-set change (a delegation
 * raises validator 0's power) accepted with the checkpoint that names it,
 * and a checkpoint with too little power, a replayed one and forked ones
 * refused. Gas per checkpoint and per set update are printed (README).
 */

const INTERVAL = 4
type Checkpoint = NonNullable<ResultOf<'rollup_getCheckpoint'>>

t.test('checkpoints relayed to an EVM L1, with a validator-set change, and the refusals', async (t) => {
  const anvil = await startAnvil()
  t.teardown(() => anvil.stop())
  const net = await startNetwork({ validators: 3, params: { checkpointInterval: INTERVAL } })
  t.teardown(() => net.close())
  const node = net.nodes[0].client
  const rpc = `http://127.0.0.1:${net.nodes[0].rpcPort}`

  // deploy through the CLI, before the first checkpoint: the genesis checkpoint set
  const { stdout } = await promisify(execFile)(process.execPath, [...NODE_RUNTIME_FLAGS, BIN, 'rollup', 'deploy', '--l1', anvil.url, '--rpc', rpc, '--json'], { env: CHILD_ENV, timeout: 90_000 })
  const deployed = JSON.parse(stdout) as { contract: string; startHeight: number; validatorSetHash: string; gasUsed: string; signers: number }
  t.equal(deployed.signers, 3, 'deployed with the 3 genesis checkpoint keys')
  const relay = await CheckpointRelay.open({ l1: anvil.url, key: DEV_L1_KEY, rpc, contract: deployed.contract })
  const l1 = createPublicClient({ transport: http(anvil.url) })
  const read = <T>(functionName: string, args: unknown[] = []) => l1.readContract({ address: deployed.contract as EvmAddress, abi: checkpointsAbi, functionName, args } as never) as Promise<T>

  const quorum = async (h: number): Promise<Checkpoint> => until(`checkpoint ${h} with > 2/3 of the power`, async () => {
    const cp = await node.call('rollup_getCheckpoint', [h])
    return cp?.quorum ? cp : null
  }, 120_000, 200)
  /** relay steps until the contract holds `h` */
  const relayTo = async (h: number): Promise<(RelayStep & { kind: 'submitted' })[]> => {
    const out: (RelayStep & { kind: 'submitted' })[] = []
    await until(`the contract at ${h}`, async () => {
      const s = await relay.step()
      if (s.kind === 'submitted') out.push(s)
      return (await relay.contractState()).height >= h
    }, 120_000, 200)
    return out
  }
  const refused = async (t: Test, what: string, reason: string, f: () => Promise<unknown>) => {
    const e = await f().then(() => null, (x: unknown) => x)
    t.ok(e instanceof RollupError && e.code === 'ROLLUP_ERROR_REFUSED', `${what}: refused`)
    t.equal((e as RollupError).meta.reason, reason, `${what}: ${reason}`)
  }

  const start = deployed.startHeight
  t.equal(start % INTERVAL, 0, 'the contract starts at a checkpoint height')
  const first = start + INTERVAL
  const cp1 = await quorum(first)
  t.equal(await read<string>('checkpointDigest', [{ height: BigInt(cp1.height), blockHash: cp1.blockHash, stateRoot: cp1.stateRoot, validatorSetHash: cp1.validatorSetHash }]), cp1.digest, 'Solidity and TS compute the same EIP-712 digest')
  t.equal(await read<string>('hashValidatorSet', [cp1.next.map((m) => m.ethAddress), cp1.next.map((m) => BigInt(m.power))]), checkpointSetHash(cp1.next.map((m) => ({ ...m, power: BigInt(m.power) }))), 'and the same validatorSetHash')

  // too little power: 2 of 3 equal signers is exactly 2/3, not more
  const two = cp1.signatures.slice(0, 2).map((s) => s.index)
  await refused(t, 'a checkpoint with 2/3 of the power', 'InsufficientPower', () => relay.submit(cp1, two, false))

  t.comment(`deployed at ${deployed.contract}; first checkpoint ${first} signed`)
  const steps = await relayTo(first)
  t.equal(steps.length, 1)
  const gasCheckpoint = steps[0].gasUsed
  const block = await node.call('chain_getBlock', [first])
  const [h, bh, root] = await read<[bigint, string, string]>('latest')
  t.same([Number(h), bh, root], [first, block!.hash, block!.header.stateRoot], "the contract's latest verified root is the header's stateRoot of that height")

  await refused(t, 'the same checkpoint again (replay)', 'StaleCheckpoint', () => relay.submit(cp1, cp1.signatures.map((s) => s.index), false))
  await refused(t, 'a checkpoint for another block at a verified height (fork)', 'ConflictingCheckpoint', () => relay.submitRaw({ ...cp1, blockHash: toHex(sha256('fork')) }, cp1.signatures, []))
  const cp2 = await quorum(first + INTERVAL)
  await refused(t, 'the signatures of a real checkpoint on a forked block', 'BadSignature', () => relay.submitRaw({ ...cp2, blockHash: toHex(sha256('fork2')) }, cp2.signatures, []))
  const shuffled = [...cp2.signatures].reverse()
  await refused(t, 'signers not in ascending order', 'SignersNotSorted', () => relay.submitRaw(cp2, shuffled, []))

  t.comment('relayed and refused; now a validator-set change')
  // a validator-set change: dev account 0 delegates to validator 0, so its power grows from the set of height h + 2
  const v0 = devValidatorKey(0).address
  const r = await new TxSender(node, devAccountKey(0)).send(delegate(v0, '50000OPEN'), { wait: 'commit' })
  t.equal(r.status, 'ok', 'delegation committed')
  let changed = await until('a checkpoint naming the new set', async () => {
    const latest = await node.call('rollup_getCheckpoint')
    return latest && latest.validatorSetHash !== deployed.validatorSetHash ? latest : null
  }, 120_000, 200)
  // the poll sees the latest checkpoint and may have missed the first one naming the new set (the one the relayer updates with): go back to it
  for (let prev = await node.call('rollup_getCheckpoint', [changed.height - INTERVAL]); prev?.validatorSetHash === changed.validatorSetHash; prev = await node.call('rollup_getCheckpoint', [changed.height - INTERVAL])) changed = prev
  t.ok(changed.next.some((m) => m.validator === v0 && BigInt(m.power) === 150_000n * 10n ** 18n), 'its next set has validator 0 at 150,000 OPEN')
  await quorum(changed.height + INTERVAL)
  const moved = await relayTo(changed.height + INTERVAL)
  const update = moved.find((s) => s.setUpdate)
  t.ok(update && update.height === changed.height, 'the set update went in with the checkpoint that names it')
  t.equal(await read<string>('validatorSetHash'), changed.validatorSetHash, 'the contract holds the new set')
  t.equal(await read<bigint>('totalPower'), 350_000n * 10n ** 18n, 'and its total power')
  const after = moved.find((s) => s.height === changed.height + INTERVAL)
  t.ok(after && !after.setUpdate, 'the next checkpoint was verified against the new set')

  t.comment(`set update at ${changed.height} relayed`)
  // a restarted relayer carries on from the contract's state
  const again = await CheckpointRelay.open({ l1: anvil.url, key: DEV_L1_KEY, rpc, contract: deployed.contract })
  const next = (await again.contractState()).height + INTERVAL
  await quorum(next)
  await until('the restarted relayer submits the next checkpoint', async () => (await again.step()).kind === 'submitted', 60_000, 200)
  t.equal((await again.contractState()).height, next)

  const gasUpdate = update!.gasUsed
  const steady = moved.filter((s) => !s.setUpdate).map((s) => s.gasUsed)
  t.comment(`gas: deploy ${deployed.gasUsed}; first checkpoint ${gasCheckpoint}, later ones ${steady.join(', ')} (3 signatures each); with a set update (3 powers rewritten) ${gasUpdate}`)
  t.ok(gasCheckpoint < 200_000n, `gas per checkpoint ${gasCheckpoint} is bounded`)
})

import {
  createPublicClient, createWalletClient, defineChain, http, BaseError, ContractFunctionRevertedError,
  type Address as EvmAddress, type Hex as EvmHex, type PublicClient, type WalletClient, type Chain, type Account,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { AttrchainError } from '../core/errors.js'
import { AttrchainClient, type ResultOf } from '../rpc/index.js'
import { checkpointsAbi, checkpointsBytecode } from '../contracts/AttrchainCheckpoints.artifact.js'

/**
 * The L1 side of `attrchain rollup deploy` and `attrchain rollup relay`
 * (README "Rollup checkpoints"; the command lines are in
 * node/commands/rollup.ts, which loads this module, and viem with it, only
 * when one of them runs): put contracts/AttrchainCheckpoints.sol on an EVM L1 with the
 * chain's current checkpoint set, then follow the chain and submit every
 * checkpoint once it holds signatures of > 2/3 of its signers' power, with
 * the new set when the checkpoint changes it. The relayer is trusted with
 * nothing: the contract checks every signature; it only pays the gas.
 */

/** What `RollupError` carries (the `rollup` command). */
export type RollupErrorCode =
  /** --contract is not an address, or no contract is deployed there */
  | 'ROLLUP_ERROR_BAD_CONTRACT'
  /** --key is not a 32-byte hex private key */
  | 'ROLLUP_ERROR_BAD_KEY'
  /** the contract's deployment tx failed */
  | 'ROLLUP_ERROR_DEPLOY_FAILED'
  /** the chain records no checkpoints (params.checkpointInterval is 0) */
  | 'ROLLUP_ERROR_DISABLED'
  /** no EVM JSON-RPC answers at --l1 */
  | 'ROLLUP_ERROR_L1_UNREACHABLE'
  /** no validator holds a checkpoint key */
  | 'ROLLUP_ERROR_NO_SIGNERS'
  /** the contract refused or reverted a checkpoint (`meta.reason`) */
  | 'ROLLUP_ERROR_REFUSED'
  /** the checkpoint's signer set is not the contract's: deployed for another chain or point */
  | 'ROLLUP_ERROR_SET_MISMATCH'

export class RollupError extends AttrchainError<RollupErrorCode> {}

/** Anvil's (and Hardhat's) first dev account: the default --key, for local L1 dev nodes only. */
export const DEV_L1_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

export interface L1Options {
  /** L1 JSON-RPC URL */
  l1: string
  /** the L1 account's private key (0x, 32 bytes) that pays the gas */
  key: string
}

interface L1 {
  pub: PublicClient
  wallet: WalletClient
  account: Account
  chain: Chain
}

async function connect(o: L1Options): Promise<L1> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(o.key)) throw new RollupError('ROLLUP_ERROR_BAD_KEY', '--key must be a 0x-prefixed 32-byte hex private key')
  const probe = createPublicClient({ transport: http(o.l1) })
  let id: number
  try {
    id = await probe.getChainId()
  } catch (e) {
    throw new RollupError('ROLLUP_ERROR_L1_UNREACHABLE', `no EVM JSON-RPC at ${o.l1}: ${(e as Error).message.split('\n')[0]}`)
  }
  const chain = defineChain({ id, name: `l1-${id}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [o.l1] } } })
  const account = privateKeyToAccount(o.key as EvmHex)
  return {
    pub: createPublicClient({ chain, transport: http(o.l1) }) as PublicClient,
    wallet: createWalletClient({ chain, account, transport: http(o.l1) }),
    account, chain,
  }
}

export interface DeployResult {
  contract: string
  l1ChainId: number
  chainId: string
  /** the checkpoint after which the contract takes checkpoints */
  startHeight: number
  validatorSetHash: string
  signers: number
  gasUsed: bigint
}

/**
 * Deploy the contract with the checkpoint set that signs the chain's next
 * checkpoint (rollup_getCheckpointSet) and the height of the last recorded
 * one: the deployer vouches for that set, everything after is verified.
 */
export async function deployCheckpoints(o: L1Options & { rpc: string }): Promise<DeployResult> {
  const node = new AttrchainClient(o.rpc)
  const [status, set] = await Promise.all([node.status(), node.call('rollup_getCheckpointSet')])
  if (set.interval === 0) throw new RollupError('ROLLUP_ERROR_DISABLED', 'this chain records no checkpoints (params.checkpointInterval is 0)')
  if (set.members.length === 0) throw new RollupError('ROLLUP_ERROR_NO_SIGNERS', 'no validator of this chain holds a checkpoint key (genesis checkpointAddress or setCheckpointKey)')
  const l1 = await connect(o)
  const hash = await l1.wallet.deployContract({
    abi: checkpointsAbi, bytecode: checkpointsBytecode, account: l1.account, chain: l1.chain,
    args: [status.chainId, set.members.map((m) => m.ethAddress as EvmAddress), set.members.map((m) => BigInt(m.power)), BigInt(set.afterHeight)],
  })
  const receipt = await l1.pub.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new RollupError('ROLLUP_ERROR_DEPLOY_FAILED', `deployment tx ${hash} failed`)
  return {
    contract: receipt.contractAddress.toLowerCase(), l1ChainId: l1.chain.id, chainId: status.chainId, startHeight: set.afterHeight,
    validatorSetHash: set.validatorSetHash, signers: set.members.length, gasUsed: receipt.gasUsed,
  }
}

type Checkpoint = NonNullable<ResultOf<'rollup_getCheckpoint'>>

/** What one relay step did. */
export type RelayStep =
  | { kind: 'submitted'; height: number; setUpdate: boolean; gasUsed: bigint; tx: string; signedPower: string; totalPower: string }
  /** the next checkpoint is not recorded yet, or has not reached > 2/3 of its signers' power */
  | { kind: 'waiting'; height: number; reason: 'not recorded' | 'not enough signatures' }

export interface RelayOptions extends L1Options {
  rpc: string
  contract: string
}

/** The contract calls a relayer (and the tests) make. */
export class CheckpointRelay {
  private constructor(private readonly l1: L1, private readonly node: AttrchainClient, readonly contract: EvmAddress) {}

  static async open(o: RelayOptions): Promise<CheckpointRelay> {
    if (!/^0x[0-9a-fA-F]{40}$/.test(o.contract)) throw new RollupError('ROLLUP_ERROR_BAD_CONTRACT', '--contract must be a 0x-prefixed 20-byte address')
    const l1 = await connect(o)
    const code = await l1.pub.getCode({ address: o.contract as EvmAddress })
    if (!code || code === '0x') throw new RollupError('ROLLUP_ERROR_BAD_CONTRACT', `no contract at ${o.contract} on L1 chain ${l1.chain.id}`)
    return new CheckpointRelay(l1, new AttrchainClient(o.rpc), o.contract as EvmAddress)
  }

  private read<T>(functionName: string, args: unknown[] = []): Promise<T> {
    return this.l1.pub.readContract({ address: this.contract, abi: checkpointsAbi, functionName, args } as never) as Promise<T>
  }

  /** The contract's latest verified checkpoint and current set hash. */
  async contractState(): Promise<{ height: number; blockHash: string; stateRoot: string; validatorSetHash: string }> {
    const [[height, blockHash, stateRoot], validatorSetHash] = await Promise.all([
      this.read<[bigint, string, string]>('latest'), this.read<string>('validatorSetHash'),
    ])
    return { height: Number(height), blockHash, stateRoot, validatorSetHash }
  }

  /**
   * One step: the checkpoint after the contract's latest, submitted if it has
   * > 2/3 of its signers' power. Idempotent: everything is read from the
   * contract, so a restarted relayer carries on where the contract is.
   */
  async step(): Promise<RelayStep> {
    const [state, set] = await Promise.all([this.contractState(), this.node.call('rollup_getCheckpointSet')])
    const height = state.height + set.interval
    const cp = await this.node.call('rollup_getCheckpoint', [height])
    if (!cp) return { kind: 'waiting', height, reason: 'not recorded' }
    if (!cp.quorum) return { kind: 'waiting', height, reason: 'not enough signatures' }
    if (cp.signerSetHash !== state.validatorSetHash) {
      throw new RollupError('ROLLUP_ERROR_SET_MISMATCH', `checkpoint ${height} is signed by set ${cp.signerSetHash}, the contract holds ${state.validatorSetHash}; it was deployed for another chain or point`)
    }
    return this.submit(cp, cp.signatures.map((s) => s.index), cp.validatorSetHash !== state.validatorSetHash)
  }

  /** Submit `cp` with the signatures of the given signer indexes (tests pass subsets and forgeries through `submitRaw`). */
  async submit(cp: Checkpoint, indexes: number[], setUpdate: boolean): Promise<RelayStep & { kind: 'submitted' }> {
    const sigs = cp.signatures.filter((s) => indexes.includes(s.index))
    const tx = await this.submitRaw(
      { height: cp.height, blockHash: cp.blockHash, stateRoot: cp.stateRoot, validatorSetHash: cp.validatorSetHash },
      sigs.map((s) => ({ index: s.index, signature: s.signature })),
      setUpdate ? cp.next.map((m) => ({ ethAddress: m.ethAddress, power: m.power })) : [],
    )
    return { kind: 'submitted', height: cp.height, setUpdate, gasUsed: tx.gasUsed, tx: tx.hash, signedPower: cp.signedPower, totalPower: cp.totalPower }
  }

  /**
   * submitCheckpoint with exactly these fields: simulated first, so a refusal
   * throws RollupError ROLLUP_ERROR_REFUSED with the contract's error name
   * (`meta.reason`, e.g. InsufficientPower) and no gas is spent.
   */
  async submitRaw(
    cp: { height: number; blockHash: string; stateRoot: string; validatorSetHash: string },
    sigs: { index: number; signature: string }[],
    next: { ethAddress: string; power: string }[],
  ): Promise<{ hash: string; gasUsed: bigint }> {
    const args = [
      { height: BigInt(cp.height), blockHash: cp.blockHash as EvmHex, stateRoot: cp.stateRoot as EvmHex, validatorSetHash: cp.validatorSetHash as EvmHex },
      sigs.map((s) => ({
        index: BigInt(s.index), r: `0x${s.signature.slice(2, 66)}` as EvmHex, s: `0x${s.signature.slice(66, 130)}` as EvmHex, v: parseInt(s.signature.slice(130, 132), 16),
      })),
      next.map((m) => m.ethAddress as EvmAddress), next.map((m) => BigInt(m.power)),
    ] as const
    try {
      const { request } = await this.l1.pub.simulateContract({ address: this.contract, abi: checkpointsAbi, functionName: 'submitCheckpoint', args, account: this.l1.account, chain: this.l1.chain })
      const hash = await this.l1.wallet.writeContract(request)
      const receipt = await this.l1.pub.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new RollupError('ROLLUP_ERROR_REFUSED', `checkpoint ${cp.height}: tx ${hash} reverted`, { reason: 'reverted' })
      return { hash, gasUsed: receipt.gasUsed }
    } catch (e) {
      if (e instanceof BaseError) {
        const revert = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null
        if (revert) {
          const reason = revert.data?.errorName ?? 'unknown'
          throw new RollupError('ROLLUP_ERROR_REFUSED', `checkpoint ${cp.height} refused by the contract: ${reason}`, { reason, args: revert.data?.args?.map(String) ?? [] })
        }
      }
      throw e
    }
  }
}

export interface RelayIo {
  stdout(line: string): void
  stderr(line: string): void
  /** resolves when the relayer must stop (SIGINT/SIGTERM) */
  stopSignal: Promise<unknown>
}

/**
 * `attrchain rollup relay`: step until stopped; waits `pollMs` when there
 * is nothing to submit. A refused or failed submission is reported and
 * retried at the next poll (another relayer may have submitted it first).
 */
export async function runRelay(o: RelayOptions & { pollMs: number; json: boolean }, io: RelayIo): Promise<number> {
  const relay = await CheckpointRelay.open(o)
  let stopped = false
  void io.stopSignal.then(() => { stopped = true })
  const say = (fields: Record<string, unknown>, text: string): void => io.stdout(o.json ? JSON.stringify(fields, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) : text)
  const st = await relay.contractState()
  say({ event: 'start', contract: relay.contract, height: st.height }, `relaying to ${relay.contract} from checkpoint ${st.height}`)
  let lastWait = ''
  while (!stopped) {
    let step: RelayStep | null = null
    try {
      step = await relay.step()
    } catch (e) {
      if (e instanceof RollupError && e.code === 'ROLLUP_ERROR_SET_MISMATCH') {
        io.stderr(`error: ${e.message}`)
        return 1
      }
      io.stderr(`relay: ${(e as Error).message.split('\n')[0]}`)
    }
    if (step?.kind === 'submitted') {
      say({ event: 'submitted', ...step }, `checkpoint ${step.height} verified on L1 (tx ${step.tx}, gas ${step.gasUsed}${step.setUpdate ? ', validator set updated' : ''})`)
      continue
    }
    if (step && `${step.height}/${step.reason}` !== lastWait) {
      lastWait = `${step.height}/${step.reason}`
      say({ event: 'waiting', ...step }, `waiting for checkpoint ${step.height}: ${step.reason}`)
    }
    await Promise.race([new Promise((r) => setTimeout(r, o.pollMs)), io.stopSignal])
  }
  return 0
}

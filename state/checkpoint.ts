import { encodeAbiParameters, hashTypedData, keccak256 } from 'viem'
import { TxError, type TxErrorCode } from '../core/errors.js'
import { fromHex } from '../core/bytes.js'
import { recoverEthAddress, ZERO_ETH_ADDRESS } from '../core/checkpointKey.js'
import type { Address } from '../core/address.js'
import type { Hex } from '../core/tx.js'
import type { Params } from '../genesis/params.js'
import type { BlockState } from './blockState.js'
import type { StateStore } from './store.js'
import { record, fromBytes, ValidatorCodec, type Codec } from './entities.js'
import { getValidatorSet } from './validatorSet.js'
import { K } from './keys.js'

/**
 * Rollup checkpoints (README "Rollup checkpoints"; issue 15 item 4): the
 * checkpoint keys of validators, the checkpoint set that signs the next
 * checkpoint, the checkpoints recorded every `params.checkpointInterval`
 * blocks and the validators' EIP-712 signatures of them. The L1 contract
 * (contracts/AttrchainCheckpoints.sol) applies the same rules to the same
 * typed data and set hash.
 */

// ---------------------------------------------------------------- typed data

/** EIP-712 domain: no chainId / verifyingContract, the signed statement is about the attrchain chain, not an L1 action. */
export const CHECKPOINT_DOMAIN = { name: 'Attrchain Checkpoints', version: '1' } as const
export const CHECKPOINT_TYPES = {
  Checkpoint: [
    { name: 'chainId', type: 'string' },
    { name: 'height', type: 'uint64' },
    { name: 'blockHash', type: 'bytes32' },
    { name: 'stateRoot', type: 'bytes32' },
    { name: 'validatorSetHash', type: 'bytes32' },
  ],
} as const

/** What validators sign: `blockHash` and `stateRoot` are the header fields of block `height`. */
export interface CheckpointData {
  chainId: string
  height: number
  blockHash: Hex
  stateRoot: Hex
  /** checkpointSetHash of the set that signs the next checkpoint */
  validatorSetHash: Hex
}

/** The EIP-712 digest of a checkpoint (what `checkpointDigest` of the contract returns). */
export function checkpointDigest(cp: CheckpointData): Uint8Array {
  const h = hashTypedData({
    domain: CHECKPOINT_DOMAIN, types: CHECKPOINT_TYPES, primaryType: 'Checkpoint',
    message: { chainId: cp.chainId, height: BigInt(cp.height), blockHash: cp.blockHash as `0x${string}`, stateRoot: cp.stateRoot as `0x${string}`, validatorSetHash: cp.validatorSetHash as `0x${string}` },
  })
  return fromHex(h, 'digest', 32)
}

// ---------------------------------------------------------------- the checkpoint set

/** A member of a checkpoint set: the validator, its checkpoint key's Ethereum address and its voting power (units). */
export interface CheckpointSigner { validator: Address; ethAddress: string; power: bigint }
export interface CheckpointSet { members: CheckpointSigner[] }
const SignerCodec = record<CheckpointSigner>({ validator: 'hex', ethAddress: 'hex', power: 'big' })
export const CheckpointSetCodec = record<CheckpointSet>({ members: { list: SignerCodec } })

/**
 * validatorSetHash = keccak256(abi.encode(address[] ethAddresses, uint256[] powers)),
 * members by ascending Ethereum address (the contract's `hashValidatorSet`).
 */
export function checkpointSetHash(members: CheckpointSigner[]): Hex {
  return keccak256(encodeAbiParameters(
    [{ type: 'address[]' }, { type: 'uint256[]' }],
    [members.map((m) => m.ethAddress as `0x${string}`), members.map((m) => m.power)],
  ))
}

export function checkpointSetPower(members: CheckpointSigner[]): bigint {
  return members.reduce((s, m) => s + m.power, 0n)
}

/** More than 2/3 of the set's power, the contract's rule: 3·signed > 2·total. */
export function hasQuorum(signed: bigint, total: bigint): boolean {
  return signed * 3n > total * 2n
}

// ---------------------------------------------------------------- stored records

export interface CheckpointKeyRecord { ethAddress: string }
export const CheckpointKeyCodec = record<CheckpointKeyRecord>({ ethAddress: 'hex' })
export interface CheckpointKeyOwner { validator: Address }
export const CheckpointKeyOwnerCodec = record<CheckpointKeyOwner>({ validator: 'hex' })

export interface CheckpointSignature { index: number; signature: Hex }
export interface CheckpointRecord {
  height: number
  blockHash: Hex
  stateRoot: Hex
  validatorSetHash: Hex
  /** the set that must sign this checkpoint (the previous checkpoint's next set), by Ethereum address */
  signers: CheckpointSigner[]
  /** the set named by validatorSetHash, which signs the next checkpoint */
  next: CheckpointSigner[]
  /** verified signatures by ascending signer index */
  signatures: CheckpointSignature[]
  signedPower: bigint
}
export const CheckpointRecordCodec = record<CheckpointRecord>({
  height: 'uint', blockHash: 'hex', stateRoot: 'hex', validatorSetHash: 'hex',
  signers: { list: SignerCodec }, next: { list: SignerCodec },
  signatures: { list: record<CheckpointSignature>({ index: 'uint', signature: 'hex' }) }, signedPower: 'big',
})
export interface CheckpointLatest { height: number }
const CheckpointLatestCodec = record<CheckpointLatest>({ height: 'uint' })

/** State keys of this module (one prefix per kind, never reused). */
export const CK = {
  /** a validator's checkpoint address */
  key: (validator: string) => `ckey/${validator}`,
  /** which validator holds a checkpoint address (one validator per address) */
  owner: (ethAddress: string) => `ckowner/${ethAddress}`,
  /** the set that signs the next checkpoint */
  set: () => 'ckset',
  checkpoint: (height: number) => `ckpt/${height.toString().padStart(12, '0')}`,
  latest: () => 'ckptlast',
} as const

function fail(code: TxErrorCode, message: string, meta: Record<string, unknown> = {}): never {
  throw new TxError(code, message, meta)
}

// ---------------------------------------------------------------- genesis and execution

/** Genesis: the declared checkpoint addresses and the first checkpoint set (from the set of height 1). */
export function genesisCheckpoints(s: BlockState, params: Params, declared: { validator: Address; ethAddress?: string }[]): void {
  for (const d of declared) {
    if (d.ethAddress === undefined) continue
    s.set(CheckpointKeyCodec, CK.key(d.validator), { ethAddress: d.ethAddress })
    s.set(CheckpointKeyOwnerCodec, CK.owner(d.ethAddress), { validator: d.validator })
  }
  if (params.checkpointInterval > 0) s.set(CheckpointSetCodec, CK.set(), { members: checkpointSetOf(s, 1) })
}

/**
 * The checkpoint set of the validator set of `height`: its members that hold
 * a checkpoint key, with their power, by ascending Ethereum address. A
 * validator without a key neither signs nor counts.
 */
export function checkpointSetOf(s: BlockState, height: number): CheckpointSigner[] {
  const set = getValidatorSet(s, height)?.members ?? []
  const out: CheckpointSigner[] = []
  for (const m of set) {
    const k = s.get(CheckpointKeyCodec, CK.key(m.address))
    if (k) out.push({ validator: m.address, ethAddress: k.ethAddress, power: m.power })
  }
  return out.sort((a, b) => (a.ethAddress < b.ethAddress ? -1 : 1))
}

/**
 * At block H + 1 with H a positive multiple of params.checkpointInterval:
 * record checkpoint H from H's header (`prev`), signed by the current
 * checkpoint set, naming as next set the checkpoint set of block H + 1's
 * validator set (so key rotations and power changes reach the L1 here).
 * Nothing when the interval is 0 or no validator holds a key.
 */
export function recordCheckpoint(s: BlockState, chainId: string, params: Params, height: number, prev: { blockHash: Hex; stateRoot: Hex }): void {
  const h = height - 1
  const interval = params.checkpointInterval
  if (interval === 0 || h <= 0 || h % interval !== 0) return
  const signers = s.get(CheckpointSetCodec, CK.set())?.members ?? []
  const next = checkpointSetOf(s, height)
  if (signers.length === 0 && next.length === 0) return
  const validatorSetHash = checkpointSetHash(next)
  s.set(CheckpointRecordCodec, CK.checkpoint(h), {
    height: h, blockHash: prev.blockHash, stateRoot: prev.stateRoot, validatorSetHash, signers, next, signatures: [], signedPower: 0n,
  })
  s.set(CheckpointLatestCodec, CK.latest(), { height: h })
  s.set(CheckpointSetCodec, CK.set(), { members: next })
}

/**
 * `setCheckpointKey [ethAddress]`: the sender, a validator, declares its
 * checkpoint address. It takes effect in the next checkpoint's set (the
 * set change the L1 accepts with that checkpoint), like power.
 */
export function setCheckpointKey(s: BlockState, from: Address, ethAddress: string): void {
  if (!s.get(ValidatorCodec, K.validator(from))) fail('TX_ERROR_UNKNOWN_VALIDATOR', `${from} is not a validator`, { validator: from })
  if (ethAddress === ZERO_ETH_ADDRESS) fail('TX_ERROR_BAD_CHECKPOINT_KEY', 'body[0]: the zero address cannot sign', { field: 'body[0]' })
  const owner = s.get(CheckpointKeyOwnerCodec, CK.owner(ethAddress))
  if (owner && owner.validator !== from) fail('TX_ERROR_CHECKPOINT_KEY_TAKEN', `body[0]: ${ethAddress} is the checkpoint address of ${owner.validator}`, { field: 'body[0]' })
  const old = s.get(CheckpointKeyCodec, CK.key(from))
  if (old && old.ethAddress !== ethAddress) s.delete(CheckpointKeyOwnerCodec, CK.owner(old.ethAddress))
  s.set(CheckpointKeyCodec, CK.key(from), { ethAddress })
  s.set(CheckpointKeyOwnerCodec, CK.owner(ethAddress), { validator: from })
}

/**
 * `signCheckpoint [height, signature]`: the sender's EIP-712 signature of
 * checkpoint `height`, by the checkpoint key the checkpoint's signer set
 * holds for it (ecrecover rule of the contract, low s). Once per signer.
 */
export function signCheckpoint(s: BlockState, chainId: string, from: Address, height: number, signature: Hex): void {
  const cp = s.get(CheckpointRecordCodec, CK.checkpoint(height)) ?? fail('TX_ERROR_UNKNOWN_CHECKPOINT', `body[0]: no checkpoint at height ${height}`, { field: 'body[0]' })
  const index = cp.signers.findIndex((m) => m.validator === from)
  if (index < 0) fail('TX_ERROR_NOT_CHECKPOINT_SIGNER', `${from} is not in the signer set of checkpoint ${height}`, { field: 'body[0]' })
  if (cp.signatures.some((x) => x.index === index)) fail('TX_ERROR_ALREADY_SIGNED', `${from} already signed checkpoint ${height}`, { field: 'body[0]' })
  const digest = checkpointDigest({ chainId, height, blockHash: cp.blockHash, stateRoot: cp.stateRoot, validatorSetHash: cp.validatorSetHash })
  const who = recoverEthAddress(digest, fromHex(signature, 'signature', 65))
  if (who !== cp.signers[index].ethAddress) {
    fail('TX_ERROR_BAD_CHECKPOINT_SIGNATURE', `body[1]: not a signature of checkpoint ${height} by ${cp.signers[index].ethAddress}`, { field: 'body[1]' })
  }
  const signatures = [...cp.signatures, { index, signature }].sort((a, b) => a.index - b.index)
  s.set(CheckpointRecordCodec, CK.checkpoint(height), { ...cp, signatures, signedPower: cp.signedPower + cp.signers[index].power })
}

// ---------------------------------------------------------------- queries over a committed store

function read<T>(store: StateStore, codec: Codec<T>, key: string): T | undefined {
  const raw = store.get(key)
  return raw === undefined ? undefined : fromBytes(codec, raw)
}

/** Checkpoint `height`, or the latest recorded one; undefined when none. */
export function readCheckpoint(store: StateStore, height?: number): CheckpointRecord | undefined {
  const h = height ?? read(store, CheckpointLatestCodec, CK.latest())?.height
  return h === undefined ? undefined : read(store, CheckpointRecordCodec, CK.checkpoint(h))
}

/** The set that signs the next checkpoint, and the height of the last recorded one (0: none yet). */
export function readCheckpointSet(store: StateStore): { afterHeight: number; members: CheckpointSigner[] } {
  return {
    afterHeight: read(store, CheckpointLatestCodec, CK.latest())?.height ?? 0,
    members: read(store, CheckpointSetCodec, CK.set())?.members ?? [],
  }
}

/** A validator's checkpoint address, if it declared one. */
export function readCheckpointKey(store: StateStore, validator: Address): string | undefined {
  return read(store, CheckpointKeyCodec, CK.key(validator))?.ethAddress
}

/** JSON of a checkpoint for RPC: amounts as decimal strings, plus its digest and whether it has > 2/3 of its signers' power. */
export function checkpointToJson(chainId: string, cp: CheckpointRecord): Record<string, unknown> {
  const total = checkpointSetPower(cp.signers)
  const data: CheckpointData = { chainId, height: cp.height, blockHash: cp.blockHash, stateRoot: cp.stateRoot, validatorSetHash: cp.validatorSetHash }
  const member = (m: CheckpointSigner) => ({ validator: m.validator, ethAddress: m.ethAddress, power: m.power.toString() })
  return {
    chainId, height: cp.height, blockHash: cp.blockHash, stateRoot: cp.stateRoot, validatorSetHash: cp.validatorSetHash,
    digest: `0x${Buffer.from(checkpointDigest(data)).toString('hex')}`,
    signers: cp.signers.map(member), signerSetHash: checkpointSetHash(cp.signers), next: cp.next.map(member),
    signatures: cp.signatures.map((x) => ({ index: x.index, validator: cp.signers[x.index].validator, ethAddress: cp.signers[x.index].ethAddress, signature: x.signature })),
    signedPower: cp.signedPower.toString(), totalPower: total.toString(), quorum: hasQuorum(cp.signedPower, total),
  }
}

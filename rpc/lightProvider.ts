import { isAddress } from '../core/address.js'
import { fromHex, toHex } from '../core/bytes.js'
import type { Hex } from '../core/tx.js'
import type { Header } from '../state/block.js'
import { ConsensusError, ValidatorSet, type Commit, type Validator } from '../consensus/index.js'
import type { AttrchainClient } from './client.js'
import { LightClientError, type LightBlock, type LightProvider } from './lightVerify.js'

// ---------------------------------------------------------------- over JSON-RPC

export function malformed(what: string): never {
  throw new LightClientError('LIGHT_ERROR_MALFORMED', `the node's answer is malformed: ${what}`)
}

function hexField(v: unknown, len: number, field: string): Hex {
  try {
    return toHex(fromHex(v, field, len))
  } catch {
    malformed(`${field} must be ${len} bytes of 0x-hex`)
  }
}

export function uintField(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) malformed(`${field} must be a non-negative integer`)
  return v
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A header from its JSON (chain_getBlock's `header`); every field checked, nothing extra kept. */
export function headerFromJson(v: unknown): Header {
  if (!isRecord(v)) malformed('header must be an object')
  if (typeof v.chainId !== 'string') malformed('header.chainId must be a string')
  return {
    chainId: v.chainId, height: uintField(v.height, 'header.height'), timeMs: uintField(v.timeMs, 'header.timeMs'),
    prevHash: hexField(v.prevHash, 32, 'header.prevHash'), txRoot: hexField(v.txRoot, 32, 'header.txRoot'),
    stateRoot: hexField(v.stateRoot, 32, 'header.stateRoot'), validatorsHash: hexField(v.validatorsHash, 32, 'header.validatorsHash'),
    proposer: hexField(v.proposer, 20, 'header.proposer'), lastCommitHash: hexField(v.lastCommitHash, 32, 'header.lastCommitHash'),
  }
}

/** A commit from its JSON (chain_getCommit). */
export function commitFromJson(v: unknown): Commit {
  if (!isRecord(v) || !Array.isArray(v.signatures)) malformed('commit must be {height, round, blockHash, signatures}')
  return {
    height: uintField(v.height, 'commit.height'), round: uintField(v.round, 'commit.round'), blockHash: fromHex(hexField(v.blockHash, 32, 'commit.blockHash')),
    signatures: v.signatures.map((s: unknown, i) => {
      if (!isRecord(s)) malformed(`commit.signatures[${i}] must be {validator, signature}`)
      return { validator: hexField(s.validator, 20, `commit.signatures[${i}].validator`), signature: fromHex(hexField(s.signature, 64, `commit.signatures[${i}].signature`)) }
    }),
  }
}

/**
 * The most validators a served set may have. The chain caps its active set
 * at `params.maxValidators` (default 100); a node that serves a much larger
 * set only makes the client hash and index it (CometBFT checks the new set
 * last for the same reason), so it is refused before any work.
 */
export const MAX_LIGHT_VALIDATORS = 10_000

/** A validator set from its JSON (chain_getValidatorSet); address, key and power checked by `ValidatorSet`. */
export function validatorSetFromJson(v: unknown): ValidatorSet {
  if (!isRecord(v) || !Array.isArray(v.validators)) malformed('validator set must be {validators: [...]}')
  if (v.validators.length > MAX_LIGHT_VALIDATORS) malformed(`a validator set of ${v.validators.length} members exceeds ${MAX_LIGHT_VALIDATORS}`)
  const validators: Validator[] = v.validators.map((x: unknown, i) => {
    if (!isRecord(x) || typeof x.power !== 'string' || !/^[1-9][0-9]{0,38}$/.test(x.power)) malformed(`validators[${i}] must be {address, pubKey, power (decimal string)}`)
    if (typeof x.address !== 'string' || !isAddress(x.address)) malformed(`validators[${i}].address must be an address`)
    return { address: x.address.toLowerCase(), pubKey: fromHex(hexField(x.pubKey, 32, `validators[${i}].pubKey`)), power: BigInt(x.power), priority: 0n }
  })
  try {
    // priorities and proposer are not hashed (validatorsHash): only the members count here
    return ValidatorSet.fromValidators(validators, null)
  } catch (e) {
    if (e instanceof ConsensusError) malformed(e.reason)
    throw e
  }
}

/**
 * Light blocks over JSON-RPC: `chain_getBlock` (header), `chain_getCommit`
 * and `chain_getValidatorSet` of the height, `chain_status` for the latest
 * height. Parses strictly; verifies nothing (the LightClient does).
 */
export class RpcLightProvider implements LightProvider {
  constructor(private readonly client: AttrchainClient) {}

  async lightBlock(height: number): Promise<LightBlock> {
    const [block, commit, set] = await Promise.all([
      this.client.getBlock(height),
      this.client.getCommit(height),
      this.client.getValidatorSet(height),
    ])
    if (block === null || commit === null || set === null) throw new LightClientError('LIGHT_ERROR_NOT_FOUND', `the node has no block, commit or validator set at height ${height}`, { height })
    if (!isRecord(block)) malformed('block must be an object')
    return { header: headerFromJson(block.header), commit: commitFromJson(commit), validators: validatorSetFromJson(set) }
  }

  async latestHeight(): Promise<number> {
    return uintField((await this.client.status()).height, 'status.height')
  }
}

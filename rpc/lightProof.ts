import { fromHex, toHex } from '../core/bytes.js'
import type { Hex } from '../core/tx.js'
import { blockHash } from '../state/block.js'
import { StateProofError, verifyStateProof } from '../core/stateProof.js'
import { decodeProvenValue, proofKey, ProofSpecError, type ProofKind } from '../state/proofSpec.js'
import type { AttrchainClient } from './client.js'
import { invalid, LightClientError, type VerifiedHeader } from './lightVerify.js'
import { headerFromJson, isRecord, malformed, uintField } from './lightProvider.js'

/** What verifyStateEntry needs of a light client (LightClient in lightClient.ts). */
export interface HeaderVerifier {
  verifyHeight(height: number | 'latest'): Promise<VerifiedHeader>
}

// ---------------------------------------------------------------- state proofs

/** A state entry proven under a verified header's stateRoot: present with its record, or proven absent. */
export interface VerifiedEntry {
  readonly kind: ProofKind
  readonly id: string
  /** the state key, computed here from (kind, id) (state/proofSpec.ts), never taken from the node */
  readonly key: string
  readonly header: VerifiedHeader
  /** the record decoded from the proven bytes; null when the proof shows the key absent */
  readonly value: Record<string, unknown> | null
  /** the proven bytes as 0x-hex; null when absent */
  readonly rawValue: Hex | null
}

/** What `state_getProof` answers, as far as the check needs it (rpc/api.ts declares the whole shape). */
export interface StateProofAnswer {
  height: number
  value: unknown
  rawValue: string | null
  proof: string[]
  header: unknown
}

function proofFailure(message: string, meta: Record<string, unknown> = {}): never {
  throw new LightClientError('LIGHT_ERROR_PROOF', message, meta)
}

/**
 * Check a `state_getProof` answer against a header the light client
 * verified: the answer's header must be that header (same hash), the proof
 * must lead from the key — computed here from (kind, id) — to its
 * stateRoot (core/stateProof.ts `verifyStateProof`), and the value the node
 * shows (decoded and raw) must be the proven one. Returns what is proven;
 * throws LIGHT_ERROR_PROOF (or LIGHT_ERROR_INVALID_HEADER / MALFORMED).
 */
export function checkStateProof(verified: VerifiedHeader, kind: ProofKind, id: string, answer: StateProofAnswer): VerifiedEntry {
  let key: string
  try {
    key = proofKey(kind, id)
  } catch (e) {
    if (e instanceof ProofSpecError) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', e.reason)
    throw e
  }
  if (!isRecord(answer) || !Array.isArray(answer.proof)) malformed('state proof must be {height, value, rawValue, proof, header}')
  const served = headerFromJson(answer.header)
  const servedHash = blockHash(served)
  if (served.height !== verified.header.height || servedHash !== verified.hash) {
    invalid(served, `the proof comes with block ${servedHash} at height ${served.height}, not the verified ${verified.hash} at ${verified.header.height}`)
  }
  const proof = answer.proof.map((n: unknown, i) => {
    try {
      return fromHex(n, `proof[${i}]`)
    } catch {
      malformed(`proof[${i}] must be 0x-hex`)
    }
  })
  let proven: Uint8Array | null
  try {
    proven = verifyStateProof(fromHex(verified.header.stateRoot), key, proof)
  } catch (e) {
    if (e instanceof StateProofError) proofFailure(`${kind} ${id} at height ${verified.header.height}: ${e.reason} (${e.code})`, { cause: e.code })
    throw e
  }
  const rawValue = proven === null ? null : toHex(proven)
  if ((answer.rawValue ?? null) !== rawValue) proofFailure(`${kind} ${id}: the node's rawValue is not the proven value`, { served: answer.rawValue, proven: rawValue })
  let value: Record<string, unknown> | null = null
  if (proven !== null) {
    try {
      value = decodeProvenValue(kind, proven)
    } catch (e) {
      proofFailure(`${kind} ${id}: the proven bytes are not a ${kind} record: ${(e as Error).message}`)
    }
  }
  if (!sameJson(answer.value ?? null, value)) proofFailure(`${kind} ${id}: the value the node shows differs from the proven one`, { served: answer.value, proven: value })
  return { kind, id, key, header: verified, value, rawValue }
}

/** Deep equality of JSON values, object keys in any order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
  if (!isRecord(a) || !isRecord(b)) return false
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
}

/**
 * Ask the node for (kind, id) at `height` ('latest': the node's head) with
 * `state_getProof`, verify the header of the height it answers for with the
 * light client, and check the proof against it (`checkStateProof`).
 */
export async function verifyStateEntry(lc: HeaderVerifier, client: AttrchainClient, kind: ProofKind, id: string, height: number | 'latest'): Promise<VerifiedEntry> {
  const answer = await client.call('state_getProof', height === 'latest' ? [{ kind, id }] : [{ kind, id }, height]) as unknown as StateProofAnswer
  if (!isRecord(answer)) malformed('state proof must be an object')
  const h = uintField(answer.height, 'state proof height')
  if (height !== 'latest' && h !== height) malformed(`asked for height ${height}, the proof is for ${h}`)
  return checkStateProof(await lc.verifyHeight(h), kind, id, answer)
}

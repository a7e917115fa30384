import { AttrchainError } from '../core/errors.js'
import { parseAddress } from '../core/address.js'
import { K } from './keys.js'
import {
  AccountCodec, ContributionCodec, DatanetCodec, LedgerCodec, ModelCodec, ValidatorCodec, fromBytes, type Codec,
} from './entities.js'
import { ContributionExtraCodec, DatanetTermsCodec, ModelLineageCodec } from './lineage.js'

/**
 * What `state_getProof` can prove (issue 15 item 2): an entity kind and its
 * id name one state key (state/keys.ts). A light client computes the key
 * itself with `proofKey` (it must not take the key from the node it checks)
 * and decodes the proven bytes with `decodeProvenValue`.
 *
 * | kind                 | id              | state key       | record                                              |
 * |----------------------|-----------------|-----------------|-----------------------------------------------------|
 * | `account`            | address         | `acct/<id>`     | balance, nonce                                      |
 * | `validator`          | address         | `val/<id>`      | stake, delegated, commission, jail, pool            |
 * | `ledger`             | address         | `ledger/<id>`   | attribution totals: what the address earned by role |
 * | `datanet`            | Datanet id      | `dn/<id>`       | the Datanet, its contributions count and earnings   |
 * | `datanetTerms`       | Datanet id      | `dnterms/<id>`  | curator share and curation earned                   |
 * | `contribution`       | contribution id | `ctb/<id>`      | status, weight, receipts, earned                    |
 * | `contributionTotals` | contribution id | `ctbx/<id>`     | synthetic source, curation and synthetic paid       |
 * | `model`              | model id        | `model/<id>`    | provenance, receipts, fees total                    |
 * | `modelLineage`       | model id        | `mlin/<id>`     | terms, parents, royalty stack, royalty totals       |
 */
export const PROOF_KINDS = ['account', 'validator', 'ledger', 'datanet', 'datanetTerms', 'contribution', 'contributionTotals', 'model', 'modelLineage'] as const
export type ProofKind = (typeof PROOF_KINDS)[number]

export type ProofSpecErrorCode =
  /** a kind not in PROOF_KINDS */
  | 'PROOF_SPEC_ERROR_UNKNOWN_KIND'
  /** an id that is not an address (address kinds) or a 32-byte 0x-hex id */
  | 'PROOF_SPEC_ERROR_BAD_ID'

export class ProofSpecError extends AttrchainError<ProofSpecErrorCode> {}

const ADDRESS_KINDS: ReadonlySet<string> = new Set(['account', 'validator', 'ledger'])
const ID_RE = /^0x[0-9a-f]{64}$/

const KEY_OF: Record<ProofKind, (id: string) => string> = {
  account: K.account,
  validator: K.validator,
  ledger: K.ledger,
  datanet: K.datanet,
  datanetTerms: K.datanetTerms,
  contribution: K.contribution,
  contributionTotals: K.contributionExtra,
  model: K.model,
  modelLineage: K.modelLineage,
}

const CODEC_OF: Record<ProofKind, Codec<unknown>> = {
  account: AccountCodec,
  validator: ValidatorCodec,
  ledger: LedgerCodec,
  datanet: DatanetCodec,
  datanetTerms: DatanetTermsCodec,
  contribution: ContributionCodec,
  contributionTotals: ContributionExtraCodec,
  model: ModelCodec,
  modelLineage: ModelLineageCodec,
} as Record<ProofKind, Codec<unknown>>

export function isProofKind(kind: unknown): kind is ProofKind {
  return typeof kind === 'string' && (PROOF_KINDS as readonly string[]).includes(kind)
}

/** The id in the form state keys use: a lowercase address, or a lowercase 0x + 64-hex id. Throws ProofSpecError. */
export function normalizeProofId(kind: ProofKind, id: string): string {
  if (ADDRESS_KINDS.has(kind)) {
    try {
      return parseAddress(id)
    } catch {
      throw new ProofSpecError('PROOF_SPEC_ERROR_BAD_ID', `${kind} ids are addresses (0x + 40 hex), got ${JSON.stringify(id)}`, { kind })
    }
  }
  const lower = typeof id === 'string' ? id.toLowerCase() : ''
  if (!ID_RE.test(lower)) throw new ProofSpecError('PROOF_SPEC_ERROR_BAD_ID', `${kind} ids are 32-byte 0x-hex, got ${JSON.stringify(id)}`, { kind })
  return lower
}

/** The state key that (kind, id) names. Throws ProofSpecError on an unknown kind or a malformed id. */
export function proofKey(kind: string, id: string): string {
  if (!isProofKind(kind)) throw new ProofSpecError('PROOF_SPEC_ERROR_UNKNOWN_KIND', `unknown kind ${JSON.stringify(kind)}; one of ${PROOF_KINDS.join(', ')}`, { kind })
  return KEY_OF[kind](normalizeProofId(kind, id))
}

/** A proven value decoded as JSON (amounts as decimal strings of units, ids 0x-hex). Throws if the bytes are not this kind's record. */
export function decodeProvenValue(kind: ProofKind, value: Uint8Array): Record<string, unknown> {
  return jsonSafe(fromBytes(CODEC_OF[kind], value)) as Record<string, unknown>
}

function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return v.map(jsonSafe)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]))
  return v
}

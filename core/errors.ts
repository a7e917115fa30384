/**
 * Typed errors with codes (STYLE.md): every error a caller may need to tell
 * apart carries a stable `code` such as `TX_ERROR_BAD_NONCE` and metadata.
 * The RPC layer maps codes to JSON-RPC errors in one table; nobody parses
 * messages. Each domain declares its codes as a union with one doc line per
 * code and a class `XError extends AttrchainError<XErrorCode>`, so a code
 * that is not declared does not type-check.
 */
export class AttrchainError<C extends string = string> extends Error {
  readonly code: C
  readonly meta: Record<string, unknown>

  constructor(code: C, message: string, meta: Record<string, unknown> = {}) {
    super(`${code}: ${message}`)
    this.name = new.target.name
    this.code = code
    this.meta = meta
  }

  /** The message without the code prefix, for readable RPC errors. */
  get reason(): string {
    return this.message.slice(this.code.length + 2)
  }
}

/** What `CodecError` carries. */
export type CodecErrorCode =
  /** `0x` hex that is not an address (20 bytes) */
  | 'CODEC_ERROR_BAD_ADDRESS'
  /** a string that is not `0x`-prefixed hex */
  | 'CODEC_ERROR_BAD_HEX'
  /** an integer outside uint64 (or the field's range) */
  | 'CODEC_ERROR_BAD_INTEGER'
  /** a key or seed of the wrong length or form */
  | 'CODEC_ERROR_BAD_KEY'
  /** a byte field of the wrong length */
  | 'CODEC_ERROR_BAD_LENGTH'
  /** a value the canonical codec cannot encode (float, undefined, object) */
  | 'CODEC_ERROR_BAD_TYPE'
  /** bytes that are not MessagePack */
  | 'CODEC_ERROR_MALFORMED'
  /** MessagePack that is not in the canonical form (DESIGN §2: arrays, shortest integers) */
  | 'CODEC_ERROR_NOT_CANONICAL'
  /** nesting deeper than the codec allows */
  | 'CODEC_ERROR_TOO_DEEP'
  /** a message over the size limit of its kind */
  | 'CODEC_ERROR_TOO_LARGE'
  /** an amount that is not a canonical decimal string of units (DESIGN §2); `TX_` so RPC maps it as a tx refusal */
  | 'TX_ERROR_BAD_AMOUNT'

/** What `TxError` carries: why a tx is refused at admission (static or envelope) or why its body failed (DESIGN §3). */
export type TxErrorCode =
  /** receipt payer's allowance to the operator is below the fee */
  | 'TX_ERROR_ALLOWANCE_EXCEEDED'
  /** the contribution was already accepted or rejected */
  | 'TX_ERROR_ALREADY_REVIEWED'
  /** an attributed contribution's Datanet is not in the model's provenance */
  | 'TX_ERROR_ATTRIBUTION_OUTSIDE_MODEL'
  /** an amount that is not a canonical decimal string of units */
  | 'TX_ERROR_BAD_AMOUNT'
  /** an integer field outside its range */
  | 'TX_ERROR_BAD_INTEGER'
  /** nonce below the account's (already used) */
  | 'TX_ERROR_BAD_NONCE'
  /** a model's provenance list is empty, too long or has bad weights */
  | 'TX_ERROR_BAD_PROVENANCE'
  /** the signature does not verify for this pubkey and tx */
  | 'TX_ERROR_BAD_SIGNATURE'
  /** unsigned tx version is not the one this chain speaks */
  | 'TX_ERROR_BAD_VERSION'
  /** an attributed contribution is pending or rejected */
  | 'TX_ERROR_CONTRIBUTION_NOT_ACCEPTED'
  /** a Datanet's curator share is over `maxCuratorBps` */
  | 'TX_ERROR_CURATOR_BPS_TOO_HIGH'
  /** a parent model's terms forbid derivatives */
  | 'TX_ERROR_DERIVATIVES_NOT_ALLOWED'
  /** a receipt attributes the same contribution twice */
  | 'TX_ERROR_DUPLICATE_ATTRIBUTION'
  /** a model names the same parent twice */
  | 'TX_ERROR_DUPLICATE_PARENT'
  /** the sender is already a validator */
  | 'TX_ERROR_DUPLICATE_VALIDATOR'
  /** a parents list is present but empty */
  | 'TX_ERROR_EMPTY_PARENTS'
  /** a receipt's fee is below the model's `minFee` */
  | 'TX_ERROR_FEE_BELOW_MODEL_MIN'
  /** the tx fee is below `minTxFee` */
  | 'TX_ERROR_FEE_TOO_LOW'
  /** a string field over its byte limit */
  | 'TX_ERROR_FIELD_TOO_LONG'
  /** a balance cannot pay the fee or the amount */
  | 'TX_ERROR_INSUFFICIENT_BALANCE'
  /** unstaking more than the self-stake */
  | 'TX_ERROR_INSUFFICIENT_STAKE'
  /** the tx would leave the validator set empty */
  | 'TX_ERROR_LAST_VALIDATOR'
  /** the tx or its body does not have the shape of its type */
  | 'TX_ERROR_MALFORMED'
  /** only the Datanet's owner may review its contributions */
  | 'TX_ERROR_NOT_CURATOR'
  /** only the Datanet's owner may set its terms */
  | 'TX_ERROR_NOT_DATANET_OWNER'
  /** unjail from a validator that is not jailed */
  | 'TX_ERROR_NOT_JAILED'
  /** only the model's owner may set its terms */
  | 'TX_ERROR_NOT_MODEL_OWNER'
  /** undelegate from a validator the sender has no delegation to */
  | 'TX_ERROR_NO_DELEGATION'
  /** the flattened royalty stack would exceed `maxRoyaltyStack` ancestors */
  | 'TX_ERROR_ROYALTY_STACK_TOO_DEEP'
  /** the royalty stack would take more than `maxRoyaltyStackBps` of the owner share */
  | 'TX_ERROR_ROYALTY_STACK_TOO_EXPENSIVE'
  /** self-stake below `minValidatorStake` */
  | 'TX_ERROR_STAKE_TOO_LOW'
  /** the signed tx is over the size limit */
  | 'TX_ERROR_TOO_LARGE'
  /** a receipt attributes more contributions than `maxAttribution` */
  | 'TX_ERROR_TOO_MANY_ATTRIBUTIONS'
  /** a model names more parents than allowed */
  | 'TX_ERROR_TOO_MANY_PARENTS'
  /** a receipts tx holds none or more than `maxReceiptsPerTx` */
  | 'TX_ERROR_TOO_MANY_RECEIPTS'
  /** unjail before `jailedUntil` */
  | 'TX_ERROR_UNJAIL_TOO_EARLY'
  /** no contribution with this id */
  | 'TX_ERROR_UNKNOWN_CONTRIBUTION'
  /** no Datanet with this id */
  | 'TX_ERROR_UNKNOWN_DATANET'
  /** no model with this id */
  | 'TX_ERROR_UNKNOWN_MODEL'
  /** a parent model that does not exist */
  | 'TX_ERROR_UNKNOWN_PARENT'
  /** a synthetic contribution's source model does not exist */
  | 'TX_ERROR_UNKNOWN_SOURCE_MODEL'
  /** a tx type this chain does not know */
  | 'TX_ERROR_UNKNOWN_TYPE'
  /** the address is not a validator */
  | 'TX_ERROR_UNKNOWN_VALIDATOR'
  /** the tx names another chain id */
  | 'TX_ERROR_WRONG_CHAIN'
  /** delegations to a validator slashed to 0 tokens take no new stake until closed */
  | 'TX_ERROR_ZERO_EXCHANGE_RATE'
  /** signCheckpoint: this validator already signed that checkpoint */
  | 'TX_ERROR_ALREADY_SIGNED'
  /** signCheckpoint: not a low-s signature of the checkpoint by the signer's checkpoint address */
  | 'TX_ERROR_BAD_CHECKPOINT_SIGNATURE'
  /** setCheckpointKey: the zero address */
  | 'TX_ERROR_BAD_CHECKPOINT_KEY'
  /** setCheckpointKey: another validator holds this checkpoint address */
  | 'TX_ERROR_CHECKPOINT_KEY_TAKEN'
  /** signCheckpoint: the sender is not in the checkpoint's signer set */
  | 'TX_ERROR_NOT_CHECKPOINT_SIGNER'
  /** signCheckpoint: no checkpoint was recorded at that height */
  | 'TX_ERROR_UNKNOWN_CHECKPOINT'

/** What `GenesisError` carries. */
export type GenesisErrorCode =
  /** a genesis field that does not validate (`meta.field` names it) */
  'GENESIS_ERROR_INVALID'

/** What `BlockError` carries: why a block is refused (DESIGN §5); nothing of it is written. */
export type BlockErrorCode =
  /** the last commit is missing, present on block 1, or does not verify */
  | 'BLOCK_ERROR_BAD_COMMIT'
  /** the header's lastCommitHash does not match the carried commit */
  | 'BLOCK_ERROR_BAD_COMMIT_HASH'
  /** evidence outside the window, against an unknown validator, or not a double sign */
  | 'BLOCK_ERROR_BAD_EVIDENCE'
  /** not head + 1 */
  | 'BLOCK_ERROR_BAD_HEIGHT'
  /** prevHash is not the head's hash */
  | 'BLOCK_ERROR_BAD_PREV_HASH'
  /** the proposer is not in the set of this height */
  | 'BLOCK_ERROR_BAD_PROPOSER'
  /** the state root after execution differs from the header's */
  | 'BLOCK_ERROR_BAD_STATE_ROOT'
  /** time not after the head's, before genesis, or too far in the future */
  | 'BLOCK_ERROR_BAD_TIME'
  /** txRoot does not match the txs */
  | 'BLOCK_ERROR_BAD_TX_ROOT'
  /** validatorsHash is not the set of this height */
  | 'BLOCK_ERROR_BAD_VALIDATORS_HASH'
  /** a tx that cannot be included (bad signature or envelope); `meta.index` names it */
  | 'BLOCK_ERROR_INVALID_TX'
  /** bytes that do not decode as a block */
  | 'BLOCK_ERROR_MALFORMED'
  /** no eligible validator (genesis) */
  | 'BLOCK_ERROR_NO_VALIDATORS'
  /** txs over `maxBlockBytes` */
  | 'BLOCK_ERROR_TOO_LARGE'
  /** receipts over `maxBlockReceipts` */
  | 'BLOCK_ERROR_TOO_MANY_RECEIPTS'
  /** txs over `maxBlockTxs` */
  | 'BLOCK_ERROR_TOO_MANY_TXS'
  /** the header names another chain id */
  | 'BLOCK_ERROR_WRONG_CHAIN'

/** What `InvariantError` carries. */
export type InvariantErrorCode =
  /** an `invariant()` assertion failed: a bug or damaged state, never the input's fault */
  | 'INVARIANT_VIOLATED'
  /** the state has no chain meta: it was never initialized from genesis */
  | 'STATE_ERROR_NOT_INITIALIZED'

/** Malformed bytes, hex, amounts, addresses: anything that fails to parse. */
export class CodecError extends AttrchainError<CodecErrorCode> {}
/** A transaction that is statically invalid or fails against state. */
export class TxError extends AttrchainError<TxErrorCode> {}
/** A genesis file that does not validate. */
export class GenesisError extends AttrchainError<GenesisErrorCode> {}
/** A block that cannot be applied (bad header, bad evidence, bad tx). */
export class BlockError extends AttrchainError<BlockErrorCode> {}
/**
 * A broken invariant of our own state or code, never a fault of the input:
 * it is not a `TxError`, so tx execution does not record it as a failed tx,
 * and block execution lets it through, so the block is refused.
 */
export class InvariantError extends AttrchainError<InvariantErrorCode> {}

export function isAttrchainError(e: unknown): e is AttrchainError {
  return e instanceof AttrchainError
}

/** Invariant assertion (STYLE.md: assert invariants in code); throws `InvariantError`. */
export function invariant(cond: unknown, what: string, meta: Record<string, unknown> = {}): asserts cond {
  if (!cond) throw new InvariantError('INVARIANT_VIOLATED', what, meta)
}

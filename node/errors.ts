import { AttrchainError } from '../core/errors.js'

/**
 * Codes of the node's own services that have no error class of their own
 * (chain service, consensus driver, flow statistics, signature verifier,
 * consensus WAL). Each is an internal failure or a damaged data dir, never
 * a user's input: they are logged, or halt consensus, and are not mapped
 * to a JSON-RPC code of their own (-32000).
 */
export type NodeErrorCode =
  /** a block has no flow statistics record: the data dir is damaged (node/chain.ts) */
  | 'CHAIN_ERROR_NO_FLOW_STATS'
  /** the chain has no head yet (used before genesis was applied) */
  | 'CHAIN_ERROR_NO_HEAD'
  /** no validator set is known for that height (beyond head + 2, or pruned) */
  | 'CHAIN_ERROR_NO_VALIDATOR_SET'
  /** block bytes that do not hash to the proposed or decided hash (node/driver.ts) */
  | 'DRIVER_ERROR_HASH_MISMATCH'
  /** consensus asked for a block this node does not hold */
  | 'DRIVER_ERROR_NO_BLOCK'
  /** the head's commit is not stored */
  | 'DRIVER_ERROR_NO_COMMIT'
  /** every nonce slot the checkpoint signer may use is taken by this validator's pending txs (node/checkpointSigner.ts) */
  | 'CHECKPOINT_ERROR_NO_NONCE'
  /** flow statistics asked to add a block that is not the next one (node/flowStats.ts) */
  | 'FLOW_ERROR_BAD_HEIGHT'
  /** the signature verifier was used after close() (node/verifier.ts) */
  | 'VERIFIER_ERROR_CLOSED'
  /** a consensus WAL record of an unknown or unlogged kind (node/consensusWal.ts) */
  | 'WAL_ERROR_BAD_RECORD'

export class NodeError extends AttrchainError<NodeErrorCode> {}

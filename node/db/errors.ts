import { AttrchainError } from '../../core/errors.js'

/**
 * Everything the chain database refuses carries one of these codes
 * (STYLE.md: typed errors), so that the CLI can print one clear line and the
 * node can tell "another process owns this dir" from "this dir belongs to
 * another chain" without parsing messages.
 */
export type DbErrorCode =
  /** the data dir is held by another attrchain process (LevelDB's LOCK file) */
  | 'DB_ERROR_LOCKED'
  /** LevelDB could not open the dir for another reason (permissions, corruption) */
  | 'DB_ERROR_OPEN_FAILED'
  /** the data dir was written with another storage schema version */
  | 'DB_ERROR_SCHEMA_VERSION'
  /** the data dir was created for another genesis hash or chain id */
  | 'DB_ERROR_WRONG_GENESIS'
  /** a block or genesis commit that does not extend the head by exactly one */
  | 'DB_ERROR_BAD_HEIGHT'
  /** a commit whose parts disagree (hash, state root, result count) */
  | 'DB_ERROR_INCONSISTENT_COMMIT'
  /** a commit started while another one is still being written */
  | 'DB_ERROR_COMMIT_IN_PROGRESS'
  /** LevelDB refused a batch; nothing of it is applied to memory */
  | 'DB_ERROR_WRITE_FAILED'
  /** a stored record that does not decode: the dir was damaged or written by other software */
  | 'DB_ERROR_CORRUPT'
  /** the database was used after close() */
  | 'DB_ERROR_CLOSED'
  /** a height below the lowest this node keeps (pruneKeepBlocks, or a node that joined by state sync) */
  | 'DB_ERROR_PRUNED'
  /** a state snapshot that cannot be restored here (a dir that already has a chain, parts that disagree) */
  | 'DB_ERROR_BAD_SNAPSHOT'

export class DbError extends AttrchainError {
  declare readonly code: DbErrorCode

  constructor(code: DbErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
  }
}

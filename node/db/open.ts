import { Level } from 'level'
import { toHex, fromHex } from '../../core/bytes.js'
import { MemoryStateStore, type WriteSet } from '../../state/store.js'
import { Bucket, SCHEMA_VERSION, keys, bucketRange, stateKeyOf, encodeChainInfo, decodeChainInfo } from './buckets.js'
import { DbError } from './errors.js'
import type { ChainDbOptions, Db } from './types.js'

/**
 * Opening a data dir (ChainDb.open): the LevelDB handle with clear errors
 * for a locked or unreadable dir, the chain-info check that refuses another
 * chain's dir or another schema, and the state loaded whole into memory.
 */

/** Values from LevelDB may be Buffers over a shared pool; callers get plain, owned Uint8Arrays. */
export const own = (b: Uint8Array): Uint8Array => new Uint8Array(b)

function levelCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code
}

function isLockError(e: unknown): boolean {
  return levelCode(e) === 'LEVEL_LOCKED' || levelCode((e as { cause?: unknown }).cause) === 'LEVEL_LOCKED'
}

/** The LevelDB at `opts.dir`, open; throws DB_ERROR_LOCKED (another process holds it) or DB_ERROR_OPEN_FAILED. */
export async function openLevel(opts: ChainDbOptions): Promise<Db> {
  const db: Db = new Level<Uint8Array, Uint8Array>(opts.dir, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (e) {
    if (isLockError(e)) {
      throw new DbError('DB_ERROR_LOCKED', `data dir ${opts.dir} is in use by another attrchain process; stop it or choose another --home`, { dir: opts.dir })
    }
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message
    throw new DbError('DB_ERROR_OPEN_FAILED', `cannot open data dir ${opts.dir}: ${cause}`, { dir: opts.dir })
  }
  return db
}

export async function checkChainInfo(db: Db, opts: ChainDbOptions): Promise<void> {
  const wanted = { schemaVersion: SCHEMA_VERSION, genesisHash: toHex(fromHex(opts.genesisHash, 'genesisHash', 32)), chainId: opts.chainId }
  const stored = await db.get(keys.chainInfo())
  if (stored === undefined) {
    await db.put(keys.chainInfo(), encodeChainInfo(wanted), { sync: true })
    return
  }
  const info = decodeChainInfo(stored)
  if (info.schemaVersion !== SCHEMA_VERSION) {
    throw new DbError('DB_ERROR_SCHEMA_VERSION', `data dir ${opts.dir} has storage schema v${info.schemaVersion}; this node reads v${SCHEMA_VERSION}`, {
      dir: opts.dir, stored: info.schemaVersion,
    })
  }
  if (info.genesisHash !== wanted.genesisHash || info.chainId !== wanted.chainId) {
    throw new DbError(
      'DB_ERROR_WRONG_GENESIS',
      `data dir ${opts.dir} belongs to chain ${info.chainId} with genesis ${info.genesisHash}, not ${wanted.chainId} with genesis ${wanted.genesisHash}`,
      { dir: opts.dir, storedGenesisHash: info.genesisHash, storedChainId: info.chainId, genesisHash: wanted.genesisHash, chainId: wanted.chainId },
    )
  }
}

/** Read the whole state bucket into memory, in batches to keep the iterator's round trips few. */
export async function loadState(db: Db): Promise<MemoryStateStore> {
  const writes: WriteSet = new Map()
  const it = db.iterator(bucketRange(Bucket.state))
  try {
    for (;;) {
      const entries = await it.nextv(4096)
      if (entries.length === 0) break
      for (const [k, v] of entries) writes.set(stateKeyOf(k), own(v))
    }
  } finally {
    await it.close()
  }
  const state = new MemoryStateStore()
  state.apply(writes)
  return state
}

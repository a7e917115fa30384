import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256 } from '../core/hash.js'
import { toHex } from '../core/bytes.js'
import { encodeCommit, encodeValidatorSet, type Commit } from '../consensus/index.js'
import type { ChainService } from './chain.js'
import { encodeFlowRecord } from './flowStats.js'
import type { Logger } from './logger.js'
import { chunkEntries, encodeManifest, encodeSnapshotList, MAX_CHUNK_BYTES, MAX_LISTED_SNAPSHOTS, type SnapshotListing, type SnapshotRequest } from '../p2p/snapshot.js'

export interface SnapshotStoreOptions {
  /** where snapshots live: one subdir per height (`<home>/data/snapshots`) */
  dir: string
  /** take one every this many heights (0: never; the store still serves none) */
  interval: number
  /** keep this many, newest first */
  keep: number
  /** bytes of entries per chunk, at most MAX_CHUNK_BYTES */
  chunkBytes: number
}

export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024

const pad = (h: number): string => h.toString().padStart(12, '0')
const chunkName = (i: number): string => `chunk-${i.toString().padStart(6, '0')}`

/**
 * State snapshots for state sync (issue 17, p2p/snapshot.ts for the format).
 * After the block of every `interval`-th height is committed, the state is
 * captured at once (a copy of the entry list: values are never mutated, a
 * block's writes replace them) and written in the background, sorted,
 * chunked and hashed, into a temp dir renamed into place when complete; a
 * half-written snapshot is never listed, and leftovers are deleted at open.
 * Consensus is not stalled beyond the copy of the entry list.
 */
export class SnapshotStore {
  /** complete snapshots, by height */
  private readonly held = new Map<number, SnapshotListing>()
  private writing: Promise<void> | null = null

  private constructor(private readonly opts: SnapshotStoreOptions, private readonly log: Logger) {}

  static async open(opts: SnapshotStoreOptions, log: Logger): Promise<SnapshotStore> {
    const store = new SnapshotStore({ ...opts, chunkBytes: Math.min(Math.max(1024, opts.chunkBytes), MAX_CHUNK_BYTES) }, log)
    await mkdir(opts.dir, { recursive: true })
    for (const name of await readdir(opts.dir)) {
      const path = join(opts.dir, name)
      if (!/^\d{12}$/.test(name)) {
        await rm(path, { recursive: true, force: true })
        continue
      }
      try {
        const manifest = await readFile(join(path, 'manifest'))
        const chunks = (await readdir(path)).filter((n) => n.startsWith('chunk-')).length
        store.held.set(Number(name), { height: Number(name), hash: toHex(sha256(manifest)), chunks })
      } catch {
        await rm(path, { recursive: true, force: true })
      }
    }
    return store
  }

  /** Held snapshots, newest first (what the protocol's list request answers). */
  list(): SnapshotListing[] {
    return [...this.held.values()].sort((a, b) => b.height - a.height).slice(0, MAX_LISTED_SNAPSHOTS)
  }

  /** The manifest bytes of a held snapshot, null when not held. */
  async manifest(height: number): Promise<Uint8Array | null> {
    if (!this.held.has(height)) return null
    return readFile(join(this.opts.dir, pad(height), 'manifest')).catch(() => null)
  }

  /** Chunk `index` of a held snapshot, null when not held. */
  async chunk(height: number, index: number): Promise<Uint8Array | null> {
    const s = this.held.get(height)
    if (!s || index >= s.chunks) return null
    return readFile(join(this.opts.dir, pad(height), chunkName(index))).catch(() => null)
  }

  /** The last snapshot being written has finished (tests, shutdown). */
  async idle(): Promise<void> {
    await this.writing
  }

  /**
   * Called after each committed block, synchronously after its commit (the
   * chain's head and state are this block's). Takes a snapshot when the
   * height is a multiple of `interval` and no earlier one is still being written.
   */
  afterCommit(chain: ChainService, commit: Commit): void {
    const head = chain.head
    if (this.opts.interval <= 0 || head.height % this.opts.interval !== 0 || this.writing !== null) return
    const sets = [head.height, head.height + 1, head.height + 2].map((h) => chain.knownValidatorSet(h))
    if (sets.some((s) => s === undefined) || chain.lastFlow.height !== head.height || commit.height !== head.height) {
      this.log.warn('snapshot skipped: the node does not hold what it needs for this height', { height: head.height })
      return
    }
    const entries = [...chain.db.state.entries()]
    const manifest = {
      height: head.height, blockHash: head.blockHash, stateRoot: head.stateRoot, timeMs: head.timeMs, entries: entries.length,
      validatorSets: sets.map((s) => encodeValidatorSet(s!)) as [Uint8Array, Uint8Array, Uint8Array],
      flowRecord: encodeFlowRecord(chain.lastFlow), commit: encodeCommit(commit),
    }
    this.writing = this.write(manifest, entries)
      .catch((e: Error) => this.log.error('could not write a state snapshot', { height: head.height, reason: e.message }))
      .finally(() => { this.writing = null })
  }

  private async write(m: Omit<Parameters<typeof encodeManifest>[0], 'chunkHashes'>, entries: [string, Uint8Array][]): Promise<void> {
    const started = performance.now()
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const chunks = chunkEntries(entries, this.opts.chunkBytes)
    const manifest = encodeManifest({ ...m, chunkHashes: chunks.map((c) => sha256(c)) })
    const final = join(this.opts.dir, pad(m.height))
    const tmp = `${final}.tmp`
    await rm(tmp, { recursive: true, force: true })
    await mkdir(tmp, { recursive: true })
    for (const [i, c] of chunks.entries()) await writeFile(join(tmp, chunkName(i)), c)
    await writeFile(join(tmp, 'manifest'), manifest)
    await rm(final, { recursive: true, force: true })
    await rename(tmp, final)
    this.held.set(m.height, { height: m.height, hash: toHex(sha256(manifest)), chunks: chunks.length })
    this.log.info('state snapshot taken', { height: m.height, entries: entries.length, chunks: chunks.length, ms: Math.round(performance.now() - started) })
    for (const old of this.list().slice(this.opts.keep)) {
      this.held.delete(old.height)
      await rm(join(this.opts.dir, pad(old.height)), { recursive: true, force: true })
    }
  }
}

/** The `/snapshot/1` answer from a store (null store: the node takes no snapshots, lists none). */
export async function serveSnapshotRequest(store: SnapshotStore | null, req: SnapshotRequest): Promise<Uint8Array> {
  if (req.kind === 'list') return encodeSnapshotList(store?.list() ?? [])
  const bytes = store === null ? null : req.kind === 'manifest' ? await store.manifest(req.height) : await store.chunk(req.height, req.index)
  return bytes ?? new Uint8Array(0)
}

import { openSync, writeSync, writevSync, fsyncSync, closeSync, readFileSync, existsSync, mkdirSync, ftruncateSync } from 'node:fs'
import { dirname } from 'node:path'
import { encode, decode, type Encodable } from '../core/codec.js'
import { NodeError } from './errors.js'
import {
  encodeProposal, decodeProposal, encodeVote, decodeVote, type ConsensusInput, type Step,
} from '../consensus/index.js'

/**
 * The consensus write-ahead log: every input the core consumed at the
 * current height, so that a restarted validator replays them and gets back
 * its locked and valid values (Tendermint's safety relies on them; the
 * PrivValidator alone only prevents double signing). Records are appended
 * unsynced and the file is fsynced before anything is signed, so every
 * input that led to a signature is durable before the signature leaves. The
 * file is emptied when a new height starts.
 *
 * The fsync stays on the main thread, on purpose: done in libuv's thread
 * pool (awaited before signing), it waited there behind LevelDB's writes,
 * and the vote, once signed, behind whatever task held the event loop; the
 * 4-validator flood's votes then waited 25-77 ms on average at the driver
 * instead of 9-16 ms, and heights took a second round (README
 * *Performance*).
 */
export interface WalRecord {
  height: number
  input: ConsensusInput
  /**
   * block bytes that came with a proposal or that we proposed; null for an
   * input without a block, and for one naming a block whose bytes an
   * earlier record of the height holds (node/driver.ts logs them once)
   */
  blockBytes: Uint8Array | null
}

const STEPS: Step[] = ['propose', 'prevote', 'precommit']

function inputToEncodable(r: WalRecord): Encodable {
  const i = r.input
  switch (i.kind) {
    case 'proposal': return [1, r.height, encodeProposal(i.proposal), r.blockBytes]
    case 'vote': return [2, r.height, encodeVote(i.vote)]
    case 'timeout': return [3, r.height, i.round, STEPS.indexOf(i.step)]
    case 'proposalValidated': return [4, r.height, i.blockHash, i.valid]
    case 'proposalValue': return [5, r.height, i.round, i.blockHash, r.blockBytes]
    case 'newHeight': throw new NodeError('WAL_ERROR_BAD_RECORD', 'newHeight is not logged')
  }
}

function inputFromEncodable(e: Encodable): WalRecord {
  const a = e as Encodable[]
  const height = a[1] as number
  switch (a[0]) {
    case 1: return { height, input: { kind: 'proposal', proposal: decodeProposal(a[2] as Uint8Array) }, blockBytes: (a[3] as Uint8Array | null) ?? null }
    case 2: return { height, input: { kind: 'vote', vote: decodeVote(a[2] as Uint8Array) }, blockBytes: null }
    case 3: return { height, input: { kind: 'timeout', height, round: a[2] as number, step: STEPS[a[3] as number] }, blockBytes: null }
    case 4: return { height, input: { kind: 'proposalValidated', height, blockHash: a[2] as Uint8Array, valid: a[3] as boolean }, blockBytes: null }
    case 5: return { height, input: { kind: 'proposalValue', height, round: a[2] as number, blockHash: a[3] as Uint8Array }, blockBytes: (a[4] as Uint8Array | null) ?? null }
    default: throw new NodeError('WAL_ERROR_BAD_RECORD', `unknown consensus WAL record kind ${String(a[0])}`)
  }
}

export class ConsensusWal {
  private fd: number
  private dirty = false

  /**
   * Opens (creating) the log at `path`. A torn last record (a crash
   * mid-write) is cut off here, durably, before anything is appended: left
   * in place, the records a restarted validator appends would sit behind it,
   * and `read` — which stops at the first bad record — would lose them
   * after a second crash at the same height (inputs that led to signatures).
   */
  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true })
    this.fd = openSync(path, 'a+')
    const buf = readFileSync(this.path)
    const end = parseRecords(buf).end
    if (end < buf.length) {
      ftruncateSync(this.fd, end)
      fsyncSync(this.fd)
    }
  }

  /** Records of `height`, in order; a torn last record (crash mid-write) is dropped. */
  read(height: number): WalRecord[] {
    if (!existsSync(this.path)) return []
    return parseRecords(readFileSync(this.path)).records.filter((r) => r.height === height)
  }

  append(r: WalRecord): void {
    const body = encode(inputToEncodable(r))
    const head = Buffer.alloc(4)
    head.writeUInt32BE(body.length)
    // two buffers in one write: joining them copied every proposal's block into a fresh buffer first
    const total = 4 + body.length
    let written = writevSync(this.fd, [head, body])
    if (written < total) {
      // a short write (rare on a regular file): the rest, from where it stopped
      const all = Buffer.concat([head, body])
      while (written < total) written += writeSync(this.fd, all, written)
    }
    this.dirty = true
  }

  /** Make every appended record durable (called before signing). */
  sync(): void {
    if (!this.dirty) return
    fsyncSync(this.fd)
    this.dirty = false
  }

  /**
   * A new height: the previous one's records are no longer needed. Not
   * fsynced: should a crash undo the truncation, the old records are of
   * another height, and `read` ignores them.
   */
  reset(): void {
    ftruncateSync(this.fd, 0)
    this.dirty = false
  }

  close(): void {
    closeSync(this.fd)
  }
}

/** The records of a log file's bytes up to the first torn or unreadable one, and where that valid prefix ends (bytes). */
function parseRecords(buf: Buffer): { records: WalRecord[]; end: number } {
  const records: WalRecord[] = []
  let pos = 0
  while (pos + 4 <= buf.length) {
    const len = buf.readUInt32BE(pos)
    if (pos + 4 + len > buf.length) break
    try {
      records.push(inputFromEncodable(decode(new Uint8Array(buf.subarray(pos + 4, pos + 4 + len)))))
    } catch {
      break
    }
    pos += 4 + len
  }
  return { records, end: pos }
}

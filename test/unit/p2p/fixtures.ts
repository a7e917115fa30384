import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../../../core/hash.js'
import { fromHex, toHex } from '../../../core/bytes.js'
import { KeyPair } from '../../../core/keys.js'
import { signTx, type SignedTx } from '../../../core/tx.js'
import { makeEvidence, proposalSignBytes, voteSignBytes, ValidatorSet, type Evidence, type Proposal, type Vote, type VoteType } from '../../../consensus/index.js'
import { blockHash, encodeBlock, txRoot, ZERO_HASH } from '../../../state/index.js'
import type { Logger } from '../../../node/logger.js'
import type { P2PHandlers, SyncBlock } from '../../../p2p/index.js'

export const CHAIN_ID = 'attrchain-p2p-test'
export const GENESIS = toHex(sha256('attrchain/test/p2p/genesis'))
export const OTHER_GENESIS = toHex(sha256('attrchain/test/p2p/other-genesis'))

export const validators = [0, 1, 2].map((i) => new KeyPair(sha256(`attrchain/test/p2p/validator/${i}`)))
export const account = new KeyPair(sha256('attrchain/test/p2p/account'))

/** Heights whose validator set the recorder knows; further ones are "too far" (validatorPubKey → null). */
export const KNOWN_HEIGHTS = 1000

/**
 * A block of `height` proposed by `proposer`; `padding` bytes ride in one
 * opaque tx to make it large (gossip checks the header binds the body, not
 * what the txs mean). `swapTxs` keeps the header but changes the body.
 */
export function makeBlock(height: number, proposer: KeyPair, opts: { padding?: number; chainId?: string; swapTxs?: boolean } = {}): { bytes: Uint8Array; hash: Uint8Array } {
  const txs = (opts.padding ?? 0) > 0 ? [new Uint8Array(opts.padding!).fill(7)] : []
  const header = {
    chainId: opts.chainId ?? CHAIN_ID, height, timeMs: 1_700_000_000_000 + height, prevHash: ZERO_HASH, txRoot: txRoot(txs),
    stateRoot: ZERO_HASH, validatorsHash: ZERO_HASH, proposer: proposer.address, lastCommitHash: ZERO_HASH,
  }
  const body = opts.swapTxs === true ? [new Uint8Array([1, 2, 3])] : txs
  return { bytes: encodeBlock({ header, txs: body, lastCommit: null, evidence: [] }), hash: fromHex(blockHash(header)) }
}

export function signProposal(key: KeyPair, height: number, round: number, hash: Uint8Array, chainId = CHAIN_ID): Proposal {
  const unsigned = { height, round, validRound: -1, blockHash: hash, proposer: key.address }
  return { ...unsigned, signature: key.sign(proposalSignBytes(chainId, unsigned)) }
}

export function signVote(key: KeyPair, height: number, round: number, type: VoteType = 'prevote', chainId = CHAIN_ID, value = `block/${height}/${round}`): Vote {
  const unsigned = { type, height, round, blockHash: sha256(value), validator: key.address }
  return { ...unsigned, signature: key.sign(voteSignBytes(chainId, unsigned)) }
}

/** `key` signed two prevotes for different blocks at (height, round): double-sign evidence. */
export function doubleSign(key: KeyPair, height: number, round = 0): Evidence {
  return makeEvidence(signVote(key, height, round), signVote(key, height, round, 'prevote', CHAIN_ID, `other/${height}/${round}`))
}

/** The fixtures' validators with equal power, as the set of every known height. */
export const validatorSet = ValidatorSet.create(validators.map((v) => ({ address: v.address, pubKey: v.publicKey, power: 10n })))

export function makeTx(nonce: number, chainId = CHAIN_ID): SignedTx {
  return signTx({ chainId, nonce, fee: 10n ** 15n, call: { type: 'transfer', to: validators[0]!.address, amount: 1n } }, account)
}

/** A copy of `sig` with one bit flipped. */
export function flip(sig: Uint8Array): Uint8Array {
  const out = new Uint8Array(sig)
  out[0]! ^= 1
  return out
}

/** The node side of a host under test: records what gossip delivers and serves blocks from a map. */
export class Recorder implements P2PHandlers {
  height: number
  readonly txs: { tx: SignedTx; from: string }[] = []
  readonly proposals: { proposal: Proposal; blockBytes: Uint8Array; from: string }[] = []
  readonly votes: { vote: Vote; from: string }[] = []
  readonly evidence: { evidence: Evidence; from: string }[] = []
  readonly blocks = new Map<number, SyncBlock>()
  /** heights whose getBlocks never answers, to exercise request timeouts */
  readonly stallFrom = new Set<number>()

  constructor(height: number) {
    this.height = height
  }

  onTxs(txs: SignedTx[], from: string): void {
    for (const tx of txs) this.txs.push({ tx, from })
  }

  onProposal(proposal: Proposal, blockBytes: Uint8Array, from: string): void {
    this.proposals.push({ proposal, blockBytes, from })
  }

  onVote(vote: Vote, from: string): void {
    this.votes.push({ vote, from })
  }

  onEvidence(evidence: Evidence, from: string): void {
    this.evidence.push({ evidence, from })
  }

  /** Evidence already delivered (by validator and height) is known, as a node's pool would hold it. */
  knownEvidence(e: Evidence): boolean {
    return this.evidence.some((x) => x.evidence.voteA.validator === e.voteA.validator && x.evidence.voteA.height === e.voteA.height)
  }

  evidenceValidatorSet(height: number): Promise<ValidatorSet | null> {
    return Promise.resolve(height > KNOWN_HEIGHTS ? null : validatorSet)
  }

  getStatus(): { height: number } {
    return { height: this.height }
  }

  getBlocks(from: number, to: number): Promise<SyncBlock[]> {
    if (this.stallFrom.has(from)) return new Promise(() => undefined)
    const out: SyncBlock[] = []
    for (let h = from; h <= to && this.blocks.has(h); h++) out.push(this.blocks.get(h)!)
    return Promise.resolve(out)
  }

  validatorPubKey(height: number, address: string): Uint8Array | null {
    if (height > KNOWN_HEIGHTS) return null
    return validators.find((v) => v.address === address)?.publicKey ?? null
  }
}

/** A logger that keeps warn-and-above lines for assertions (debug/info dropped to keep test output quiet). */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; msg: string; ctx: Record<string, unknown> }[] = []
  error(msg: string, ctx: Record<string, unknown> = {}): void { this.lines.push({ level: 'error', msg, ctx }) }
  warn(msg: string, ctx: Record<string, unknown> = {}): void { this.lines.push({ level: 'warn', msg, ctx }) }
  info(): void {}
  debug(): void {}
  child(): Logger { return this }
}

export { freePort } from '../../helpers/ports.js'

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-p2p-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Polls `done` until it holds or the deadline passes; `retry` runs every
 * `retryMs` meanwhile (re-publishing: gossip only reaches peers whose
 * subscriptions are known, and the mesh forms over heartbeats). The default
 * deadline (30 s) is generous: callers wait on real libp2p work (Noise
 * handshakes, gossipsub meshes over 1 s heartbeats) that a loaded 2-core
 * machine running other test files slows several-fold; a fast run returns
 * as soon as `done` holds.
 */
export async function waitFor(what: string, done: () => boolean, opts: { timeoutMs?: number; retry?: () => void; retryMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  let nextRetry = 0
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    if (opts.retry && Date.now() >= nextRetry) {
      opts.retry()
      nextRetry = Date.now() + (opts.retryMs ?? 250)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
}

import { signTx, type SignedTx } from '../core/tx.js'
import { toHex } from '../core/bytes.js'
import type { KeyPair } from '../core/keys.js'
import type { CheckpointKey } from '../core/checkpointKey.js'
import { AttrchainError } from '../core/errors.js'
import { NodeError } from './errors.js'
import type { Params } from '../genesis/params.js'
import type { StateStore } from '../state/store.js'
import { checkpointDigest, readCheckpoint, type CheckpointRecord } from '../state/checkpoint.js'
import type { Logger } from './logger.js'

export interface CheckpointSignerOptions {
  chainId: string
  params: Params
  validatorKey: KeyPair
  checkpointKey: CheckpointKey
  /** a sent signature not included after this many blocks is sent again */
  resendAfterBlocks: number
  /** how many of the latest checkpoints are looked at for a missing signature (after a restart or downtime) */
  lookBack: number
}

export const defaultCheckpointSignerOptions = { resendAfterBlocks: 20, lookBack: 4 }

export interface CheckpointSignerModules {
  /** the committed state (read after each commit) */
  state: StateStore
  nonce(address: string): number
  /** admit to the mempool and gossip as a node-originated tx (node.submitTx with `local: true`: no intake load shedding) */
  submitTx(bytes: Uint8Array): Promise<SignedTx>
  logger: Logger
}

/**
 * A validator node's side of rollup checkpoints (README "Rollup
 * checkpoints"): after each commit, if a recent checkpoint names this
 * validator as a signer and holds no signature of it yet, sign its EIP-712
 * digest with the checkpoint key and send a `signCheckpoint` tx from the
 * validator's account (fee params.minTxFee). One tx in flight at a time; a
 * tx not included after `resendAfterBlocks` is sent again, so a node that
 * restarts or whose tx was dropped catches up by itself.
 */
export class CheckpointSigner {
  private inFlight: { height: number; sentAt: number } | null = null
  private warnedKey = -1

  constructor(private readonly opts: CheckpointSignerOptions, private readonly m: CheckpointSignerModules) {}

  onCommit(height: number): void {
    const cp = this.nextToSign(height)
    if (!cp) return
    this.inFlight = { height: cp.height, sentAt: height }
    this.send(cp).catch((e: unknown) => {
      this.m.logger.warn('checkpoint signature not sent', { height: cp.height, error: (e as Error).message })
      this.inFlight = null
    })
  }

  /** The oldest of the last `lookBack` checkpoints this validator must still sign, unless one is in flight. */
  private nextToSign(height: number): CheckpointRecord | null {
    const interval = this.opts.params.checkpointInterval
    const latest = readCheckpoint(this.m.state)
    if (!latest || interval === 0) return null
    if (this.inFlight && height - this.inFlight.sentAt < this.opts.resendAfterBlocks) {
      const cp = readCheckpoint(this.m.state, this.inFlight.height)
      if (cp && !this.signed(cp)) return null
    }
    const me = this.opts.validatorKey.address
    for (let h = Math.max(interval, latest.height - (this.opts.lookBack - 1) * interval); h <= latest.height; h += interval) {
      const cp = readCheckpoint(this.m.state, h)
      if (!cp || this.signed(cp)) continue
      const member = cp.signers.find((s) => s.validator === me)
      if (!member) continue
      if (member.ethAddress !== this.opts.checkpointKey.address) {
        if (this.warnedKey !== h) this.m.logger.warn('checkpoint key file does not hold the key the chain has for this validator', { height: h, chain: member.ethAddress, file: this.opts.checkpointKey.address })
        this.warnedKey = h
        continue
      }
      return cp
    }
    return null
  }

  private signed(cp: CheckpointRecord): boolean {
    const index = cp.signers.findIndex((s) => s.validator === this.opts.validatorKey.address)
    return index < 0 || cp.signatures.some((s) => s.index === index)
  }

  /** Sign and submit; the nonce after those of this validator's txs already in the mempool. */
  private async send(cp: CheckpointRecord): Promise<void> {
    const { chainId, params, validatorKey } = this.opts
    const signature = toHex(this.opts.checkpointKey.signDigest(checkpointDigest({ chainId, ...cp })))
    const call = { type: 'signCheckpoint' as const, height: cp.height, signature }
    const base = this.m.nonce(validatorKey.address)
    for (let k = 0; k < 64; k++) {
      try {
        const stx = await this.m.submitTx(signTx({ chainId, nonce: base + k, fee: params.minTxFee, call }, validatorKey).bytes)
        this.m.logger.info('checkpoint signed', { height: cp.height, tx: stx.hash })
        return
      } catch (e) {
        if (e instanceof AttrchainError && e.code === 'MEMPOOL_ERROR_NONCE_TAKEN') continue
        throw e
      }
    }
    throw new NodeError('CHECKPOINT_ERROR_NO_NONCE', 'the mempool holds 64 txs of this validator')
  }
}

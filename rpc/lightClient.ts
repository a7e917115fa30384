import { blockHash } from '../state/block.js'
import {
  checkOptions, defaultLightClientOptions, invalid, LightClientError, verifyHeaderCommit, verifyStep,
  type LightBlock, type LightClientOptions, type LightProvider, type Trusted, type TrustRoot, type VerifiedHeader,
} from './lightVerify.js'

// The light client in four files: the rules (lightVerify.ts, pure), the
// stateful client that walks from a trust root (here), state proofs checked
// against verified headers (lightProof.ts), and the JSON-RPC provider
// (lightProvider.ts). Everything is re-exported here, as before the split.
export {
  LightClientError, defaultLightClientOptions, genesisValidatorSet, verifyHeaderCommit, verifyCommitTrusting, verifyStep,
  type LightClientErrorCode, type LightBlock, type VerifiedHeader, type LightProvider, type TrustLevel, type LightClientOptions, type TrustRoot,
} from './lightVerify.js'
export { checkStateProof, verifyStateEntry, type HeaderVerifier, type VerifiedEntry, type StateProofAnswer } from './lightProof.js'
export { headerFromJson, commitFromJson, validatorSetFromJson, MAX_LIGHT_VALIDATORS, RpcLightProvider } from './lightProvider.js'

export interface LightClientModules {
  provider: LightProvider
  /** the local clock (ms since the epoch); injected so tests can move it */
  now(): number
}

/**
 * Verifies headers from a trust root against one provider. Verified
 * headers are kept: later verifications start from the highest one below
 * the target. Not safe for concurrent `verifyHeight` calls on one instance.
 */
export class LightClient {
  readonly opts: LightClientOptions
  private readonly modules: LightClientModules
  private readonly root: TrustRoot
  private readonly verified = new Map<number, VerifiedHeader>()
  private genesisBase: Trusted | null = null
  private started = false
  /** heights fetched so far, in order (tests read it to see bisection at work) */
  readonly fetched: number[] = []

  constructor(opts: Partial<LightClientOptions> & { chainId: string }, root: TrustRoot, modules: LightClientModules) {
    this.opts = { ...defaultLightClientOptions, ...opts }
    checkOptions(this.opts)
    this.root = root
    this.modules = modules
  }

  /** The highest verified header, or null before anything is verified. */
  get latest(): VerifiedHeader | null {
    let best: VerifiedHeader | null = null
    for (const v of this.verified.values()) if (best === null || v.header.height > best.header.height) best = v
    return best
  }

  /**
   * Verify the header of `height` ('latest': the provider's latest height)
   * from the trust root and what was verified before. Throws a
   * LightClientError on anything that does not check out; a provider that
   * lies is caught here, never believed.
   */
  async verifyHeight(height: number | 'latest'): Promise<VerifiedHeader> {
    await this.start()
    const target = height === 'latest' ? await this.modules.provider.latestHeight() : height
    if (!Number.isSafeInteger(target) || target < 1) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', `height must be a positive integer, got ${target}`)
    const known = this.verified.get(target)
    if (known) return known
    const base = this.baseBelow(target)
    if (base !== null) return this.forward(base, await this.fetch(target))
    return this.backward(target)
  }

  private async start(): Promise<void> {
    if (this.started) return
    if (this.root.kind === 'genesis') {
      this.genesisBase = { height: 0, hash: null, timeMs: this.root.timeMs, validators: this.root.validators }
    } else {
      const { height, hash } = this.root
      const b = await this.fetch(height)
      const actual = blockHash(b.header)
      if (actual !== hash.toLowerCase()) {
        throw new LightClientError('LIGHT_ERROR_CHECKPOINT_MISMATCH', `the header served at the trusted height ${height} hashes to ${actual}, not the trusted ${hash}`, { height, actual, expected: hash })
      }
      // CometBFT checks the root's commit too (initializeWithTrustOptions): a served set that did not sign it is refused
      const power = verifyHeaderCommit(this.opts.chainId, b)
      this.keep({ header: b.header, hash: actual, validators: b.validators, signedPower: power, signers: b.commit.signatures.length, via: 'root' })
    }
    this.started = true
  }

  private baseBelow(target: number): Trusted | null {
    let best: VerifiedHeader | null = null
    for (const v of this.verified.values()) if (v.header.height < target && (best === null || v.header.height > best.header.height)) best = v
    if (best !== null) return { height: best.header.height, hash: best.hash, timeMs: best.header.timeMs, validators: best.validators }
    return this.genesisBase
  }

  /** light/client.go verifySkipping: try the target; on too little overlap verify a pivot half-way first. */
  private async forward(base: Trusted, target: LightBlock): Promise<VerifiedHeader> {
    const pending: LightBlock[] = [target]
    let trusted = base
    for (;;) {
      const next = pending[pending.length - 1]!
      let step: { power: bigint; via: 'sequential' | 'skipping' }
      try {
        step = verifyStep(this.opts, trusted, next, this.modules.now())
      } catch (e) {
        if (!(e instanceof LightClientError) || e.code !== 'LIGHT_ERROR_NOT_TRUSTED' || next.header.height === trusted.height + 1) throw e
        pending.push(await this.fetch(trusted.height + Math.floor((next.header.height - trusted.height) / 2)))
        continue
      }
      const v = this.keep({ header: next.header, hash: blockHash(next.header), validators: next.validators, signedPower: step.power, signers: next.commit.signatures.length, via: step.via })
      pending.pop()
      if (pending.length === 0) return v
      trusted = { height: v.header.height, hash: v.hash, timeMs: v.header.timeMs, validators: v.validators }
    }
  }

  /** light/client.go backwards: below the lowest verified header, each header must hash to its successor's prevHash. */
  private async backward(target: number): Promise<VerifiedHeader> {
    let above: VerifiedHeader | null = null
    for (const v of this.verified.values()) if (v.header.height > target && (above === null || v.header.height < above.header.height)) above = v
    if (above === null) throw new LightClientError('LIGHT_ERROR_NOT_TRUSTED', `nothing verified to start from for height ${target}`)
    let expected = above.header.prevHash
    for (let h = above.header.height - 1; h >= target; h--) {
      const b = await this.fetch(h)
      const hash = blockHash(b.header)
      if (hash !== expected) invalid(b.header, `hashes to ${hash}, but the verified header ${h + 1} links to ${expected}`)
      expected = b.header.prevHash
      if (h === target) return this.keep({ header: b.header, hash, validators: b.validators, signedPower: verifyHeaderCommit(this.opts.chainId, b), signers: b.commit.signatures.length, via: 'hashChain' })
    }
    throw new LightClientError('LIGHT_ERROR_NOT_FOUND', `height ${target} not reached`)
  }

  private async fetch(height: number): Promise<LightBlock> {
    if (this.fetched.length >= this.opts.maxFetches) throw new LightClientError('LIGHT_ERROR_NOT_TRUSTED', `more than ${this.opts.maxFetches} light blocks needed; start from a nearer checkpoint`)
    this.fetched.push(height)
    const b = await this.modules.provider.lightBlock(height)
    if (b.header.height !== height) throw new LightClientError('LIGHT_ERROR_INVALID_HEADER', `asked for header ${height}, got ${b.header.height}`, { height })
    return b
  }

  private keep(v: VerifiedHeader): VerifiedHeader {
    this.verified.set(v.header.height, v)
    return v
  }
}

import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { KeyPair } from '../core/keys.js'
import type { Genesis } from '../genesis/genesis.js'
import { buildDevnetGenesis } from '../genesis/devnet.js'
import { homePaths, readKeyFile, writeGenesisFile, writeKeyFile, writeFileDurable, HomeError } from './home.js'
import type { NodeConfig } from './config.js'
import { ensureCheckpointKey } from './checkpointKeyFile.js'

export interface InitOptions {
  home: string
  /** the chain's genesis; default: a one-validator devnet genesis whose validator is this node */
  genesis?: Genesis
  /** this node's validator key; default: a new key when `genesis` is not given */
  validatorKey?: KeyPair | null
  /** settings written to config.json */
  config?: Partial<Omit<NodeConfig, 'home'>>
  /**
   * write a new genesis and config over an existing home and delete its
   * chain data; the keyring (keys/), validator_key.json and node_key.json
   * are kept, and a kept validator key is the new genesis's validator
   */
  force?: boolean
  /** the default genesis's chain id; default: `attrchain-local-` + 8 random hex digits, unique per `init` */
  chainId?: string
}

/**
 * The default chain id of `attrchain init`: unique per call, because the
 * chain id is what binds a signature to one chain (DESIGN §3: it is inside
 * the signed bytes), and two chains sharing one would accept each other's
 * txs (issue 12).
 */
export function newLocalChainId(): string {
  return `attrchain-local-${randomBytes(4).toString('hex')}`
}

/**
 * `attrchain init`: a home dir with config.json, genesis.json and, for a
 * validator, validator_key.json. Refuses to overwrite an existing home
 * unless forced; forcing deletes the chain data (it would no longer match
 * the new genesis) but never a key.
 */
export function initHome(opts: InitOptions): { genesis: Genesis; validator: string | null } {
  const paths = homePaths(opts.home)
  if (existsSync(paths.genesis) && !opts.force) {
    throw new HomeError('HOME_ERROR_EXISTS', `${opts.home} is already initialised; "attrchain init --reset-data" deletes only its chain data, "attrchain init --force" writes a new genesis (keys are kept either way)`)
  }
  if (opts.chainId !== undefined && !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(opts.chainId)) {
    throw new HomeError('HOME_ERROR_BAD_CHAIN_ID', `chain id "${opts.chainId}" must match [a-z0-9][a-z0-9._-]{0,63}`)
  }
  if (opts.force) resetChainData(opts.home)
  mkdirSync(opts.home, { recursive: true })
  let key = opts.validatorKey ?? null
  let genesis = opts.genesis
  if (!genesis) {
    key ??= existsSync(paths.validatorKey) ? readKeyFile(paths.validatorKey) : KeyPair.generate()
    const g = buildDevnetGenesis({ validators: 0, accounts: 10 })
    genesis = {
      ...g,
      chainId: opts.chainId ?? newLocalChainId(),
      validators: [{
        address: key.address, pubKey: key.publicKey, stake: 100_000n * 10n ** 18n, moniker: 'validator-0', commissionBps: 1000,
        checkpointAddress: ensureCheckpointKey(opts.home, key).address,
      }],
      accounts: [...g.accounts, { address: key.address, balance: 10_000n * 10n ** 18n }],
    }
  }
  writeGenesisFile(paths.genesis, genesis)
  if (key) writeKeyFile(paths.validatorKey, key)
  // README "Rollup checkpoints": the validator's checkpoint key sits next to its validator key
  if (key) ensureCheckpointKey(opts.home, key)
  writeFileDurable(paths.config, JSON.stringify(opts.config ?? {}, null, 2) + '\n')
  return { genesis, validator: key?.address ?? null }
}

/**
 * `attrchain init --reset-data`: delete the chain data of a home (blocks,
 * state, the signing state and the consensus WAL under data/) so that the
 * node starts again from its genesis. Keys, genesis and config are kept.
 * Returns the directory deleted.
 */
export function resetChainData(home: string): string {
  const data = join(home, 'data')
  rmSync(data, { recursive: true, force: true })
  return data
}

import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { KeyPair } from '../core/keys.js'
import type { Genesis } from '../genesis/genesis.js'
import { buildDevnetGenesis } from '../genesis/devnet.js'
import { homePaths, writeGenesisFile, writeKeyFile, writeFileDurable, HomeError } from './home.js'
import type { NodeConfig } from './config.js'

export interface InitOptions {
  home: string
  /** the chain's genesis; default: a one-validator devnet genesis whose validator is this node */
  genesis?: Genesis
  /** this node's validator key; default: a new key when `genesis` is not given */
  validatorKey?: KeyPair | null
  /** settings written to config.json */
  config?: Partial<Omit<NodeConfig, 'home'>>
  /** replace an existing home */
  force?: boolean
}

/**
 * `attrchain init`: a home dir with config.json, genesis.json and, for a
 * validator, validator_key.json. Refuses to overwrite an existing home
 * unless forced (its chain data would no longer match).
 */
export function initHome(opts: InitOptions): { genesis: Genesis; validator: string | null } {
  const paths = homePaths(opts.home)
  if (existsSync(paths.genesis) && !opts.force) throw new HomeError('HOME_ERROR_EXISTS', `${opts.home} is already initialised; use --force to replace it`)
  if (opts.force) rmSync(opts.home, { recursive: true, force: true })
  mkdirSync(opts.home, { recursive: true })
  let key = opts.validatorKey ?? null
  let genesis = opts.genesis
  if (!genesis) {
    key ??= KeyPair.generate()
    const g = buildDevnetGenesis({ validators: 0, accounts: 10 })
    genesis = {
      ...g,
      chainId: 'attrchain-local',
      validators: [{ address: key.address, pubKey: key.publicKey, stake: 100_000n * 10n ** 18n, moniker: 'validator-0', commissionBps: 1000 }],
      accounts: [...g.accounts, { address: key.address, balance: 10_000n * 10n ** 18n }],
    }
  }
  writeGenesisFile(paths.genesis, genesis)
  if (key) writeKeyFile(paths.validatorKey, key)
  writeFileDurable(paths.config, JSON.stringify(opts.config ?? {}, null, 2) + '\n')
  return { genesis, validator: key?.address ?? null }
}

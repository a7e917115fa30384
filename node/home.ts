import { readFileSync, writeFileSync, existsSync, mkdirSync, openSync, fsyncSync, closeSync, renameSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { AttrchainError } from '../core/errors.js'
import { fromHex, toHex } from '../core/bytes.js'
import { KeyPair } from '../core/keys.js'
import { parseGenesis, genesisToJson, type Genesis } from '../genesis/genesis.js'
import { decodeLastSigned, encodeLastSigned, type LastSigned, type WalStore } from '../consensus/index.js'

/** What `HomeError` carries. */
export type HomeErrorCode =
  /** a chain id outside [a-z0-9][a-z0-9._-]{0,63} */
  | 'HOME_ERROR_BAD_CHAIN_ID'
  /** the home's genesis file is not valid JSON */
  | 'HOME_ERROR_BAD_GENESIS'
  /** a key file that is not valid JSON or not a key */
  | 'HOME_ERROR_BAD_KEY'
  /** init over a home that is already initialised (without --force or --reset-data) */
  | 'HOME_ERROR_EXISTS'
  /** no genesis file: run init first */
  | 'HOME_ERROR_NO_GENESIS'
  /** no key file at the expected path */
  | 'HOME_ERROR_NO_KEY'

export class HomeError extends AttrchainError<HomeErrorCode> {}

/**
 * A node's home dir:
 *   config.json          settings (README, "Configuration")
 *   genesis.json         the chain's genesis
 *   validator_key.json   the validator's Ed25519 key, if this node validates
 *   node_key.json        the libp2p identity
 *   keys/<name>.json     the CLI keyring
 *   data/chain/          LevelDB
 *   data/priv_validator_state.bin   the signing state (fsynced before a vote leaves)
 *   data/consensus.wal   the current height's consensus inputs, replayed after a restart
 */
export const homePaths = (home: string) => ({
  config: join(home, 'config.json'),
  genesis: join(home, 'genesis.json'),
  validatorKey: join(home, 'validator_key.json'),
  nodeKey: join(home, 'node_key.json'),
  keys: join(home, 'keys'),
  chainDb: join(home, 'data', 'chain'),
  signState: join(home, 'data', 'priv_validator_state.bin'),
  consensusWal: join(home, 'data', 'consensus.wal'),
})

/** Write a file durably: temp file, fsync, rename, fsync the directory. */
export function writeFileDurable(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp`
  writeFileSync(tmp, data, { mode })
  const fd = openSync(tmp, 'r')
  fsyncSync(fd)
  closeSync(fd)
  renameSync(tmp, path)
  const dfd = openSync(dirname(path), 'r')
  fsyncSync(dfd)
  closeSync(dfd)
}

export function readGenesisFile(path: string): Genesis {
  if (!existsSync(path)) throw new HomeError('HOME_ERROR_NO_GENESIS', `no genesis at ${path}; run "attrchain init" first`)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new HomeError('HOME_ERROR_BAD_GENESIS', `${path} is not valid JSON: ${(e as Error).message}`)
  }
  return parseGenesis(raw)
}

export function writeGenesisFile(path: string, g: Genesis): void {
  writeFileDurable(path, JSON.stringify(genesisToJson(g), null, 2) + '\n')
}

export interface KeyFile {
  address: string
  publicKey: string
  privateKey: string
}

export function keyToFile(k: KeyPair): KeyFile {
  return { address: k.address, publicKey: toHex(k.publicKey), privateKey: toHex(k.seed) }
}

export function readKeyFile(path: string): KeyPair {
  if (!existsSync(path)) throw new HomeError('HOME_ERROR_NO_KEY', `no key file at ${path}`)
  let raw: KeyFile
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as KeyFile
  } catch (e) {
    throw new HomeError('HOME_ERROR_BAD_KEY', `${path} is not valid JSON: ${(e as Error).message}`)
  }
  const key = new KeyPair(fromHex(raw.privateKey, 'privateKey', 32))
  if (raw.address && raw.address.toLowerCase() !== key.address) throw new HomeError('HOME_ERROR_BAD_KEY', `${path}: address does not match the private key`)
  return key
}

export function writeKeyFile(path: string, k: KeyPair): void {
  writeFileDurable(path, JSON.stringify(keyToFile(k), null, 2) + '\n', 0o600)
}

/** The PrivValidator's last-signed state in one fsynced file (DESIGN §5). */
export class FileWalStore implements WalStore {
  constructor(private readonly path: string) {}

  async load(): Promise<LastSigned | null> {
    if (!existsSync(this.path)) return null
    return decodeLastSigned(new Uint8Array(readFileSync(this.path)))
  }

  async save(state: LastSigned): Promise<void> {
    writeFileDurable(this.path, encodeLastSigned(state), 0o600)
  }
}

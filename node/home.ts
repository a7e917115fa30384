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

/**
 * The JSON value in the file at `path`. A file that cannot be read or
 * parsed throws `bad("<path> is not valid JSON: <why>")`, the caller's
 * error (genesis, key and config files each have their own code).
 */
export function readJsonFile(path: string, bad: (message: string) => Error): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw bad(`${path} is not valid JSON: ${(e as Error).message}`)
  }
}

export function readGenesisFile(path: string): Genesis {
  if (!existsSync(path)) throw new HomeError('HOME_ERROR_NO_GENESIS', `no genesis at ${path}; run "attrchain init" first`)
  return parseGenesis(readJsonFile(path, (m) => new HomeError('HOME_ERROR_BAD_GENESIS', m)))
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

/**
 * A key file `{privateKey, address?}` (0x hex) at `path`: `make` builds the
 * key from the 32-byte private key, and the file's address, when it gives
 * one, must be the key's. `what` names the file in "no ... file" ("key",
 * "checkpoint key"). Throws HOME_ERROR_NO_KEY when there is no file,
 * HOME_ERROR_BAD_KEY (naming the path) when it is not JSON, not an object,
 * not a 32-byte hex key or not the given address.
 */
export function readKeyJson<K extends { address: string }>(path: string, what: string, make: (privateKey: Uint8Array) => K): K {
  if (!existsSync(path)) throw new HomeError('HOME_ERROR_NO_KEY', `no ${what} file at ${path}`)
  const raw = readJsonFile(path, (m) => new HomeError('HOME_ERROR_BAD_KEY', m))
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HomeError('HOME_ERROR_BAD_KEY', `${path} must hold a JSON object {address, privateKey}`)
  const { address, privateKey } = raw as { address?: unknown; privateKey?: unknown }
  let key: K
  try {
    key = make(fromHex(privateKey, 'privateKey', 32))
  } catch (e) {
    throw new HomeError('HOME_ERROR_BAD_KEY', `${path}: ${(e as Error).message}`)
  }
  if (address && (typeof address !== 'string' || address.toLowerCase() !== key.address)) throw new HomeError('HOME_ERROR_BAD_KEY', `${path}: address does not match the private key`)
  return key
}

/** The Ed25519 key in a key file (validator_key.json, keys/<name>.json); errors as readKeyJson. */
export function readKeyFile(path: string): KeyPair {
  return readKeyJson(path, 'key', (seed) => new KeyPair(seed))
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

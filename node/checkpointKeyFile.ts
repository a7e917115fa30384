import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex, toHex } from '../core/bytes.js'
import { CheckpointKey } from '../core/checkpointKey.js'
import type { KeyPair } from '../core/keys.js'
import { HomeError, writeFileDurable } from './home.js'

/**
 * `<home>/checkpoint_key.json`: the validator's secp256k1 checkpoint key
 * (README "Rollup checkpoints"), `{address, privateKey}` in 0x hex, written
 * 0600 next to validator_key.json.
 */
export const checkpointKeyPath = (home: string): string => join(home, 'checkpoint_key.json')

export function readCheckpointKeyFile(path: string): CheckpointKey {
  if (!existsSync(path)) throw new HomeError('HOME_ERROR_NO_KEY', `no checkpoint key file at ${path}`)
  let raw: { address?: string; privateKey?: string }
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as typeof raw
  } catch (e) {
    throw new HomeError('HOME_ERROR_BAD_KEY', `${path} is not valid JSON: ${(e as Error).message}`)
  }
  let key: CheckpointKey
  try {
    key = new CheckpointKey(fromHex(raw.privateKey, 'privateKey', 32))
  } catch (e) {
    throw new HomeError('HOME_ERROR_BAD_KEY', `${path}: ${(e as Error).message}`)
  }
  if (raw.address && raw.address.toLowerCase() !== key.address) throw new HomeError('HOME_ERROR_BAD_KEY', `${path}: address does not match the private key`)
  return key
}

export function writeCheckpointKeyFile(path: string, key: CheckpointKey): void {
  writeFileDurable(path, JSON.stringify({ address: key.address, privateKey: toHex(key.secret) }, null, 2) + '\n', 0o600)
}

/**
 * The checkpoint key of a home whose validator key is `validatorKey`: the
 * file's when present, else the key derived from the validator key
 * (CheckpointKey.derivedFrom), written to the file. What genesis builders
 * declare for a validator they hold the key of.
 */
export function ensureCheckpointKey(home: string, validatorKey: KeyPair): CheckpointKey {
  const path = checkpointKeyPath(home)
  if (existsSync(path)) return readCheckpointKeyFile(path)
  const key = CheckpointKey.derivedFrom(validatorKey.seed)
  writeCheckpointKeyFile(path, key)
  return key
}

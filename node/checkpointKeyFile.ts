import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { toHex } from '../core/bytes.js'
import { CheckpointKey } from '../core/checkpointKey.js'
import type { KeyPair } from '../core/keys.js'
import { readKeyJson, writeFileDurable } from './home.js'

/**
 * `<home>/checkpoint_key.json`: the validator's secp256k1 checkpoint key
 * (README "Rollup checkpoints"), `{address, privateKey}` in 0x hex, written
 * 0600 next to validator_key.json.
 */
export const checkpointKeyPath = (home: string): string => join(home, 'checkpoint_key.json')

/** The checkpoint key in `path`; errors as readKeyJson (HOME_ERROR_NO_KEY, HOME_ERROR_BAD_KEY). */
export function readCheckpointKeyFile(path: string): CheckpointKey {
  return readKeyJson(path, 'checkpoint key', (secret) => new CheckpointKey(secret))
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

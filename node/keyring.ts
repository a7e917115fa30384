import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AttrchainError } from '../core/errors.js'
import { KeyPair } from '../core/keys.js'
import { homePaths, readKeyFile, writeKeyFile } from './home.js'

/** What `KeyringError` carries. */
export type KeyringErrorCode =
  /** a key name outside 1-64 of [A-Za-z0-9_.-] starting with a letter or digit */
  | 'KEYRING_ERROR_BAD_NAME'
  /** a key of that name already exists */
  | 'KEYRING_ERROR_EXISTS'
  /** no key of that name */
  | 'KEYRING_ERROR_NOT_FOUND'

export class KeyringError extends AttrchainError<KeyringErrorCode> {}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

export interface KeyEntry {
  name: string
  key: KeyPair
}

/**
 * The CLI keyring: one key file per name in `<home>/keys/<name>.json`, the
 * same format as validator_key.json, written 0600. Keys are stored
 * unencrypted, like a devnet keyring; production operators keep their key
 * in their own signer and use `--key` or the SDK.
 */
export class Keyring {
  readonly dir: string

  constructor(home: string) {
    this.dir = homePaths(home).keys
  }

  private path(name: string): string {
    if (!NAME_RE.test(name)) {
      throw new KeyringError('KEYRING_ERROR_BAD_NAME', `key name "${name}" must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`, { name })
    }
    return join(this.dir, `${name}.json`)
  }

  has(name: string): boolean {
    return existsSync(this.path(name))
  }

  /** A new random key, or the given one (import); refuses to overwrite a name. */
  add(name: string, key: KeyPair = KeyPair.generate()): KeyEntry {
    const path = this.path(name)
    if (existsSync(path)) throw new KeyringError('KEYRING_ERROR_EXISTS', `key "${name}" already exists in ${this.dir}`, { name })
    writeKeyFile(path, key)
    return { name, key }
  }

  get(name: string): KeyEntry {
    const path = this.path(name)
    if (!existsSync(path)) throw new KeyringError('KEYRING_ERROR_NOT_FOUND', `no key named "${name}" in ${this.dir}; see "attrchain keys list"`, { name })
    return { name, key: readKeyFile(path) }
  }

  /** Every key, by name. */
  list(): KeyEntry[] {
    if (!existsSync(this.dir)) return []
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json') && NAME_RE.test(f.slice(0, -5)))
      .sort()
      .map((f) => this.get(f.slice(0, -5)))
  }
}

import { toHex } from '../../core/bytes.js'
import type { KeyPair } from '../../core/keys.js'
import { Keyring } from '../keyring.js'
import { command, homeOf, HOME, JSON_OPT, HELP } from './command.js'
import { keyFromSeed } from './args.js'
import { output } from './render.js'

/** `attrchain keys new|list|show`: the keyring in HOME/keys (node/keyring.ts). */
export const keysCommands = [
  command({
    name: 'keys new', args: 'NAME', minArgs: 1, maxArgs: 1,
    summary: 'Create a key in the keyring (HOME/keys/NAME.json)',
    options: { ...HOME, import: { type: 'string', arg: '0xSEED', desc: 'store this 32-byte Ed25519 seed instead of a new random key' }, ...JSON_OPT, ...HELP },
    async run(ctx) {
      const seed = ctx.values.import
      let key: KeyPair | undefined
      if (seed !== undefined) key = keyFromSeed(seed, '--import')
      const entry = new Keyring(homeOf(ctx)).add(ctx.args[0], key)
      output(ctx, { name: entry.name, address: entry.key.address, publicKey: toHex(entry.key.publicKey) })
      return 0
    },
  }),
  command({
    name: 'keys list', args: '', minArgs: 0, maxArgs: 0,
    summary: 'List the keyring',
    options: { ...HOME, ...JSON_OPT, ...HELP },
    async run(ctx) {
      output(ctx, new Keyring(homeOf(ctx)).list().map((e) => ({ name: e.name, address: e.key.address })))
      return 0
    },
  }),
  command({
    name: 'keys show', args: 'NAME', minArgs: 1, maxArgs: 1,
    summary: 'Show a key\'s address and public key',
    options: { ...HOME, private: { type: 'boolean', desc: 'also print the private key (0x + seed)' }, ...JSON_OPT, ...HELP },
    async run(ctx) {
      const { name, key } = new Keyring(homeOf(ctx)).get(ctx.args[0])
      output(ctx, { name, address: key.address, publicKey: toHex(key.publicKey), ...(ctx.values.private ? { privateKey: toHex(key.seed) } : {}) })
      return 0
    },
  }),
]

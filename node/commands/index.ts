import type { Command } from './command.js'
import { initCommand } from './init.js'
import { startCommand } from './start.js'
import { statusCommand } from './status.js'
import { devnetCommand } from './devnet.js'
import { demoCommand } from './demo.js'
import { testnetCommand } from './testnet.js'
import { keysCommands } from './keys.js'
import { txCommands } from './tx.js'
import { queryCommands } from './query.js'
import { verifyCommand } from './verify.js'
import { rollupCommands } from './rollup.js'

/** Every command of `attrchain`, in the order of the help. A name with a space is in a group. */
export const COMMANDS: Command[] = [initCommand, startCommand, devnetCommand, demoCommand, testnetCommand, statusCommand, ...keysCommands, ...txCommands, ...queryCommands, verifyCommand, ...rollupCommands]

/** The command groups (`attrchain <group> <command>`) and their summaries. */
export const GROUPS: Record<string, string> = {
  keys: 'Manage the keyring in HOME/keys',
  tx: 'Sign and submit a tx of any type',
  query: 'Read chain state over JSON-RPC',
  rollup: 'Anchor the chain\'s checkpoints on an EVM L1',
}

import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { isAttrchainError } from '../core/errors.js'
import { RpcRequestError, RpcTransportErrorCode } from '../rpc/index.js'
import { hintFor } from './cliHints.js'
import { usage, UsageError, type CliIo, type Command, type Ctx } from './commands/command.js'
import { COMMANDS, GROUPS } from './commands/index.js'
import { commandHelp, groupHelp, mainHelp } from './commands/help.js'

/**
 * The `attrchain` command line. `main(argv)` returns the exit code: 0 ok,
 * 1 error (one line on stderr), 2 usage error. Output is human by default;
 * `--json` prints exactly one JSON document on stdout for scripts.
 *
 * This file is the process glue: it finds the command named by argv
 * (node/commands/index.ts), parses its options with node:util parseArgs
 * from its declaration, prints help, and turns errors into one stderr line
 * and an exit code. Each command is in its own file under node/commands/.
 */

export { UsageError, CliError, DEFAULT_RPC_URL, type CliIo } from './commands/command.js'
export { renderHuman } from './commands/render.js'
export { mainHelp } from './commands/help.js'
export { TX_SPECS } from './commands/tx.js'

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** Find the command named by the first words of argv; the rest are its arguments. */
function resolveCommand(argv: string[]): { command: Command | null; group: string | null; rest: string[] } {
  const [first, second] = argv
  if (first in GROUPS) {
    const command = COMMANDS.find((c) => c.name === `${first} ${second}`) ?? null
    return { command, group: first, rest: command ? argv.slice(2) : argv.slice(1) }
  }
  return { command: COMMANDS.find((c) => c.name === first) ?? null, group: null, rest: argv.slice(1) }
}

/** parseArgs with the command's declared options (strict: an unknown option is a usage error). */
function parse(c: Command, argv: string[]): Pick<Ctx, 'values' | 'args'> {
  const options = Object.fromEntries(Object.entries(c.options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]))
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    return { values, args: positionals }
  } catch (e) {
    usage(`${(e as Error).message.split('\n')[0]}; see "attrchain ${c.name} --help"`)
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const target = argv[0] === 'help' && argv.length > 1 ? resolveCommand(argv.slice(1)) : null
    io.stdout(target?.command ? commandHelp(target.command) : target?.group ? groupHelp(target.group) : mainHelp())
    return argv.length === 0 ? 2 : 0
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    io.stdout(version() + '\n')
    return 0
  }
  const { command, group, rest } = resolveCommand(argv)
  if (!command && group) {
    const sub = argv[1]
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.stdout(groupHelp(group))
      return sub === undefined ? 2 : 0
    }
    usage(`unknown ${group} command "${sub}"; see "attrchain ${group} --help"`)
  }
  if (!command) usage(`unknown command "${argv[0]}"; see "attrchain --help"`)
  const { values, args } = parse(command, rest)
  if (values.help) {
    io.stdout(commandHelp(command))
    return 0
  }
  if (args.length < command.minArgs || args.length > command.maxArgs) {
    usage(`attrchain ${command.name} takes ${command.args || 'no arguments'}; see "attrchain ${command.name} --help"`)
  }
  return command.run({ io, values, args })
}

/** The message and, for the codes node/cliHints.ts knows, what to do next. */
function withHint(text: string, code: string | undefined): string {
  const hint = hintFor(code, text)
  return hint ? `${text}; ${hint}` : text
}

/** One line, whatever failed: the code first so that scripts can match it. */
export function errorLine(e: unknown): string {
  let text: string
  if (e instanceof RpcRequestError) text = withHint(`${e.reason ?? `RPC_ERROR_${e.code}`}: ${e.message}`, e.reason)
  else if (isAttrchainError(e) && e.code === RpcTransportErrorCode.network) {
    const cause = (e.meta.cause as { code?: string } | null)?.code
    text = withHint(`${e.message}${cause ? ` (${cause})` : ''}`, e.code)
  } else if (isAttrchainError(e) && e.code === 'CLI_ERROR_USAGE') text = e.reason
  else if (e instanceof Error) text = e.message
  else text = String(e)
  return `error: ${text.replace(/\s*\n\s*/g, ' ')}`
}

function processStopSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    const on = (sig: string) => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      resolveSignal(sig)
    }
    const onInt = () => on('SIGINT')
    const onTerm = () => on('SIGTERM')
    process.once('SIGINT', onInt)
    process.once('SIGTERM', onTerm)
  })
}

/** The real process: its stdout, stderr, environment and SIGINT/SIGTERM. */
export const processIo = (): CliIo => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  stopSignal: processStopSignal,
  stderrTty: Boolean(process.stderr.isTTY),
})

/** Run the command line `argv` (without node and the script); resolves with the exit code (0, 1 or 2). */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io)
  } catch (e) {
    io.stderr(errorLine(e) + '\n')
    return e instanceof UsageError ? 2 : 1
  }
}

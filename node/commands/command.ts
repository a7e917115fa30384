import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { AttrchainError } from '../../core/errors.js'
import { AttrchainClient } from '../../rpc/index.js'

/**
 * What every `attrchain` command is made of: its declaration (name,
 * positionals, options, help text) and `run`, which gets the option values
 * typed from that declaration (`Values<O>`: a string option is a string, a
 * boolean one a boolean, both absent when not given). The parser
 * (node:util parseArgs) and the dispatcher are in node/cli.ts, the help in
 * help.ts, the rendering in render.ts; each command lives in its own file.
 */

/**
 * A command line that cannot be run as written: exit code 2. Its code is
 * CLI_ERROR_USAGE, or the code of the parse error it wraps (an amount, an
 * address: CODEC_ERROR_*, TX_BUILD_ERROR_*), so it stays an open string.
 */
export class UsageError extends AttrchainError {}

/**
 * A command that ran and failed: exit code 1. Its code is CLI_ERROR_NOT_FOUND,
 * or the code the chain gave the failed tx it reports (TX_ERROR_*), so it
 * stays an open string.
 */
export class CliError extends AttrchainError {}

export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: NodeJS.ProcessEnv
  /** resolves with the signal's name once the process is asked to stop */
  stopSignal(): Promise<string>
  /** stderr is a terminal: long waits show a live progress line there (node/progress.ts) */
  stderrTty?: boolean
}

export const DEFAULT_RPC_URL = 'http://127.0.0.1:8545'

/** One option of a command: `--name VALUE` (string) or `--name` (boolean). */
export interface OptSpec {
  type: 'string' | 'boolean'
  short?: string
  /** placeholder shown in help, e.g. DIR */
  arg?: string
  desc: string
}

export type Opts = Record<string, OptSpec>

/** The parsed values of options O: each absent unless given on the command line. */
export type Values<O extends Opts> = { [K in keyof O]?: ValueOf<O[K]['type']> }
/** string for a string option, boolean for a boolean one (distributes: both for an option of either type). */
type ValueOf<T extends OptSpec['type']> = T extends 'string' ? string : boolean

export interface Ctx<O extends Opts = Opts> {
  io: CliIo
  values: Values<O>
  /** the positionals, between minArgs and maxArgs of them */
  args: string[]
}

export interface Command<O extends Opts = Opts> {
  /** full name, e.g. "keys show" */
  name: string
  /** positionals in help, e.g. "NAME" */
  args: string
  summary: string
  options: O
  /** extra help text after the summary */
  details?: string
  minArgs: number
  maxArgs: number
  run(ctx: Ctx<O>): Promise<number>
}

/** Declare a command: `run` gets its option values typed from `options` (the literal types are kept). */
export function command<const O extends Opts>(c: Command<O>): Command {
  return c as unknown as Command
}

export const HELP = { help: { type: 'boolean', short: 'h', desc: 'show this help' } } as const satisfies Opts
export const JSON_OPT = { json: { type: 'boolean', desc: 'print one JSON document on stdout' } } as const satisfies Opts
export const HOME = { home: { type: 'string', arg: 'DIR', desc: 'home dir (default: $ATTRCHAIN_HOME or ~/.attrchain)' } } as const satisfies Opts
export const RPC = { rpc: { type: 'string', arg: 'URL', desc: `node JSON-RPC URL (default: $ATTRCHAIN_RPC or ${DEFAULT_RPC_URL})` } } as const satisfies Opts

/** A usage error (exit code 2) with this message. */
export function usage(message: string): never {
  throw new UsageError('CLI_ERROR_USAGE', message)
}

/** The home dir: --home, else $ATTRCHAIN_HOME, else ~/.attrchain. */
export function homeOf(ctx: { io: CliIo; values: { home?: string } }): string {
  return resolve(ctx.values.home ?? ctx.io.env.ATTRCHAIN_HOME ?? join(homedir(), '.attrchain'))
}

/** The node's RPC URL: --rpc, else $ATTRCHAIN_RPC, else DEFAULT_RPC_URL (not checked). */
export function rpcUrlOf(ctx: { io: CliIo; values: { rpc?: string } }): string {
  return ctx.values.rpc ?? ctx.io.env.ATTRCHAIN_RPC ?? DEFAULT_RPC_URL
}

/** A client of the node at rpcUrlOf(ctx); a URL that is not http(s) is a usage error. */
export function clientOf(ctx: { io: CliIo; values: { rpc?: string } }): AttrchainClient {
  const given = ctx.values.rpc
  const url = rpcUrlOf(ctx)
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) usage(`${given !== undefined ? '--rpc' : 'ATTRCHAIN_RPC'} ${JSON.stringify(url)} is not an http(s) URL; give one like ${DEFAULT_RPC_URL}`)
  return new AttrchainClient(url)
}

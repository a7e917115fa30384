import { parseArgs } from 'node:util'
import { readFileSync, existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { AttrchainError, isAttrchainError } from '../core/errors.js'
import { fromHex, toHex } from '../core/bytes.js'
import { parseAddress } from '../core/address.js'
import { formatOpen } from '../core/amount.js'
import { KeyPair } from '../core/keys.js'
import { receiptId, signTx, TX_TYPES, type SignedTx, type TxCall, type TxType } from '../core/tx.js'
import { genesisHash } from '../genesis/genesis.js'
import {
  AttrchainClient, TxSender, RpcRequestError, RpcTransportErrorCode, txBuilders, receiptsFromJson, toUnits, amountFields,
  type TxSendResult, type ContributionStatus,
} from '../rpc/index.js'
import { initHome, resetChainData } from './init.js'
import { loadConfig } from './config.js'
import { homePaths, readGenesisFile } from './home.js'
import { AttrchainNode } from './node.js'
import { Keyring } from './keyring.js'
import { runDevnet, defaultDevnetOptions, createNodeKey, PARENT_PID_ENV } from './devnet.js'
import { deployCheckpoints, runRelay, DEV_L1_KEY } from './commands/rollup.js'
import { progressLine, secondsSince, NO_PROGRESS } from './progress.js'
import { hintFor } from './cliHints.js'
import { writeTestnet, defaultTestnetOptions, summaryJson, summaryLines, parseStakes, readParamsArg } from './testnet.js'

/**
 * The `attrchain` command line. `main(argv)` returns the exit code: 0 ok,
 * 1 error (one line on stderr), 2 usage error. Output is human by default;
 * `--json` prints exactly one JSON document on stdout for scripts.
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

// ---------------------------------------------------------------- option specs

interface OptSpec {
  type: 'string' | 'boolean'
  short?: string
  /** placeholder shown in help, e.g. DIR */
  arg?: string
  desc: string
}

type Opts = Record<string, OptSpec>
type Values = Record<string, string | boolean | undefined>

interface Ctx {
  io: CliIo
  values: Values
  args: string[]
}

interface Command {
  /** full name, e.g. "keys show" */
  name: string
  /** positionals in help, e.g. "NAME" */
  args: string
  summary: string
  options: Opts
  /** extra help text after the summary */
  details?: string
  minArgs: number
  maxArgs: number
  run(ctx: Ctx): Promise<number>
}

const HELP: Opts = { help: { type: 'boolean', short: 'h', desc: 'show this help' } }
const JSON_OPT: Opts = { json: { type: 'boolean', desc: 'print one JSON document on stdout' } }
const HOME: Opts = { home: { type: 'string', arg: 'DIR', desc: 'home dir (default: $ATTRCHAIN_HOME or ~/.attrchain)' } }
const RPC: Opts = { rpc: { type: 'string', arg: 'URL', desc: `node JSON-RPC URL (default: $ATTRCHAIN_RPC or ${DEFAULT_RPC_URL})` } }

function homeOf(ctx: Ctx): string {
  return resolve((ctx.values.home as string | undefined) ?? ctx.io.env.ATTRCHAIN_HOME ?? join(homedir(), '.attrchain'))
}

function clientOf(ctx: Ctx): AttrchainClient {
  const given = ctx.values.rpc as string | undefined
  const url = given ?? ctx.io.env.ATTRCHAIN_RPC ?? DEFAULT_RPC_URL
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) usage(`${given !== undefined ? '--rpc' : 'ATTRCHAIN_RPC'} ${JSON.stringify(url)} is not an http(s) URL; give one like ${DEFAULT_RPC_URL}`)
  return new AttrchainClient(url)
}

// ---------------------------------------------------------------- human output

/** Wire fields holding amounts in units (every `amount` of the API table's result schemas); the human view shows them in OPEN. */
const AMOUNT_KEYS = amountFields()

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function cell(v: unknown, asAmount: boolean): string {
  if (v === null || v === undefined) return '-'
  if (asAmount && typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v)) return formatOpen(BigInt(v))
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

function table(rows: Record<string, unknown>[], indent = ''): string[] {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cells = rows.map((r) => cols.map((c) => cell(r[c], AMOUNT_KEYS.has(c))))
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)))
  const line = (xs: string[]) => indent + xs.map((x, i) => (i === xs.length - 1 ? x : x.padEnd(widths[i]))).join('  ')
  return [line(cols), ...cells.map(line)]
}

function keyValues(obj: Record<string, unknown>, indent = '', amounts = false): string[] {
  const width = Math.max(0, ...Object.keys(obj).map((k) => k.length))
  const out: string[] = []
  for (const [k, v] of Object.entries(obj)) {
    const asAmount = amounts || AMOUNT_KEYS.has(k)
    if (isObject(v)) {
      out.push(`${indent}${k}:`, ...keyValues(v, indent + '  ', asAmount))
    } else if (Array.isArray(v) && v.length > 0 && v.every(isObject)) {
      out.push(`${indent}${k}:`, ...table(v as Record<string, unknown>[], indent + '  '))
    } else if (Array.isArray(v)) {
      out.push(`${indent}${k.padEnd(width)}  ${v.length === 0 ? '(none)' : v.map((x) => cell(x, asAmount)).join(', ')}`)
    } else {
      out.push(`${indent}${k.padEnd(width)}  ${cell(v, asAmount)}`)
    }
  }
  return out
}

export function renderHuman(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.every(isObject) ? table(v as Record<string, unknown>[]).join('\n') : v.map((x) => cell(x, false)).join('\n')
  if (isObject(v)) return keyValues(v).join('\n')
  return cell(v, false)
}

function output(ctx: Ctx, value: unknown, human: () => string = () => renderHuman(value)): void {
  ctx.io.stdout((ctx.values.json ? JSON.stringify(value) : human()) + '\n')
}

// ---------------------------------------------------------------- argument parsers

function usage(message: string): never {
  throw new UsageError('CLI_ERROR_USAGE', message)
}

/** `--state-sync-height H --state-sync-hash 0x…` → the stateSync setting `H:0x…` (both or neither). */
function stateSyncFlag(height: string | undefined, hash: string | undefined): string | undefined {
  if (height === undefined && hash === undefined) return undefined
  if (height === undefined || hash === undefined) usage('--state-sync-height and --state-sync-hash go together')
  return `${height}:${hash}`
}

function argAddress(v: string, name: string): string {
  try {
    return parseAddress(v, name)
  } catch {
    usage(`${name} must be a 0x-prefixed 20-byte hex address, got "${v}"`)
  }
}

function argHash(v: string, name: string): string {
  try {
    return toHex(fromHex(v, name, 32))
  } catch {
    usage(`${name} must be a 0x-prefixed 32-byte hex id, got "${v}"`)
  }
}

function argHeight(v: string, name = 'HEIGHT'): number | 'latest' {
  if (v === 'latest') return v
  if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) usage(`${name} must be a block height or "latest", got "${v}"`)
  return Number(v)
}

function argUint(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined
  if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) usage(`${name} must be a non-negative integer, got "${v}"`)
  return Number(v)
}

// ---------------------------------------------------------------- init, start, status

const initCommand: Command = {
  name: 'init', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Create a home dir: config.json, genesis.json, validator and node keys',
  details: 'By default the genesis is a one-validator local chain whose validator is this node, with the ten funded dev accounts of the devnet, '
    + 'and a new chain id (attrchain-local-<8 random hex digits>): the chain id is inside every signed tx, so a tx signed for one chain is refused by every other. '
    + 'No option ever deletes a key: the keyring (keys/), validator_key.json and node_key.json are kept.',
  options: {
    ...HOME,
    'chain-id': { type: 'string', arg: 'ID', desc: 'chain id of the new genesis (default: attrchain-local-<random>, unique per init)' },
    force: { type: 'boolean', desc: 'write a new genesis and config over an existing home and delete its chain data (data/); keeps the keyring, validator and node keys' },
    'reset-data': { type: 'boolean', desc: 'only delete the chain data (data/: blocks, state, signing state, consensus WAL) so the node restarts from its genesis; keeps genesis, config and keys' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const home = homeOf(ctx)
    const paths = homePaths(home)
    if (ctx.values['reset-data']) {
      if (ctx.values.force || ctx.values['chain-id'] !== undefined) usage('--reset-data keeps the genesis: it takes neither --force nor --chain-id')
      const genesis = readGenesisFile(paths.genesis)
      const deleted = resetChainData(home)
      const result = { home, chainId: genesis.chainId, genesisHash: genesisHash(genesis), deleted }
      output(ctx, result, () => `deleted the chain data of ${home}; keys, genesis and config kept\n` + keyValues({ chainId: result.chainId, deleted }).join('\n'))
      return 0
    }
    const { validator } = initHome({ home, force: Boolean(ctx.values.force), chainId: ctx.values['chain-id'] as string | undefined })
    const { peerId } = await createNodeKey(paths.nodeKey)
    const genesis = readGenesisFile(paths.genesis)
    const result = { home, chainId: genesis.chainId, genesisHash: genesisHash(genesis), validator, peerId, genesis: paths.genesis, config: paths.config, nodeKey: paths.nodeKey }
    output(ctx, result, () => `initialised ${home}\n` + keyValues({ chainId: result.chainId, genesisHash: result.genesisHash, validator, peerId, genesis: paths.genesis, config: paths.config }).join('\n'))
    return 0
  },
}

/**
 * The children of `attrchain devnet` get the parent's pid and stop when it
 * is gone, so a killed parent leaves no orphan nodes (checked every second).
 */
function parentGone(env: NodeJS.ProcessEnv): Promise<string> | null {
  const raw = env[PARENT_PID_ENV]
  if (!raw) return null
  const pid = Number(raw)
  return new Promise((resolveGone) => {
    const timer = setInterval(() => {
      let alive = process.ppid === pid
      if (alive) {
        try {
          process.kill(pid, 0)
        } catch {
          alive = false
        }
      }
      if (alive) return
      clearInterval(timer)
      resolveGone('parent exited')
    }, 1000)
    timer.unref()
  })
}

const startCommand: Command = {
  name: 'start', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Run a node until SIGINT or SIGTERM',
  details: 'Settings: defaults < HOME/config.json < ATTRCHAIN_* env (e.g. ATTRCHAIN_RPC_PORT) < flags.',
  options: {
    ...HOME,
    'rpc-host': { type: 'string', arg: 'HOST', desc: 'JSON-RPC bind address (default 127.0.0.1)' },
    'rpc-port': { type: 'string', arg: 'PORT', desc: 'JSON-RPC port, HTTP and WebSocket (default 8545; 0 picks a free one)' },
    'rpc-cors-origins': { type: 'string', arg: 'ORIGINS', desc: 'comma-separated origins whose web pages may use the RPC, or * (default: none)' },
    'p2p-host': { type: 'string', arg: 'HOST', desc: 'p2p bind address (default 127.0.0.1)' },
    'p2p-port': { type: 'string', arg: 'PORT', desc: 'p2p port (default 26656)' },
    'block-time': { type: 'string', arg: 'MS', desc: 'pause after each commit before the next height (default 1000)' },
    bootstrap: { type: 'string', arg: 'ADDRS', desc: 'comma-separated multiaddrs of peers to dial' },
    'no-empty-blocks': { type: 'boolean', desc: 'produce a block only when there are txs' },
    'prune-keep-blocks': { type: 'string', arg: 'N', desc: 'keep only the last N blocks and their indexes (0 = archive, default; else at least 100)' },
    'snapshot-interval': { type: 'string', arg: 'N', desc: 'take a state snapshot every N heights for state sync (0 = none, default)' },
    'snapshot-keep': { type: 'string', arg: 'N', desc: 'state snapshots kept (default 2)' },
    'state-sync-height': { type: 'string', arg: 'HEIGHT', desc: 'join by state sync (empty data dir): a height whose block hash you trust' },
    'state-sync-hash': { type: 'string', arg: '0xHASH', desc: 'the block hash at --state-sync-height, taken from a node you trust' },
    'log-level': { type: 'string', arg: 'LEVEL', desc: 'error, warn, info (default) or debug' },
    'log-format': { type: 'string', arg: 'FORMAT', desc: 'human (default) or json' },
    ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const config = loadConfig(homeOf(ctx), {
      rpcHost: v['rpc-host'], rpcPort: v['rpc-port'], rpcCorsOrigins: v['rpc-cors-origins'], p2pHost: v['p2p-host'], p2pPort: v['p2p-port'], blockTimeMs: v['block-time'],
      bootstrap: v.bootstrap, emptyBlocks: v['no-empty-blocks'] ? false : undefined, logLevel: v['log-level'], logFormat: v['log-format'],
      pruneKeepBlocks: v['prune-keep-blocks'], snapshotInterval: v['snapshot-interval'], snapshotKeep: v['snapshot-keep'],
      stateSync: stateSyncFlag(v['state-sync-height'] as string | undefined, v['state-sync-hash'] as string | undefined),
    }, ctx.io.env)
    // Listening before the node starts: a signal during startup stops it as soon as it is up.
    const stop = Promise.race([ctx.io.stopSignal(), ...[parentGone(ctx.io.env)].filter((p): p is Promise<string> => p !== null)])
    const node = await AttrchainNode.start(config)
    const why = await stop
    node.log.info('stopping', { why })
    await node.stop()
    return 0
  },
}

const statusCommand: Command = {
  name: 'status', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Chain id, head and role of the node at --rpc',
  options: { ...RPC, ...JSON_OPT, ...HELP },
  async run(ctx) {
    output(ctx, await clientOf(ctx).status())
    return 0
  },
}

// ---------------------------------------------------------------- keys

const keysCommands: Command[] = [
  {
    name: 'keys new', args: 'NAME', minArgs: 1, maxArgs: 1,
    summary: 'Create a key in the keyring (HOME/keys/NAME.json)',
    options: { ...HOME, import: { type: 'string', arg: '0xSEED', desc: 'store this 32-byte Ed25519 seed instead of a new random key' }, ...JSON_OPT, ...HELP },
    async run(ctx) {
      const seed = ctx.values.import as string | undefined
      let key: KeyPair | undefined
      if (seed !== undefined) key = keyFromSeed(seed, '--import')
      const entry = new Keyring(homeOf(ctx)).add(ctx.args[0], key)
      output(ctx, { name: entry.name, address: entry.key.address, publicKey: toHex(entry.key.publicKey) })
      return 0
    },
  },
  {
    name: 'keys list', args: '', minArgs: 0, maxArgs: 0,
    summary: 'List the keyring',
    options: { ...HOME, ...JSON_OPT, ...HELP },
    async run(ctx) {
      output(ctx, new Keyring(homeOf(ctx)).list().map((e) => ({ name: e.name, address: e.key.address })))
      return 0
    },
  },
  {
    name: 'keys show', args: 'NAME', minArgs: 1, maxArgs: 1,
    summary: 'Show a key\'s address and public key',
    options: { ...HOME, private: { type: 'boolean', desc: 'also print the private key (0x + seed)' }, ...JSON_OPT, ...HELP },
    async run(ctx) {
      const { name, key } = new Keyring(homeOf(ctx)).get(ctx.args[0])
      output(ctx, { name, address: key.address, publicKey: toHex(key.publicKey), ...(ctx.values.private ? { privateKey: toHex(key.seed) } : {}) })
      return 0
    },
  },
]

function keyFromSeed(seed: string, name: string): KeyPair {
  try {
    return new KeyPair(fromHex(seed, name, 32))
  } catch {
    usage(`${name} must be a 0x-prefixed 32-byte hex seed ("attrchain keys show NAME --private" prints one), or sign with --from NAME`)
  }
}

// ---------------------------------------------------------------- tx

interface TxSpec {
  args: string
  summary: string
  min: number
  max: number
  build(a: string[]): TxCall
}

/** Receipts from a JSON file or inline JSON (anything starting with `[` or `{`). */
function readReceipts(arg: string): TxCall {
  const text = /^\s*[[{]/.test(arg) ? arg : existsSync(arg) ? readFileSync(arg, 'utf8') : usage(`RECEIPTS: "${arg}" is neither inline JSON nor a file`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    usage(`RECEIPTS: invalid JSON: ${(e as Error).message}`)
  }
  return txBuilders.submitReceipts(receiptsFromJson(json))
}

function parseDatanets(arg: string): [string, number][] {
  return arg.split(',').map((pair) => {
    const [id, weight] = pair.split(':')
    const w = argUint(weight, 'DATANETS weight')
    if (w === undefined) usage(`DATANETS: expected ID:WEIGHT[,ID:WEIGHT…], got "${arg}"`)
    return [argHash(id, 'DATANETS id'), w]
  })
}

function parseAccept(arg: string): boolean {
  if (arg === 'accept' || arg === 'true') return true
  if (arg === 'reject' || arg === 'false') return false
  usage(`DECISION must be accept or reject, got "${arg}"`)
}

const b = txBuilders
/** Positional args in the body order of DESIGN §3. AMOUNTs are "1.5OPEN", "1.5 OPEN" or units. */
export const TX_SPECS: Record<TxType, TxSpec> = {
  transfer: { args: 'TO AMOUNT', min: 2, max: 2, summary: 'Move OPEN to an address', build: ([to, amount]) => b.transfer(argAddress(to, 'TO'), amount) },
  createValidator: {
    args: 'AMOUNT MONIKER COMMISSION_BPS', min: 3, max: 3, summary: 'Become a validator with self-stake AMOUNT, keeping COMMISSION_BPS of delegators\' rewards',
    build: ([amount, moniker, bps]) => b.createValidator(amount, moniker, argUint(bps, 'COMMISSION_BPS') as number),
  },
  stake: { args: 'AMOUNT', min: 1, max: 1, summary: 'Add self-stake', build: ([amount]) => b.stake(amount) },
  unstake: { args: 'AMOUNT', min: 1, max: 1, summary: 'Start unbonding self-stake', build: ([amount]) => b.unstake(amount) },
  delegate: { args: 'VALIDATOR AMOUNT', min: 2, max: 2, summary: 'Delegate stake to a validator', build: ([v, amount]) => b.delegate(argAddress(v, 'VALIDATOR'), amount) },
  undelegate: { args: 'VALIDATOR AMOUNT', min: 2, max: 2, summary: 'Start unbonding a delegation', build: ([v, amount]) => b.undelegate(argAddress(v, 'VALIDATOR'), amount) },
  unjail: { args: '', min: 0, max: 0, summary: 'Return a jailed validator after params.jailBlocks', build: () => b.unjail() },
  registerDatanet: {
    args: 'NAME METADATA_URI CONTRIBUTION_BOND', min: 3, max: 3, summary: 'Create a Datanet curated by the sender (its id is the tx hash)',
    build: ([name, uri, bond]) => b.registerDatanet(name, uri, bond),
  },
  contribute: {
    args: 'DATANET_ID DATA_HASH METADATA_URI [SOURCE_MODEL_ID]', min: 3, max: 4,
    summary: 'Submit a contribution (DATA_HASH: 32-byte 0x-hex), locking the Datanet\'s bond; SOURCE_MODEL_ID marks data generated by that model (synthetic)',
    build: ([id, hash, uri, source]) => b.contribute(argHash(id, 'DATANET_ID'), argHash(hash, 'DATA_HASH'), uri, source === undefined ? undefined : argHash(source, 'SOURCE_MODEL_ID')),
  },
  reviewContribution: {
    args: 'CONTRIBUTION_ID accept|reject [WEIGHT]', min: 2, max: 3, summary: 'Curator only: accept with quality WEIGHT ≥ 1, or reject (bond slashed)',
    build: ([id, decision, weight]) => b.reviewContribution(argHash(id, 'CONTRIBUTION_ID'), parseAccept(decision), argUint(weight, 'WEIGHT') ?? 0),
  },
  registerModel: {
    args: 'NAME BASE_MODEL DATANETS MIN_FEE [PARENTS]', min: 4, max: 5,
    summary: 'Register a model; DATANETS is ID:WEIGHT[,ID:WEIGHT…] (provenance); PARENTS is MODEL_ID[,MODEL_ID…] for a derived model',
    build: ([name, base, datanets, minFee, parents]) => b.registerModel(name, base, parseDatanets(datanets), minFee, parents === undefined ? undefined : parents.split(',').map((p) => argHash(p, 'PARENTS id'))),
  },
  approveOperator: {
    args: 'OPERATOR AMOUNT', min: 2, max: 2, summary: 'Let OPERATOR charge up to AMOUNT of the sender\'s OPEN for inference',
    build: ([op, amount]) => b.approveOperator(argAddress(op, 'OPERATOR'), amount),
  },
  submitReceipts: {
    args: 'RECEIPTS', min: 1, max: 1,
    summary: 'Submit inference receipts as the operator. RECEIPTS: a JSON file or inline JSON, one receipt or an array of '
      + '{modelId, payer, fee, inputHash, outputHash, attribution: [[contributionId, weight]…]} (or arrays in body order)',
    build: ([arg]) => readReceipts(arg),
  },
  claim: { args: '', min: 0, max: 0, summary: 'Pay out everything the sender has accrued in reward pools', build: () => b.claim() },
  setModelTerms: {
    args: 'MODEL_ID ROYALTY_BPS allow|deny', min: 3, max: 3, summary: 'Model owner only: royalty (bps of a derived model\'s owner share) and whether derivatives may be registered, for models derived later',
    build: ([id, bps, allow]) => b.setModelTerms(argHash(id, 'MODEL_ID'), argUint(bps, 'ROYALTY_BPS') as number, parseAllow(allow)),
  },
  setDatanetTerms: {
    args: 'DATANET_ID CURATOR_BPS', min: 2, max: 2, summary: 'Datanet owner only: the curator\'s share (bps ≤ params.maxCuratorBps) of what the Datanet\'s contributions earn',
    build: ([id, bps]) => b.setDatanetTerms(argHash(id, 'DATANET_ID'), argUint(bps, 'CURATOR_BPS') as number),
  },
  setCheckpointKey: {
    args: 'ETH_ADDRESS', min: 1, max: 1, summary: 'Validator only: the Ethereum address of its rollup checkpoint key, used from the next checkpoint on',
    build: ([a]) => b.setCheckpointKey(argEthAddress(a)),
  },
  signCheckpoint: {
    args: 'HEIGHT SIGNATURE', min: 2, max: 2, summary: 'Checkpoint signer only: its 65-byte EIP-712 signature of the checkpoint at HEIGHT (validator nodes send it themselves)',
    build: ([h, sig]) => b.signCheckpoint(argUint(h, 'HEIGHT') as number, argBytes(sig, 'SIGNATURE', 65)),
  },
}

function argEthAddress(v: string): string {
  return argBytes(v, 'ETH_ADDRESS', 20)
}

function argBytes(v: string, name: string, len: number): string {
  if (!/^0x[0-9a-fA-F]*$/.test(v) || v.length !== 2 + 2 * len) usage(`${name} must be ${len} bytes of 0x hex, got "${v}"`)
  return v.toLowerCase()
}

function parseAllow(arg: string): boolean {
  if (arg === 'allow' || arg === 'true') return true
  if (arg === 'deny' || arg === 'false') return false
  usage(`expected allow or deny, got "${arg}"`)
}

const TX_OPTS: Opts = {
  from: { type: 'string', arg: 'NAME', desc: 'sign with this keyring key (in --home)' },
  key: { type: 'string', arg: '0xSEED', desc: 'sign with this 32-byte Ed25519 seed' },
  ...HOME, ...RPC,
  fee: { type: 'string', arg: 'AMOUNT', desc: 'tx fee (default: the chain\'s minTxFee)' },
  nonce: { type: 'string', arg: 'N', desc: 'use this nonce instead of the account\'s next one' },
  wait: { type: 'boolean', desc: 'wait until the tx is committed and report its status' },
  'chain-id': { type: 'string', arg: 'ID', desc: 'sign for this chain id (default: the node\'s)' },
  print: { type: 'boolean', desc: 'sign and print the raw tx (0x-hex) for tx_send; send nothing. With --chain-id, --nonce and --fee it needs no node' },
  ...JSON_OPT, ...HELP,
}

function signerOf(ctx: Ctx): KeyPair {
  const from = ctx.values.from as string | undefined
  const key = ctx.values.key as string | undefined
  if (from !== undefined && key !== undefined) usage('give either --from NAME or --key 0xSEED, not both')
  if (key !== undefined) return keyFromSeed(key, '--key')
  if (from !== undefined) return new Keyring(homeOf(ctx)).get(from).key
  usage('a tx needs a signer: --from NAME (keyring) or --key 0xSEED')
}

/** Ids created by the tx: a Datanet, contribution or model id is the tx hash (DESIGN §2); receipts have their own. */
function createdIds(call: TxCall, hash: string): Record<string, unknown> {
  if (call.type === 'registerDatanet' || call.type === 'contribute' || call.type === 'registerModel') return { id: hash }
  if (call.type === 'submitReceipts') return { receiptIds: call.receipts.map((_, i) => receiptId(hash, i)) }
  return {}
}

function buildCall(type: TxType, args: string[]): TxCall {
  try {
    return TX_SPECS[type].build(args)
  } catch (e) {
    // A builder refusing an argument (bad amount, bad hex, weight 0) is a usage error too.
    if (isAttrchainError(e) && !(e instanceof UsageError)) throw new UsageError(e.code, e.reason, e.meta)
    throw e
  }
}

function argFee(v: string | undefined): bigint | undefined {
  if (v === undefined) return undefined
  try {
    return toUnits(v, '--fee')
  } catch (e) {
    usage((e as AttrchainError).reason)
  }
}

function senderOpts(ctx: Ctx, fee: bigint | undefined): { fee?: bigint; chainId?: string } {
  const chainId = ctx.values['chain-id'] as string | undefined
  return { ...(fee !== undefined ? { fee } : {}), ...(chainId !== undefined ? { chainId } : {}) }
}

/**
 * `tx … --print`: sign and return the signed tx without sending it. Chain
 * id, nonce and fee come from --chain-id, --nonce and --fee; any not given
 * is read from the node (chain id, the account's nonce, minTxFee).
 */
async function signOnly(ctx: Ctx, key: KeyPair, call: TxCall): Promise<SignedTx> {
  const fee = argFee(ctx.values.fee as string | undefined)
  const nonce = argUint(ctx.values.nonce as string | undefined, '--nonce')
  const chainId = ctx.values['chain-id'] as string | undefined
  if (chainId !== undefined && nonce !== undefined && fee !== undefined) return signTx({ chainId, nonce, fee, call }, key)
  const sender = new TxSender(clientOf(ctx), key, senderOpts(ctx, fee))
  const setup = await sender.init()
  return signTx({ chainId: setup.chainId, nonce: nonce ?? sender.nextNonce, fee: setup.fee, call }, key)
}

async function submit(ctx: Ctx, key: KeyPair, call: TxCall): Promise<TxSendResult> {
  const client = clientOf(ctx)
  const fee = argFee(ctx.values.fee as string | undefined)
  const nonce = argUint(ctx.values.nonce as string | undefined, '--nonce')
  const sender = new TxSender(client, key, senderOpts(ctx, fee))
  const wait = ctx.values.wait ? 'commit' : 'none'
  const sending = (async () => {
    if (nonce === undefined) return sender.send(call, { wait })
    const setup = await sender.init()
    return client.sendTx(signTx({ chainId: setup.chainId, nonce, fee: setup.fee, call }, key), { wait })
  })()
  return wait === 'commit' ? withCommitProgress(ctx, client, sending) : sending
}

/**
 * `--wait`: while the node holds tx_send until the tx commits (up to its
 * 30 s commit wait), show how long and the chain's head (node/progress.ts:
 * a live line on a terminal; without one, a line at the start and every
 * 10 s; nothing with --json unless on a terminal).
 */
async function withCommitProgress<T>(ctx: Ctx, client: AttrchainClient, sending: Promise<T>): Promise<T> {
  const tty = Boolean(ctx.io.stderrTty)
  if (ctx.values.json && !tty) return sending
  const progress = progressLine(ctx.io.stderr, tty)
  const start = Date.now()
  let head = '…'
  let lastStep = 0
  progress.step('sending the tx and waiting for it to be committed')
  const tick = setInterval(() => {
    void client.status().then((st) => { head = String(st.height) }, () => { head = 'unreachable' })
    const s = Math.floor((Date.now() - start) / 1000)
    if (!tty && s - lastStep >= 10) {
      lastStep = s
      progress.step(`still waiting for the tx to be committed: ${s} s, head ${head}`)
    } else progress.update(`waiting for the tx to be committed: ${secondsSince(start)}, head ${head}`)
  }, 1000)
  try {
    return await sending
  } finally {
    clearInterval(tick)
    progress.done()
  }
}

const txCommands: Command[] = TX_TYPES.map((type): Command => ({
  name: `tx ${type}`, args: TX_SPECS[type].args, minArgs: TX_SPECS[type].min, maxArgs: TX_SPECS[type].max,
  summary: TX_SPECS[type].summary, options: TX_OPTS,
  async run(ctx) {
    const call = buildCall(type, ctx.args)
    const key = signerOf(ctx)
    if (ctx.values.print) {
      if (ctx.values.wait) usage('--print sends nothing: it takes no --wait')
      const stx = await signOnly(ctx, key, call)
      const printed = { raw: toHex(stx.bytes), hash: stx.hash, sender: key.address, chainId: stx.tx.chainId, nonce: stx.tx.nonce, fee: stx.tx.fee.toString(), ...createdIds(call, stx.hash) }
      output(ctx, printed, () => printed.raw)
      return 0
    }
    const r = await submit(ctx, key, call)
    const result = { ...r, sender: key.address, ...createdIds(call, r.hash) }
    output(ctx, result, () => {
      const head = r.height === undefined ? `submitted ${r.hash}` : `committed ${r.hash} at height ${r.height} (${r.status})`
      return [head, ...keyValues(createdIds(call, r.hash))].join('\n')
    })
    if (r.status === 'failed') throw new CliError(r.error?.code ?? 'TX_FAILED', `tx ${r.hash} failed at height ${r.height}: ${r.error?.message ?? 'no reason given'}`)
    return 0
  },
}))

// ---------------------------------------------------------------- query

function found<T>(value: T | null, what: string): T {
  if (value === null) throw new CliError('CLI_ERROR_NOT_FOUND', `${what} not found`)
  return value
}

const PAGE: Opts = {
  offset: { type: 'string', arg: 'N', desc: 'skip the first N' },
  limit: { type: 'string', arg: 'N', desc: 'at most N (default 100, max 1000)' },
}
const OWNER: Opts = { owner: { type: 'string', arg: 'ADDR', desc: 'only those owned by ADDR' } }
const QUERY_OPTS: Opts = { ...RPC, ...JSON_OPT, ...HELP }

function pageOf(ctx: Ctx): { offset?: number; limit?: number; owner?: string } {
  const owner = ctx.values.owner as string | undefined
  return {
    ...(ctx.values.offset !== undefined ? { offset: argUint(ctx.values.offset as string, '--offset') } : {}),
    ...(ctx.values.limit !== undefined ? { limit: argUint(ctx.values.limit as string, '--limit') } : {}),
    ...(owner !== undefined ? { owner: argAddress(owner, '--owner') } : {}),
  }
}

function query(name: string, args: string, summary: string, fetch: (c: AttrchainClient, ctx: Ctx) => Promise<unknown>, extra: Opts = {}): Command {
  const n = args.split(' ').filter(Boolean)
  const required = n.filter((a) => !a.startsWith('[')).length
  return {
    name: `query ${name}`, args, summary, minArgs: required, maxArgs: n.length, options: { ...extra, ...QUERY_OPTS },
    async run(ctx) {
      output(ctx, await fetch(clientOf(ctx), ctx))
      return 0
    },
  }
}

const queryCommands: Command[] = [
  query('account', 'ADDR', 'Balance, nonce, stake, unbonding and claimable rewards', (c, { args }) => c.getAccount(argAddress(args[0], 'ADDR'))),
  query('allowance', 'PAYER OPERATOR', 'What OPERATOR may still charge PAYER', (c, { args }) => c.getAllowance(argAddress(args[0], 'PAYER'), argAddress(args[1], 'OPERATOR'))),
  query('block', 'HEIGHT|latest', 'A block with its header and tx hashes', async (c, { args, values }) => {
    const h = argHeight(args[0])
    return found(values.full ? await c.getBlock(h, { full: true }) : await c.getBlock(h), `block ${h}`)
  }, { full: { type: 'boolean', desc: 'include whole txs instead of their hashes' } }),
  query('commit', 'HEIGHT|latest', 'The precommits that committed a height', async (c, { args }) => found(await c.getCommit(argHeight(args[0])), `commit ${args[0]}`)),
  query('tx', 'HASH', 'A tx with its inclusion and status', async (c, { args }) => found(await c.getTx(argHash(args[0], 'HASH')), `tx ${args[0]}`)),
  query('distribution', 'HEIGHT|latest', 'The fee distribution of a block', async (c, { args }) => found(await c.getDistribution(argHeight(args[0])), `distribution ${args[0]}`)),
  query('validators', '', 'Every validator with stake, power, commission and jail status', (c) => c.validators()),
  query('delegations', 'ADDR', 'The delegations of an address', (c, { args }) => c.delegations(argAddress(args[0], 'ADDR'))),
  query('datanet', 'ID', 'A Datanet', async (c, { args }) => found(await c.getDatanet(argHash(args[0], 'ID')), `datanet ${args[0]}`)),
  query('datanets', '', 'Datanets in creation order', (c, ctx) => c.listDatanets(pageOf(ctx)), { ...OWNER, ...PAGE }),
  query('contributions', 'DATANET', 'Contributions of a Datanet in submission order', async (c, ctx) => {
    const status = ctx.values.status as string | undefined
    if (status !== undefined && !['pending', 'accepted', 'rejected'].includes(status)) usage(`--status must be pending, accepted or rejected, got "${status}"`)
    const opts = { ...pageOf(ctx), ...(status ? { status: status as ContributionStatus } : {}) }
    return found(await c.datanetContributions(argHash(ctx.args[0], 'DATANET'), opts), `datanet ${ctx.args[0]}`)
  }, { status: { type: 'string', arg: 'STATUS', desc: 'pending, accepted or rejected' }, ...PAGE }),
  query('contribution', 'ID', 'A contribution with its receipts and earnings', async (c, { args }) => found(await c.getContribution(argHash(args[0], 'ID')), `contribution ${args[0]}`)),
  query('model', 'ID', 'A model with provenance, receipts and fees', async (c, { args }) => found(await c.getModel(argHash(args[0], 'ID')), `model ${args[0]}`)),
  query('models', '', 'Models in registration order', (c, ctx) => c.listModels(pageOf(ctx)), { ...OWNER, ...PAGE }),
  query('receipt', 'ID', 'An inference receipt with the payout of every unit of its fee', async (c, { args }) => found(await c.getReceipt(argHash(args[0], 'ID')), `receipt ${args[0]}`)),
  query('attribution', 'ADDR', 'What an address has earned, by role', (c, { args }) => c.attribution(argAddress(args[0], 'ADDR'))),
  query('explain', 'RECEIPT', 'Every flow of a receipt\'s fee with the rule that sent it there (attribution_explain)', async (c, { args }) => found(await c.explainReceipt(argHash(args[0], 'RECEIPT')), `receipt ${args[0]}`)),
  query('lineage', 'MODEL', 'A model\'s terms, parents, frozen royalty stack and children (model_lineage)', async (c, ctx) => {
    const { offset, limit } = pageOf(ctx)
    return found(await c.modelLineage(argHash(ctx.args[0], 'MODEL'), { ...(offset !== undefined ? { offset } : {}), ...(limit !== undefined ? { limit } : {}) }), `model ${ctx.args[0]}`)
  }, PAGE),
  query('trace', 'TRACE_ID', 'The receipts of one trace in chain order (receipt_trace)', (c, ctx) => {
    const { offset, limit } = pageOf(ctx)
    return c.receiptTrace(argHash(ctx.args[0], 'TRACE_ID'), { ...(offset !== undefined ? { offset } : {}), ...(limit !== undefined ? { limit } : {}) })
  }, PAGE),
  query('params', '', 'The chain parameters', (c) => c.params()),
]

// ---------------------------------------------------------------- devnet

const devnetCommand: Command = {
  name: 'devnet', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Run a local devnet: write genesis and homes, start the nodes, print dev keys and endpoints',
  details: 'Dev keys are deterministic and public (README, "Quickstart"). An existing --home is reused (chain data kept) unless --reset.',
  options: {
    validators: { type: 'string', arg: 'N', desc: `number of validators (default ${defaultDevnetOptions.validators})` },
    accounts: { type: 'string', arg: 'M', desc: `funded dev accounts (default ${defaultDevnetOptions.accounts})` },
    home: { type: 'string', arg: 'DIR', desc: `devnet dir, one home per node in DIR/nodeI (default ${defaultDevnetOptions.home})` },
    'rpc-port': { type: 'string', arg: 'P', desc: `RPC port of node 0; node i gets P+i (default ${defaultDevnetOptions.rpcPort})` },
    'p2p-port': { type: 'string', arg: 'Q', desc: `p2p port of node 0; node i gets Q+i (default ${defaultDevnetOptions.p2pPort})` },
    'block-time': { type: 'string', arg: 'MS', desc: `block interval (default ${defaultDevnetOptions.blockTimeMs})` },
    reset: { type: 'boolean', desc: 'delete DIR first: a fresh chain' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const num = (name: string, min: number): number | undefined => {
      const n = argUint(v[name] as string | undefined, `--${name}`)
      if (n !== undefined && n < min) usage(`--${name} must be at least ${min}`)
      return n
    }
    const d = defaultDevnetOptions
    return runDevnet({
      validators: num('validators', 1) ?? d.validators, accounts: num('accounts', 0) ?? d.accounts,
      home: resolve((v.home as string | undefined) ?? d.home), rpcPort: num('rpc-port', 1) ?? d.rpcPort, p2pPort: num('p2p-port', 1) ?? d.p2pPort,
      blockTimeMs: num('block-time', 0) ?? d.blockTimeMs, reset: Boolean(v.reset), json: Boolean(v.json), readyTimeoutMs: d.readyTimeoutMs,
    }, {
      stdout: (s) => ctx.io.stdout(s + '\n'), stderr: (s) => ctx.io.stderr(s + '\n'), stopSignal: ctx.io.stopSignal, env: ctx.io.env,
      progress: v.json && !ctx.io.stderrTty ? NO_PROGRESS : progressLine(ctx.io.stderr, Boolean(ctx.io.stderrTty)),
    })
  },
}

// ---------------------------------------------------------------- demo

/** The demo's own devnet dir: `npm run devnet` keeps a 4-validator chain in `.devnet`, and the demo's 1-validator genesis differs. */
const DEMO_HOME = '.devnet-demo'

const demoCommand: Command = {
  name: 'demo', args: '', minArgs: 0, maxArgs: 0,
  summary: 'The first five minutes: start a devnet unless one runs, seed Datanets, contributions, models, operators and payers, stream receipts, print the explorer URL',
  details: 'Uses the public dev accounts. Without a node at --rpc, a 1-validator devnet is started in --home (kept unless --reset) and stopped with the demo.',
  options: {
    rpc: { type: 'string', arg: 'URL', desc: 'node to use (default http://127.0.0.1:8545)' },
    rate: { type: 'string', arg: 'N', desc: 'receipts per second to stream (default 20)' },
    validators: { type: 'string', arg: 'N', desc: 'validators of the devnet started (default 1)' },
    home: { type: 'string', arg: 'DIR', desc: `devnet dir when one is started (default ${DEMO_HOME}: not ${defaultDevnetOptions.home}, whose 4-validator devnet has another genesis)` },
    reset: { type: 'boolean', desc: 'start the devnet from a fresh chain' },
    ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const rpc = (v.rpc as string | undefined) ?? `http://127.0.0.1:${defaultDevnetOptions.rpcPort}`
    let rpcPort: number
    try {
      rpcPort = Number(new URL(rpc).port) || 80
    } catch {
      usage(`--rpc ${rpc} is not a URL (e.g. http://127.0.0.1:8545)`)
    }
    const { runDemo } = await import('./demo.js')
    return runDemo({
      rpc, rate: argUint(v.rate as string | undefined, '--rate') ?? 20,
      devnet: { ...defaultDevnetOptions, rpcPort, validators: argUint(v.validators as string | undefined, '--validators') ?? 1, home: resolve((v.home as string | undefined) ?? DEMO_HOME), reset: Boolean(v.reset) },
    }, { stdout: ctx.io.stdout, stderr: ctx.io.stderr, stopSignal: ctx.io.stopSignal, env: ctx.io.env, tty: Boolean(process.stdout.isTTY) })
  },
}

// ---------------------------------------------------------------- testnet

const testnetCommand: Command = {
  name: 'testnet', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Write the homes of a multi-machine network: N validators and M full nodes over --hosts, one genesis, persistent peers',
  details: 'Nothing is started. Copy each DIR/<node> to its host and run "attrchain start --home <node>" there (README, "Run a network on several machines").',
  options: {
    hosts: { type: 'string', arg: 'H1,H2,…', desc: 'IPv4 addresses or DNS names; node k runs on host k mod the number of hosts (required)' },
    validators: { type: 'string', arg: 'N', desc: `validators (default ${defaultTestnetOptions.validators})` },
    'full-nodes': { type: 'string', arg: 'M', desc: 'full nodes (default 0)' },
    output: { type: 'string', short: 'o', arg: 'DIR', desc: 'where to write the homes (required; must be empty unless --force)' },
    'chain-id': { type: 'string', arg: 'ID', desc: `chain id (default ${defaultTestnetOptions.chainId})` },
    stakes: { type: 'string', arg: 'AMOUNTS', desc: 'self-stake of every validator, or one per validator, comma-separated (default 100000OPEN)' },
    'validator-balance': { type: 'string', arg: 'AMOUNT', desc: 'liquid balance of each validator account (default 10000OPEN)' },
    accounts: { type: 'string', arg: 'K', desc: `extra funded accounts, keys in DIR/accounts.json (default ${defaultTestnetOptions.accounts})` },
    'account-balance': { type: 'string', arg: 'AMOUNT', desc: 'balance of each extra account (default 1000000OPEN)' },
    params: { type: 'string', arg: 'FILE|JSON', desc: 'genesis params overriding the defaults, e.g. \'{"maxValidators":50}\'' },
    'genesis-time': { type: 'string', arg: 'TIME', desc: 'RFC 3339 genesis time (default: now); no block is made before it' },
    'p2p-port': { type: 'string', arg: 'P', desc: `p2p port of the first node on a host; the k-th node on a host gets P+k (default ${defaultTestnetOptions.p2pPort})` },
    'rpc-port': { type: 'string', arg: 'R', desc: `RPC port, likewise (default ${defaultTestnetOptions.rpcPort})` },
    force: { type: 'boolean', desc: 'replace a non-empty --output' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const d = defaultTestnetOptions
    const str = (name: string): string | undefined => v[name] as string | undefined
    if (!str('hosts')) usage('--hosts is required, e.g. --hosts 10.0.0.1,10.0.0.2')
    if (!str('output')) usage('--output DIR is required')
    const dir = resolve(str('output')!)
    const amount = (name: string, dflt: bigint): bigint => (str(name) === undefined ? dflt : parseStakes(str(name)!)[0])
    const layout = await writeTestnet({
      hosts: str('hosts')!.split(',').map((h) => h.trim()).filter(Boolean),
      validators: argUint(str('validators'), '--validators') ?? d.validators,
      fullNodes: argUint(str('full-nodes'), '--full-nodes') ?? d.fullNodes,
      output: dir, chainId: str('chain-id') ?? d.chainId,
      stakes: str('stakes') === undefined ? d.stakes : parseStakes(str('stakes')!),
      validatorBalance: amount('validator-balance', d.validatorBalance),
      accounts: argUint(str('accounts'), '--accounts') ?? d.accounts,
      accountBalance: amount('account-balance', d.accountBalance),
      params: str('params') === undefined ? d.params : readParamsArg(str('params')!),
      genesisTime: str('genesis-time'),
      p2pPort: argUint(str('p2p-port'), '--p2p-port') ?? d.p2pPort,
      rpcPort: argUint(str('rpc-port'), '--rpc-port') ?? d.rpcPort,
      force: Boolean(v.force),
    })
    output(ctx, summaryJson(layout), () => summaryLines(layout, dir).join('\n'))
    return 0
  },
}

// ---------------------------------------------------------------- verify (node/commands/verify.ts)

const verifyCommand: Command = {
  name: 'verify', args: 'WHAT ID', minArgs: 2, maxArgs: 2,
  summary: 'Read something from --rpc and prove it: the header by the light client from a trusted genesis or checkpoint, the value by its state proof',
  details: 'WHAT: header (ID a height or latest); account, validator, ledger (ID an address; ledger = attribution totals by role); datanet, datanetTerms, '
    + 'contribution, contributionTotals, model, modelLineage (ID a 32-byte id). Trusted root: --trust-height H --trust-hash 0x… (a block hash you trust), else --genesis FILE, else HOME/genesis.json. '
    + 'Exit 0 when everything checks out; 1 with VERIFICATION FAILED on stderr when the node\'s answer does not.',
  options: {
    ...RPC, ...HOME,
    height: { type: 'string', arg: 'N', desc: 'the height whose state is read (default: the node\'s latest)' },
    'trust-height': { type: 'string', arg: 'H', desc: 'height of a trusted checkpoint' },
    'trust-hash': { type: 'string', arg: '0xHASH', desc: 'block hash of the trusted checkpoint' },
    genesis: { type: 'string', arg: 'FILE', desc: 'the trusted genesis file (default HOME/genesis.json)' },
    'trusting-period': { type: 'string', arg: 'HOURS', desc: 'how long a verified header may serve as a base (default 168)' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const { runVerify, VERIFY_KINDS, verifyIdProblem } = await import('./commands/verify.js')
    const what = ctx.args[0] as (typeof VERIFY_KINDS)[number]
    if (!VERIFY_KINDS.includes(what)) usage(`WHAT must be one of ${VERIFY_KINDS.join(', ')}, got "${ctx.args[0]}"`)
    const idProblem = verifyIdProblem(what, ctx.args[1])
    if (idProblem !== null) usage(idProblem)
    const th = argUint(v['trust-height'] as string | undefined, '--trust-height')
    const tHash = v['trust-hash'] as string | undefined
    if ((th === undefined) !== (tHash === undefined)) usage('--trust-height and --trust-hash go together')
    const genesisPath = (v.genesis as string | undefined) ?? homePaths(homeOf(ctx)).genesis
    const hours = argUint(v['trusting-period'] as string | undefined, '--trusting-period')
    return runVerify({
      what, id: ctx.args[1],
      height: v.height === undefined ? 'latest' : argHeight(v.height as string, '--height'),
      rpc: (v.rpc as string | undefined) ?? ctx.io.env.ATTRCHAIN_RPC ?? DEFAULT_RPC_URL,
      checkpoint: th === undefined ? null : { height: th, hash: argHash(tHash!, '--trust-hash') },
      genesis: th !== undefined ? null : v.genesis !== undefined || existsSync(genesisPath) ? readGenesisFile(genesisPath) : null,
      ...(hours !== undefined ? { trustingPeriodMs: hours * 3_600_000 } : {}),
      json: Boolean(v.json),
    }, { stdout: ctx.io.stdout, stderr: ctx.io.stderr, now: () => Date.now() })
  },
}

// ---------------------------------------------------------------- rollup (node/commands/rollup.ts)

const L1: Opts = {
  l1: { type: 'string', arg: 'URL', desc: 'the L1 (EVM) JSON-RPC URL' },
  key: { type: 'string', arg: '0xKEY', desc: 'the L1 account that pays the gas (default: $ATTRCHAIN_L1_KEY, else anvil\'s dev account 0: local L1s only)' },
}
const l1Of = (ctx: Ctx) => {
  if (ctx.values.l1 === undefined) usage('--l1 URL is required')
  return { l1: ctx.values.l1 as string, key: (ctx.values.key as string | undefined) ?? ctx.io.env.ATTRCHAIN_L1_KEY ?? DEV_L1_KEY, rpc: (ctx.values.rpc as string | undefined) ?? ctx.io.env.ATTRCHAIN_RPC ?? DEFAULT_RPC_URL }
}
const rollupCommands: Command[] = [{
  name: 'rollup deploy', args: '', minArgs: 0, maxArgs: 0, options: { ...L1, ...RPC, ...JSON_OPT, ...HELP },
  summary: 'Deploy the checkpoint contract on the L1 with the checkpoint set that signs the chain\'s next checkpoint; prints its address',
  run: async (ctx) => {
    const r = await deployCheckpoints(l1Of(ctx))
    output(ctx, { ...r, gasUsed: r.gasUsed.toString() }, () => `contract ${r.contract} on L1 chain ${r.l1ChainId}: checkpoints of ${r.chainId} after height ${r.startHeight}, ${r.signers} signers (set ${r.validatorSetHash}), gas ${r.gasUsed}`)
    return 0
  },
}, {
  name: 'rollup relay', args: '', minArgs: 0, maxArgs: 0,
  options: { ...L1, contract: { type: 'string', arg: 'ADDR', desc: 'the checkpoint contract (from rollup deploy)' }, ...RPC, poll: { type: 'string', arg: 'MS', desc: 'wait between polls (default 2000)' }, ...JSON_OPT, ...HELP },
  summary: 'Follow the chain and submit each checkpoint with > 2/3 of its signers\' power to the contract, validator-set changes included; restartable',
  run: async (ctx) => {
    if (ctx.values.contract === undefined) usage('--contract ADDR is required')
    return runRelay({ ...l1Of(ctx), contract: ctx.values.contract as string, pollMs: argUint(ctx.values.poll as string | undefined, '--poll') ?? 2000, json: Boolean(ctx.values.json) }, {
      stdout: (s) => ctx.io.stdout(s + '\n'), stderr: (s) => ctx.io.stderr(s + '\n'), stopSignal: ctx.io.stopSignal(),
    })
  },
}]

// ---------------------------------------------------------------- dispatch and help

const COMMANDS: Command[] = [initCommand, startCommand, devnetCommand, demoCommand, testnetCommand, statusCommand, ...keysCommands, ...txCommands, ...queryCommands, verifyCommand, ...rollupCommands]
const GROUPS: Record<string, string> = {
  keys: 'Manage the keyring in HOME/keys',
  tx: 'Sign and submit a tx of any type',
  query: 'Read chain state over JSON-RPC',
  rollup: 'Anchor the chain\'s checkpoints on an EVM L1',
}

function optionLines(opts: Opts): string[] {
  const rows = Object.entries(opts).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ' ' + o.arg : ''}`, o.desc])
  const w = Math.max(...rows.map((r) => r[0].length))
  return rows.map(([l, d]) => `  ${l.padEnd(w)}  ${d}`)
}

function commandHelp(c: Command): string {
  return [
    `Usage: attrchain ${c.name}${c.args ? ' ' + c.args : ''} [options]`, '', c.summary + '.',
    ...(c.details ? ['', c.details] : []), '', 'Options:', ...optionLines(c.options),
  ].join('\n') + '\n'
}

function listLines(cmds: Command[], strip: string): string[] {
  const rows = cmds.map((c) => [c.name.slice(strip.length) + (c.args ? ' ' + c.args : ''), c.summary])
  const w = Math.max(...rows.map((r) => r[0].length))
  return rows.map(([n, s]) => `  ${n.padEnd(w)}  ${s}`)
}

function groupHelp(group: string): string {
  return [
    `Usage: attrchain ${group} <command> [options]`, '', GROUPS[group] + '.', '', 'Commands:',
    ...listLines(COMMANDS.filter((c) => c.name.startsWith(group + ' ')), group + ' '), '',
    `Run "attrchain ${group} <command> --help" for its options.`,
  ].join('\n') + '\n'
}

export function mainHelp(): string {
  const top = COMMANDS.filter((c) => !c.name.includes(' '))
  const groups = Object.entries(GROUPS).map(([g, s]) => ({ name: `${g} <command>`, args: '', summary: s }) as Command)
  return [
    'Usage: attrchain <command> [options]', '',
    'attrchain: a proof-of-stake chain node for AI attribution.', '', 'Commands:',
    ...listLines([...top, ...groups], ''), '',
    'Run "attrchain <command> --help" for a command\'s options. Exit codes: 0 ok, 1 error, 2 usage error.',
  ].join('\n') + '\n'
}

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

function parse(c: Command, argv: string[]): { values: Values; args: string[] } {
  const options = Object.fromEntries(Object.entries(c.options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]))
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    return { values: values as Values, args: positionals }
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

export const processIo = (): CliIo => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  stopSignal: processStopSignal,
  stderrTty: Boolean(process.stderr.isTTY),
})

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io)
  } catch (e) {
    io.stderr(errorLine(e) + '\n')
    return e instanceof UsageError ? 2 : 1
  }
}

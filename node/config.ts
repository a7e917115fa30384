import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as v from 'valibot'
import { AttrchainError } from '../core/errors.js'
import { readJsonFile } from './home.js'
import { defaultMempoolOptions, type MempoolOptions } from './mempool.js'

/** What `ConfigError` carries. */
export type ConfigErrorCode =
  /** a config value (file, environment or flag) that does not validate; the message names its source */
  | 'CONFIG_ERROR_INVALID'

export class ConfigError extends AttrchainError<ConfigErrorCode> {}

/** Fewer kept blocks than this would leave no commit to build the next block on, nor blocks for a peer one height behind. */
export const MIN_PRUNE_KEEP_BLOCKS = 100

// Field schemas. Each takes the value as JSON gives it (config.json) or as
// text (environment, flags) and yields the typed value; its messages follow
// the setting's name ("rpcPort must be ...").

/**
 * A non-negative integer (or its decimal digits as text: a blank, `0x…` or
 * `1e3` is refused, not read as 0, 4845 or 1000); `min` 1 for limits where 0
 * would refuse everything.
 */
function count(min: 0 | 1 = 0) {
  return v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.regex(/^[0-9]+$/), v.transform(Number))], 'must be a non-negative integer'),
    v.safeInteger('must be a non-negative integer'),
    v.minValue(0, 'must be a non-negative integer'),
    v.minValue(min, 'must be at least 1'),
  )
}

/** A non-negative finite number (or its decimal text, `0.5`; a blank, `0x…`, `1e3` or `-1` is refused). */
function fraction() {
  return v.pipe(
    v.union([v.number(), v.pipe(v.string(), v.regex(/^[0-9]+(\.[0-9]+)?$/), v.transform(Number))], 'must be a non-negative number'),
    v.finite('must be a non-negative number'),
    v.minValue(0, 'must be a non-negative number'),
  )
}

/** A TCP port (0: any free port). */
const port = () => v.pipe(count(), v.maxValue(65535, 'must be a port number, 0..65535'))

const text = () => v.string('must be a string')

/** `true`/`false`, as JSON or text. */
const flag = (message: string) => v.union([v.boolean(), v.pipe(v.picklist(['true', 'false']), v.transform((s) => s === 'true'))], message)

/** A list of strings, or comma-separated text. */
const list = (message: string) => v.union([v.array(v.string()), v.pipe(v.string(), v.transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)))], message)

const ORIGINS_MESSAGE = 'must be a list of origins (scheme://host[:port]) or "*"'
const isOrigin = (o: string) => o === '*' || /^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(o)

const STATE_SYNC_MESSAGE = 'must be {"trustHeight": height ≥ 1, "trustHash": "0x" + 64 hex} (or HEIGHT:0xHASH)'

/** `{trustHeight, trustHash}`, or the text `HEIGHT:0xHASH` (environment, flags); the hash comes out lower-case. */
const StateSyncSchema = v.pipe(
  v.unknown(),
  v.transform((x) => {
    if (typeof x !== 'string') return x
    const [h, hash, ...rest] = x.split(':')
    return rest.length === 0 ? { trustHeight: /^[0-9]+$/.test(h) ? Number(h) : NaN, trustHash: hash } : null
  }),
  v.strictObject({
    trustHeight: v.pipe(v.number(STATE_SYNC_MESSAGE), v.safeInteger(STATE_SYNC_MESSAGE), v.minValue(1, STATE_SYNC_MESSAGE)),
    trustHash: v.pipe(v.string(STATE_SYNC_MESSAGE), v.regex(/^0x[0-9a-fA-F]{64}$/, STATE_SYNC_MESSAGE), v.toLowerCase()),
  }, STATE_SYNC_MESSAGE),
)

/** `stateSync` setting: a trusted height and its block hash (`0x` + 64 hex). */
export type StateSyncConfig = v.InferOutput<typeof StateSyncSchema>

/**
 * Mempool admission limits (`config.json` only, as `"mempool": {...}`):
 * the keys and defaults of `defaultMempoolOptions` (node/mempool.ts, which
 * says why they are what they are), each a non-negative integer but
 * `maxBacklogBlocks`, a non-negative number (a fraction of a proposal).
 */
const MempoolSchema = v.strictObject(
  // maxTxs and maxBytes 0 would refuse every tx: at least 1
  Object.fromEntries(Object.entries(defaultMempoolOptions).map(([k, d]) => [k, v.optional(k === 'maxBacklogBlocks' ? fraction() : count(k === 'maxTxs' || k === 'maxBytes' ? 1 : 0), d)])) as {
    [K in keyof MempoolOptions]: v.OptionalSchema<ReturnType<typeof count> | ReturnType<typeof fraction>, number>
  },
  'must be an object',
)

/**
 * Every setting, once: its type, its default and how text (environment,
 * flags) turns into it. README "Configuration" has one row per key
 * (test/unit/node/configReadme.test.ts keeps them in step).
 */
const SETTINGS = {
  /** JSON-RPC bind address */
  rpcHost: v.optional(text(), '127.0.0.1'),
  rpcPort: v.optional(port(), 8545),
  p2pHost: v.optional(text(), '127.0.0.1'),
  p2pPort: v.optional(port(), 26656),
  /** multiaddrs of peers to dial at start */
  bootstrap: v.optional(list('must be a list of multiaddrs'), () => []),
  /** find more peers through the chain's DHT (issue 17); off: only the bootstrap list */
  p2pDiscovery: v.optional(flag('must be true or false'), true),
  /** peers the node dials towards through discovery */
  p2pTargetPeers: v.optional(count(), 10),
  /** connections kept at most (libp2p connection manager's maxConnections; loopback peers are exempt) */
  p2pMaxPeers: v.optional(count(1), 50),
  /** target interval between heights (ms): the pause after a commit is what is left of it, at least half of it */
  blockTimeMs: v.optional(count(), 1000),
  emptyBlocks: v.optional(flag('must be true or false'), true),
  /** with emptyBlocks off, the longest a proposer waits for a tx (ms) */
  emptyBlockIntervalMs: v.optional(count(), 30_000),
  logLevel: v.optional(v.picklist(['error', 'warn', 'info', 'debug'], 'must be error, warn, info or debug'), 'info'),
  logFormat: v.optional(v.picklist(['human', 'json'], 'must be human or json'), 'human'),
  mempool: v.optional(MempoolSchema, () => ({})),
  rpcMaxBodyBytes: v.optional(count(), 5 * 1024 * 1024),
  rpcMaxBatch: v.optional(count(), 100),
  /** largest response to one request or batch (bytes); batch items past it get error -32005 (issue 12 item 4) */
  rpcMaxResponseBytes: v.optional(count(1), 32 * 1024 * 1024),
  /** HTTP requests and WebSocket messages served at once, over all connections / per connection; more get -32005 busy */
  rpcMaxConcurrentRequests: v.optional(count(1), 64),
  rpcMaxConcurrentRequestsPerConnection: v.optional(count(1), 8),
  /** origins whose web pages may use the RPC (CORS, WebSocket Origin); empty: none, `*`: any */
  rpcCorsOrigins: v.optional(v.pipe(list(ORIGINS_MESSAGE), v.check((l) => l.every(isOrigin), ORIGINS_MESSAGE)), () => []),
  /** bytes of block JSON kept for chain_getBlock (committed blocks never change) */
  rpcBlockCacheBytes: v.optional(count(), 64 * 1024 * 1024),
  /** how long tx_send with wait "commit" waits before error -32003 (ms) */
  txCommitTimeoutMs: v.optional(count(), 30_000),
  /** signature verification worker threads (default, when absent: cores − 1, at least 1; 0 = main thread) */
  verifyThreads: v.optional(count()),
  /** keep only the last this many blocks and their indexes; 0 = archive node, keeps every block (issue 17) */
  pruneKeepBlocks: v.optional(v.pipe(count(), v.check((n) => n === 0 || n >= MIN_PRUNE_KEEP_BLOCKS, `must be 0 (archive) or at least ${MIN_PRUNE_KEEP_BLOCKS}`)), 0),
  /** take a state snapshot every this many heights, served to nodes joining by state sync; 0 = none */
  snapshotInterval: v.optional(count(), 0),
  /** snapshots kept (the oldest is deleted when a new one is written) */
  snapshotKeep: v.optional(count(1), 2),
  /**
   * Join by state sync (only into an empty data dir): the block at
   * `trustHeight` must hash to `trustHash` (the operator takes both from a
   * node they trust); a snapshot at or after it is fetched, verified and
   * restored, then block sync does the rest.
   */
  stateSync: v.optional(StateSyncSchema),
}

const SettingsSchema = v.strictObject(SETTINGS)

/** The home dir, then every setting of `SETTINGS`. */
const NodeConfigSchema = v.object({ home: v.string(), ...SETTINGS })

/**
 * Node configuration. Precedence, lowest first: the defaults in `SETTINGS`,
 * the home dir's `config.json`, `ATTRCHAIN_*` environment variables,
 * command-line flags (README, "Configuration").
 */
export type NodeConfig = v.InferOutput<typeof NodeConfigSchema>

/** Every setting with its default (verifyThreads and stateSync absent). */
export function defaultNodeConfig(home: string): NodeConfig {
  return v.parse(NodeConfigSchema, { home })
}

/**
 * Setting names as the README's Configuration table lists them: the
 * top-level keys, and `mempool.<key>` for each mempool option.
 */
export function settingNames(): string[] {
  return Object.keys(SETTINGS).flatMap((k) => (k === 'mempool' ? Object.keys(MempoolSchema.entries).map((m) => `mempool.${m}`) : [k]))
}

/** `rpcPort` ↔ `ATTRCHAIN_RPC_PORT`. */
export function envName(key: string): string {
  return 'ATTRCHAIN_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()
}

type Raw = Record<string, unknown>

/** One layer's settings, validated and coerced; throws CONFIG_ERROR_INVALID naming `source` and the setting. */
function parseLayer(raw: Raw, source: string): v.InferOutput<typeof SettingsSchema> {
  const r = v.safeParse(SettingsSchema, raw, { abortEarly: true })
  if (r.success) return r.output
  const issue = r.issues[0]
  const keys = (issue.path ?? []).filter((p) => p.type === 'object').map((p) => String(p.key))
  if (issue.type === 'strict_object' && issue.expected === 'never') throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: unknown setting "${keys.join('.')}"`)
  // the message is the setting's: "mempool.maxTxs must ...", "stateSync must ..." (not its trustHash field)
  const what = `${keys.slice(0, keys[0] === 'mempool' ? 2 : 1).join('.')} ${issue.message}`
  throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: ${what}`)
}

/** Lay the settings `raw` names (undefined values skipped) over `cfg`; mempool options one by one. */
function merge(cfg: NodeConfig, raw: Raw, source: string): void {
  const given = Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined))
  const parsed = parseLayer(given, source)
  for (const key of Object.keys(given) as (keyof typeof SETTINGS)[]) {
    if (key === 'mempool') Object.assign(cfg.mempool, Object.fromEntries(Object.keys(given.mempool as Raw).map((m) => [m, parsed.mempool[m as keyof MempoolOptions]])))
    else (cfg as Raw)[key] = parsed[key]
  }
}

export const CONFIG_FILE = 'config.json'

/**
 * Resolve the configuration of a home dir: defaults, then `config.json`,
 * then `ATTRCHAIN_<NAME>` variables of `env` (every top-level setting but
 * `mempool`), then `flags` (undefined values are skipped; text is coerced
 * like the environment). Throws ConfigError CONFIG_ERROR_INVALID naming the
 * source and the setting of the first bad or unknown value.
 */
export function loadConfig(home: string, flags: Raw = {}, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const cfg = defaultNodeConfig(home)
  const file = join(home, CONFIG_FILE)
  if (existsSync(file)) {
    const raw = readJsonFile(file, (m) => new ConfigError('CONFIG_ERROR_INVALID', m))
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_ERROR_INVALID', `${file} must hold a JSON object`)
    merge(cfg, raw as Raw, file)
  }
  const fromEnv: Raw = {}
  for (const key of Object.keys(SETTINGS)) {
    if (key !== 'mempool') fromEnv[key] = env[envName(key)]
  }
  merge(cfg, fromEnv, 'environment')
  merge(cfg, flags, 'flags')
  return cfg
}

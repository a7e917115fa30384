import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { AttrchainError } from '../core/errors.js'
import type { LogLevel } from './logger.js'
import { defaultMempoolOptions, type MempoolOptions } from './mempool.js'

/** What `ConfigError` carries. */
export type ConfigErrorCode =
  /** a config value (file, environment or flag) that does not validate; the message names its source */
  | 'CONFIG_ERROR_INVALID'

export class ConfigError extends AttrchainError<ConfigErrorCode> {}

/**
 * Node configuration. Precedence, lowest first: these defaults, the home
 * dir's `config.json`, `ATTRCHAIN_*` environment variables, command-line
 * flags (README, "Configuration").
 */
export interface NodeConfig {
  home: string
  rpcHost: string
  rpcPort: number
  p2pHost: string
  p2pPort: number
  /** multiaddrs of peers to dial at start */
  bootstrap: string[]
  /** find more peers through the chain's DHT (issue 17); off: only the bootstrap list */
  p2pDiscovery: boolean
  /** peers the node dials towards through discovery */
  p2pTargetPeers: number
  /** connections kept at most (libp2p connection manager's maxConnections; loopback peers are exempt) */
  p2pMaxPeers: number
  /** pause after each commit before the next height (ms) */
  blockTimeMs: number
  emptyBlocks: boolean
  /** with emptyBlocks off, the longest a proposer waits for a tx (ms) */
  emptyBlockIntervalMs: number
  logLevel: LogLevel
  logFormat: 'human' | 'json'
  mempool: MempoolOptions
  rpcMaxBodyBytes: number
  rpcMaxBatch: number
  /** largest response to one request or batch (bytes); batch items past it get error -32005 (issue 12 item 4) */
  rpcMaxResponseBytes: number
  /** HTTP requests and WebSocket messages served at once, over all connections / per connection; more get -32005 busy */
  rpcMaxConcurrentRequests: number
  rpcMaxConcurrentRequestsPerConnection: number
  /** origins whose web pages may use the RPC (CORS, WebSocket Origin); empty: none, `*`: any */
  rpcCorsOrigins: string[]
  /** bytes of block JSON kept for chain_getBlock (committed blocks never change) */
  rpcBlockCacheBytes: number
  /** how long tx_send with wait "commit" waits before error -32003 (ms) */
  txCommitTimeoutMs: number
  /** signature verification worker threads (default: cores − 1, at least 1; 0 = main thread) */
  verifyThreads?: number
  /** keep only the last this many blocks and their indexes; 0 = archive node, keeps every block (issue 17) */
  pruneKeepBlocks: number
  /** take a state snapshot every this many heights, served to nodes joining by state sync; 0 = none */
  snapshotInterval: number
  /** snapshots kept (the oldest is deleted when a new one is written) */
  snapshotKeep: number
  /**
   * Join by state sync (only into an empty data dir): the block at
   * `trustHeight` must hash to `trustHash` (the operator takes both from a
   * node they trust); a snapshot at or after it is fetched, verified and
   * restored, then block sync does the rest.
   */
  stateSync?: StateSyncConfig
}

/** `stateSync` setting: a trusted height and its block hash (`0x` + 64 hex). */
export interface StateSyncConfig {
  trustHeight: number
  trustHash: string
}

export function defaultNodeConfig(home: string): NodeConfig {
  return {
    home,
    rpcHost: '127.0.0.1',
    rpcPort: 8545,
    p2pHost: '127.0.0.1',
    p2pPort: 26656,
    bootstrap: [],
    p2pDiscovery: true,
    p2pTargetPeers: 10,
    p2pMaxPeers: 50,
    blockTimeMs: 1000,
    emptyBlocks: true,
    emptyBlockIntervalMs: 30_000,
    logLevel: 'info',
    logFormat: 'human',
    mempool: { ...defaultMempoolOptions },
    rpcMaxBodyBytes: 5 * 1024 * 1024,
    rpcMaxBatch: 100,
    rpcMaxResponseBytes: 16 * 1024 * 1024,
    rpcMaxConcurrentRequests: 64,
    rpcMaxConcurrentRequestsPerConnection: 8,
    rpcCorsOrigins: [],
    rpcBlockCacheBytes: 64 * 1024 * 1024,
    txCommitTimeoutMs: 30_000,
    pruneKeepBlocks: 0,
    snapshotInterval: 0,
    snapshotKeep: 2,
  }
}

type Raw = Record<string, unknown>

const NUMBER_KEYS = [
  'rpcPort', 'p2pPort', 'blockTimeMs', 'emptyBlockIntervalMs', 'rpcMaxBodyBytes', 'rpcMaxBatch', 'txCommitTimeoutMs', 'verifyThreads',
  'rpcMaxResponseBytes', 'rpcMaxConcurrentRequests', 'rpcMaxConcurrentRequestsPerConnection', 'rpcBlockCacheBytes',
  'p2pTargetPeers', 'p2pMaxPeers', 'pruneKeepBlocks', 'snapshotInterval', 'snapshotKeep',
] as const
const STRING_KEYS = ['rpcHost', 'p2pHost', 'logLevel', 'logFormat'] as const

/** Limits where 0 would refuse everything. */
const POSITIVE_KEYS = ['rpcMaxResponseBytes', 'rpcMaxConcurrentRequests', 'rpcMaxConcurrentRequestsPerConnection', 'p2pMaxPeers', 'snapshotKeep'] as const

/** Fewer kept blocks than this would leave no commit to build the next block on, nor blocks for a peer one height behind. */
export const MIN_PRUNE_KEEP_BLOCKS = 100

/** `{trustHeight, trustHash}`, or the string `HEIGHT:0xHASH` (environment, flags). */
function parseStateSync(value: unknown, source: string): StateSyncConfig {
  let v = value
  if (typeof v === 'string') {
    const [h, hash, ...rest] = v.split(':')
    v = rest.length === 0 ? { trustHeight: Number(h), trustHash: hash } : null
  }
  const o = v as Partial<StateSyncConfig> | null
  if (typeof o !== 'object' || o === null || !Number.isSafeInteger(o.trustHeight) || (o.trustHeight as number) < 1
    || typeof o.trustHash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(o.trustHash) || Object.keys(o).length !== 2) {
    throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: stateSync must be {"trustHeight": height ≥ 1, "trustHash": "0x" + 64 hex} (or HEIGHT:0xHASH)`)
  }
  return { trustHeight: o.trustHeight as number, trustHash: o.trustHash.toLowerCase() }
}

/** `rpcPort` ↔ `ATTRCHAIN_RPC_PORT`. */
export function envName(key: string): string {
  return 'ATTRCHAIN_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()
}

function coerce(key: string, value: unknown, source: string): unknown {
  if ((NUMBER_KEYS as readonly string[]).includes(key)) {
    const n = typeof value === 'string' ? Number(value) : value
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: ${key} must be a non-negative integer`)
    if (n === 0 && (POSITIVE_KEYS as readonly string[]).includes(key)) throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: ${key} must be at least 1`)
    if (key === 'pruneKeepBlocks' && n !== 0 && n < MIN_PRUNE_KEEP_BLOCKS) {
      throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: pruneKeepBlocks must be 0 (archive) or at least ${MIN_PRUNE_KEEP_BLOCKS}`)
    }
    return n
  }
  if (key === 'stateSync') return parseStateSync(value, source)
  if (key === 'emptyBlocks' || key === 'p2pDiscovery') {
    if (typeof value === 'boolean') return value
    if (value === 'true' || value === 'false') return value === 'true'
    throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: ${key} must be true or false`)
  }
  if (key === 'bootstrap') {
    if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter(Boolean)
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value
    throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: bootstrap must be a list of multiaddrs`)
  }
  if (key === 'rpcCorsOrigins') {
    const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value
    if (!Array.isArray(list) || !list.every((o) => typeof o === 'string' && (o === '*' || /^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(o)))) {
      throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: rpcCorsOrigins must be a list of origins (scheme://host[:port]) or "*"`)
    }
    return list
  }
  if (key === 'logLevel' && !['error', 'warn', 'info', 'debug'].includes(value as string)) {
    throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: logLevel must be error, warn, info or debug`)
  }
  if (key === 'logFormat' && !['human', 'json'].includes(value as string)) {
    throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: logFormat must be human or json`)
  }
  if ((STRING_KEYS as readonly string[]).includes(key) && typeof value !== 'string') {
    throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: ${key} must be a string`)
  }
  return value
}

const SETTABLE = [...NUMBER_KEYS, ...STRING_KEYS, 'emptyBlocks', 'p2pDiscovery', 'bootstrap', 'rpcCorsOrigins', 'stateSync'] as const

function merge(cfg: NodeConfig, raw: Raw, source: string): void {
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue
    if (key === 'mempool' && typeof value === 'object' && value !== null) {
      for (const [mk, mv] of Object.entries(value)) {
        if (!(mk in cfg.mempool) || typeof mv !== 'number') throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: unknown or invalid mempool.${mk}`)
        ;(cfg.mempool as unknown as Raw)[mk] = mv
      }
      continue
    }
    if (!(SETTABLE as readonly string[]).includes(key)) throw new ConfigError('CONFIG_ERROR_INVALID', `${source}: unknown setting "${key}"`)
    ;(cfg as unknown as Raw)[key] = coerce(key, value, source)
  }
}

export const CONFIG_FILE = 'config.json'

/** Resolve the configuration of a home dir with env and flag overrides. */
export function loadConfig(home: string, flags: Raw = {}, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const cfg = defaultNodeConfig(home)
  const file = join(home, CONFIG_FILE)
  if (existsSync(file)) {
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'))
    } catch (e) {
      throw new ConfigError('CONFIG_ERROR_INVALID', `${file} is not valid JSON: ${(e as Error).message}`)
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_ERROR_INVALID', `${file} must hold a JSON object`)
    merge(cfg, raw as Raw, file)
  }
  const fromEnv: Raw = {}
  for (const key of SETTABLE) {
    const v = env[envName(key)]
    if (v !== undefined) fromEnv[key] = v
  }
  merge(cfg, fromEnv, 'environment')
  merge(cfg, flags, 'flags')
  return cfg
}

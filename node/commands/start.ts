import { PARENT_PID_ENV } from '../devnet.js'
import { command, usage, homeOf, HOME, HELP } from './command.js'

/** `attrchain start`: run a node (node/node.ts) with the settings of node/config.ts until SIGINT or SIGTERM. */

/** `--state-sync-height H --state-sync-hash 0x…` → the stateSync setting `H:0x…` (both or neither). */
function stateSyncFlag(height: string | undefined, hash: string | undefined): string | undefined {
  if (height === undefined && hash === undefined) return undefined
  if (height === undefined || hash === undefined) usage('--state-sync-height and --state-sync-hash go together')
  return `${height}:${hash}`
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

export const startCommand = command({
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
    'block-time': { type: 'string', arg: 'MS', desc: 'target interval between heights (default 1000)' },
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
    // Listening before the node starts: a signal during startup stops it as soon as it is up.
    const stop = Promise.race([ctx.io.stopSignal(), ...[parentGone(ctx.io.env)].filter((p): p is Promise<string> => p !== null)])
    // the node's modules are loaded only by the command that runs one: most of a CLI process's start-up otherwise
    const [{ loadConfig }, { AttrchainNode }] = await Promise.all([import('../config.js'), import('../node.js')])
    const config = loadConfig(homeOf(ctx), {
      rpcHost: v['rpc-host'], rpcPort: v['rpc-port'], rpcCorsOrigins: v['rpc-cors-origins'], p2pHost: v['p2p-host'], p2pPort: v['p2p-port'], blockTimeMs: v['block-time'],
      bootstrap: v.bootstrap, emptyBlocks: v['no-empty-blocks'] ? false : undefined, logLevel: v['log-level'], logFormat: v['log-format'],
      pruneKeepBlocks: v['prune-keep-blocks'], snapshotInterval: v['snapshot-interval'], snapshotKeep: v['snapshot-keep'],
      stateSync: stateSyncFlag(v['state-sync-height'], v['state-sync-hash']),
    }, ctx.io.env)
    const node = await AttrchainNode.start(config)
    const why = await stop
    node.log.info('stopping', { why })
    await node.stop()
    return 0
  },
})

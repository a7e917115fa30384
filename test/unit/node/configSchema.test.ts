import t from 'tap'
import type { Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultNodeConfig, loadConfig } from '../../../node/config.js'
import { defaultMempoolOptions } from '../../../node/mempool.js'

/** The settings schema (node/config.ts, issue 14): mempool options are part of it, layers merge key by key, bad values name their source. */
function home(t: Test, config?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-configschema-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  if (config !== undefined) writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

t.test('mempool options: defaults are defaultMempoolOptions, config.json sets single keys, bad values refused', async (t) => {
  t.same(defaultNodeConfig('h').mempool, defaultMempoolOptions)
  t.not(defaultNodeConfig('h').mempool, defaultMempoolOptions, 'a copy: a node never changes the shared defaults')
  const c = loadConfig(home(t, { mempool: { maxTxs: 5 } }), { mempool: { maxBytes: 7 } }, {})
  t.same(c.mempool, { ...defaultMempoolOptions, maxTxs: 5, maxBytes: 7 }, 'file then flags, key by key')
  t.equal(loadConfig(home(t, { mempool: { maxBacklogBlocks: 0.25 } }), {}, {}).mempool.maxBacklogBlocks, 0.25, 'maxBacklogBlocks takes a fraction of a proposal')
  t.equal(loadConfig(home(t, { mempool: { maxBacklogBlocks: '1.5' } }), {}, {}).mempool.maxBacklogBlocks, 1.5, 'as decimal text too')
  for (const [what, mempool, message] of [
    ['fractional', { maxTxs: 1.5 }, /mempool\.maxTxs must be a non-negative integer/],
    ['negative', { maxQueuedTxs: -1 }, /mempool\.maxQueuedTxs must be a non-negative integer/],
    ['negative backlog', { maxBacklogBlocks: -0.5 }, /mempool\.maxBacklogBlocks must be a non-negative number/],
    ['backlog as hex text', { maxBacklogBlocks: '0x1' }, /mempool\.maxBacklogBlocks must be a non-negative number/],
    ['backlog not finite', { maxBacklogBlocks: '9'.repeat(400) }, /mempool\.maxBacklogBlocks must be a non-negative number/],
    ['unknown key', { maxTx: 5 }, /unknown setting "mempool\.maxTx"/],
    ['not an object', 5, /mempool must be an object/],
  ] as const) {
    t.throws(() => loadConfig(home(t, { mempool }), {}, {}), { code: 'CONFIG_ERROR_INVALID', message }, what)
  }
})

t.test('layers: unknown settings refused naming the source, undefined flags skipped, text coerced', async (t) => {
  const h = home(t, { rpcPort: 1, home: '/elsewhere' })
  t.throws(() => loadConfig(h, {}, {}), { code: 'CONFIG_ERROR_INVALID', message: /config\.json: unknown setting "home"/ })
  t.throws(() => loadConfig(home(t), { rpcPrt: 1 }, {}), { code: 'CONFIG_ERROR_INVALID', message: /flags: unknown setting "rpcPrt"/ })
  t.throws(() => loadConfig(home(t), {}, { ATTRCHAIN_BLOCK_TIME_MS: 'soon' }), { code: 'CONFIG_ERROR_INVALID', message: /environment: blockTimeMs must be a non-negative integer/ })
  const c = loadConfig(home(t, { rpcPort: 1, emptyBlocks: false }), { rpcPort: undefined, logLevel: 'debug' }, { ATTRCHAIN_EMPTY_BLOCKS: 'true', ATTRCHAIN_VERIFY_THREADS: '0' })
  t.equal(c.rpcPort, 1, 'an undefined flag leaves the file value')
  t.equal(c.emptyBlocks, true, 'environment over file')
  t.equal(c.verifyThreads, 0)
  t.equal(c.logLevel, 'debug')
  t.notOk('verifyThreads' in defaultNodeConfig('h'), 'verifyThreads absent by default (the node picks cores - 1)')
  t.notOk('stateSync' in defaultNodeConfig('h'))
})

t.test('text numbers are decimal digits only; ports in range; limits that would refuse everything at least 1 (new-user trial)', async (t) => {
  for (const [what, env, message] of [
    ['blank port', { ATTRCHAIN_RPC_PORT: '' }, /environment: rpcPort must be a non-negative integer/],
    ['space', { ATTRCHAIN_RPC_MAX_BATCH: ' ' }, /environment: rpcMaxBatch must be a non-negative integer/],
    ['hex', { ATTRCHAIN_RPC_PORT: '0x4845' }, /environment: rpcPort must be a non-negative integer/],
    ['exponent', { ATTRCHAIN_PRUNE_KEEP_BLOCKS: '1e3' }, /environment: pruneKeepBlocks must be a non-negative integer/],
    ['port over 65535', { ATTRCHAIN_RPC_PORT: '99999' }, /environment: rpcPort must be a port number, 0\.\.65535/],
    ['trust height not decimal', { ATTRCHAIN_STATE_SYNC: `0x10:0x${'ab'.repeat(32)}` }, /environment: stateSync must be/],
  ] as const) {
    t.throws(() => loadConfig(home(t), {}, env), { code: 'CONFIG_ERROR_INVALID', message }, what)
  }
  t.throws(() => loadConfig(home(t), { p2pPort: 70000 }, {}), { code: 'CONFIG_ERROR_INVALID', message: /flags: p2pPort must be a port number/ })
  t.throws(() => loadConfig(home(t, { rpcPort: '' }), {}, {}), { code: 'CONFIG_ERROR_INVALID', message: /config\.json: rpcPort must be a non-negative integer/ })
  for (const key of ['maxTxs', 'maxBytes'] as const) {
    t.throws(() => loadConfig(home(t, { mempool: { [key]: 0 } }), {}, {}), { code: 'CONFIG_ERROR_INVALID', message: new RegExp(`mempool\\.${key} must be at least 1`) }, `mempool.${key} 0`)
    t.throws(() => loadConfig(home(t, { mempool: { [key]: '' } }), {}, {}), { code: 'CONFIG_ERROR_INVALID' }, `mempool.${key} blank`)
  }
  t.equal(loadConfig(home(t), {}, { ATTRCHAIN_RPC_PORT: '0' }).rpcPort, 0, '0 (any free port) is a port')
  t.equal(loadConfig(home(t), {}, { ATTRCHAIN_RPC_PORT: '65535' }).rpcPort, 65535)
})

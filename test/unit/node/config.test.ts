import t from 'tap'
import type { Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../node/config.js'

function home(t: Test, config?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  if (config !== undefined) writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

t.test('RPC limits and CORS origins: defaults, file, env and flags', async (t) => {
  const d = loadConfig(home(t), {}, {})
  t.same(d.rpcCorsOrigins, [], 'no origin by default')
  t.equal(d.rpcMaxResponseBytes, 32 * 1024 * 1024)
  t.equal(d.rpcMaxConcurrentRequests, 64)
  t.equal(d.rpcMaxConcurrentRequestsPerConnection, 8)
  t.equal(d.rpcBlockCacheBytes, 64 * 1024 * 1024)

  const fromFile = loadConfig(home(t, { rpcCorsOrigins: ['http://localhost:3000'], rpcMaxResponseBytes: 1000 }), {}, {})
  t.same(fromFile.rpcCorsOrigins, ['http://localhost:3000'])
  t.equal(fromFile.rpcMaxResponseBytes, 1000)
  const fromEnv = loadConfig(home(t), {}, { ATTRCHAIN_RPC_CORS_ORIGINS: 'https://a.example, http://b.example:8080', ATTRCHAIN_RPC_MAX_CONCURRENT_REQUESTS: '5' })
  t.same(fromEnv.rpcCorsOrigins, ['https://a.example', 'http://b.example:8080'])
  t.equal(fromEnv.rpcMaxConcurrentRequests, 5)
  t.same(loadConfig(home(t), { rpcCorsOrigins: '*' }, {}).rpcCorsOrigins, ['*'], 'flag')

  for (const bad of ['example.com', 'http://a.example/path', ['http://ok.example', 3]]) {
    t.throws(() => loadConfig(home(t), { rpcCorsOrigins: bad }, {}), { code: 'CONFIG_ERROR_INVALID' }, `refused: ${JSON.stringify(bad)}`)
  }
  t.throws(() => loadConfig(home(t), { rpcMaxConcurrentRequests: 0 }, {}), { code: 'CONFIG_ERROR_INVALID', message: /at least 1/ })
})

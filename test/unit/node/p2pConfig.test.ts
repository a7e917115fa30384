import t from 'tap'
import type { Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../node/config.js'

/** Issue 17: discovery settings (p2pDiscovery, p2pTargetPeers, p2pMaxPeers) through every config layer; bad values refused. */

function home(t: Test, config?: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-p2pconfig-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  if (config !== undefined) writeFileSync(join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

t.test('discovery settings: defaults, file, env', async (t) => {
  const d = loadConfig(home(t), {}, {})
  t.equal(d.p2pDiscovery, true)
  t.equal(d.p2pTargetPeers, 10)
  t.equal(d.p2pMaxPeers, 50)
  const f = loadConfig(home(t, { p2pDiscovery: false, p2pTargetPeers: 4, p2pMaxPeers: 8 }), {}, {})
  t.same([f.p2pDiscovery, f.p2pTargetPeers, f.p2pMaxPeers], [false, 4, 8])
  const e = loadConfig(home(t), {}, { ATTRCHAIN_P2P_DISCOVERY: 'false', ATTRCHAIN_P2P_TARGET_PEERS: '3', ATTRCHAIN_P2P_MAX_PEERS: '6' })
  t.same([e.p2pDiscovery, e.p2pTargetPeers, e.p2pMaxPeers], [false, 3, 6])
})

t.test('bad discovery settings are refused with the setting named', async (t) => {
  t.throws(() => loadConfig(home(t, { p2pDiscovery: 'maybe' }), {}, {}), { code: 'CONFIG_ERROR_INVALID', message: /p2pDiscovery must be true or false/ })
  t.throws(() => loadConfig(home(t, { p2pMaxPeers: 0 }), {}, {}), { code: 'CONFIG_ERROR_INVALID', message: /p2pMaxPeers must be at least 1/ })
  t.throws(() => loadConfig(home(t), {}, { ATTRCHAIN_P2P_TARGET_PEERS: '-1' }), { code: 'CONFIG_ERROR_INVALID', message: /p2pTargetPeers/ })
})

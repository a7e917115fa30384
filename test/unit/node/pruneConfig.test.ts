import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../node/config.js'

const HASH = '0x' + 'Ab'.repeat(32)

t.test('pruning, snapshot and state sync settings: defaults, file, environment, flags; bad values refused', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'attrchain-cfg-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const d = loadConfig(home, {}, {})
  t.same([d.pruneKeepBlocks, d.snapshotInterval, d.snapshotKeep, d.stateSync], [0, 0, 2, undefined], 'archive, no snapshots, no state sync')
  writeFileSync(join(home, 'config.json'), JSON.stringify({ pruneKeepBlocks: 1000, snapshotInterval: 500, stateSync: { trustHeight: 10, trustHash: HASH } }))
  const f = loadConfig(home, {}, {})
  t.same([f.pruneKeepBlocks, f.snapshotInterval, f.stateSync], [1000, 500, { trustHeight: 10, trustHash: HASH.toLowerCase() }])
  t.same(loadConfig(home, {}, { ATTRCHAIN_STATE_SYNC: `42:${HASH}` }).stateSync, { trustHeight: 42, trustHash: HASH.toLowerCase() }, 'environment: HEIGHT:0xHASH')
  t.same(loadConfig(home, { stateSync: `7:${HASH}`, pruneKeepBlocks: '0' }, {}).stateSync?.trustHeight, 7, 'flags win')
  for (const [what, flags] of [
    ['pruneKeepBlocks below 100', { pruneKeepBlocks: '99' }],
    ['snapshotKeep 0', { snapshotKeep: '0' }],
    ['stateSync without a hash', { stateSync: '10' }],
    ['stateSync height 0', { stateSync: `0:${HASH}` }],
    ['stateSync short hash', { stateSync: '10:0xabcd' }],
  ] as const) {
    t.throws(() => loadConfig(home, flags, {}), { code: 'CONFIG_ERROR_INVALID' }, what)
  }
  writeFileSync(join(home, 'config.json'), JSON.stringify({ stateSync: { trustHeight: 10, trustHash: HASH, extra: 1 } }))
  t.throws(() => loadConfig(home, {}, {}), { code: 'CONFIG_ERROR_INVALID' }, 'unknown field in stateSync')
})

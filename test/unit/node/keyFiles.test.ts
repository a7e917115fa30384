import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyPair } from '../../../core/keys.js'
import { CheckpointKey } from '../../../core/checkpointKey.js'
import { keyToFile, readKeyFile, writeKeyFile } from '../../../node/home.js'
import { readCheckpointKeyFile, writeCheckpointKeyFile } from '../../../node/checkpointKeyFile.js'

/**
 * Validator and checkpoint key files read through one path (node/home.ts
 * readKeyJson): a damaged file is HOME_ERROR_BAD_KEY naming the file, never a
 * TypeError or a codec error from deep inside.
 */
t.test('key files: round trip, and every damaged file is HOME_ERROR_BAD_KEY', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-keyfiles-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const key = KeyPair.generate()
  const ck = CheckpointKey.derivedFrom(key.seed)
  writeKeyFile(join(dir, 'v.json'), key)
  writeCheckpointKeyFile(join(dir, 'c.json'), ck)
  t.equal(readKeyFile(join(dir, 'v.json')).address, key.address)
  t.equal(readCheckpointKeyFile(join(dir, 'c.json')).address, ck.address)
  t.throws(() => readKeyFile(join(dir, 'absent.json')), { code: 'HOME_ERROR_NO_KEY' })
  t.throws(() => readCheckpointKeyFile(join(dir, 'absent.json')), { code: 'HOME_ERROR_NO_KEY' })

  const good = keyToFile(key)
  for (const [what, text] of [
    ['not JSON', '{'],
    ['null', 'null'],
    ['a number', '5'],
    ['no privateKey', JSON.stringify({ address: good.address })],
    ['short privateKey', JSON.stringify({ ...good, privateKey: '0xabcd' })],
    ['another address', JSON.stringify({ ...good, address: KeyPair.generate().address })],
    ['address not a string', JSON.stringify({ ...good, address: 7 })],
  ] as const) {
    writeFileSync(join(dir, 'bad.json'), text)
    for (const [kind, read] of [['validator', readKeyFile], ['checkpoint', readCheckpointKeyFile]] as const) {
      t.throws(() => read(join(dir, 'bad.json')), { code: 'HOME_ERROR_BAD_KEY', message: /bad\.json/ }, `${kind} key file: ${what}`)
    }
  }
})

import t from 'tap'
import { CHILD_ENV } from '../../helpers/childEnv.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { genesisHash } from '../../../genesis/genesis.js'
import { ChainDb } from '../../../node/db/index.js'
import { testGenesis } from '../../e2e/fixtures/dbWriter.js'

/**
 * LevelDB's LOCK file is what keeps two nodes off one data dir; within one
 * process LevelDB answers from its own lock table, so the case that matters
 * (two node processes) is tested across processes.
 */
const fixture = fileURLToPath(new URL('../../e2e/fixtures/dbWriter.ts', import.meta.url))
const genesis = testGenesis()
const ident = { genesisHash: genesisHash(genesis), chainId: genesis.chainId }

function child(mode: 'hold' | 'open', dir: string): { proc: ChildProcess; firstLine: Promise<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture, mode, dir], { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'inherit'] })
  const firstLine = new Promise<string>((resolve, reject) => {
    let buf = ''
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) resolve(buf.slice(0, nl))
    })
    proc.on('exit', (code) => reject(new Error(`child exited (${code}) before printing a line`)))
  })
  return { proc, firstLine }
}

t.test('a data dir open in another process is refused with DB_ERROR_LOCKED', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'attrchain-lock-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  const dir = join(root, 'data')

  await t.test('this process holds it, another tries', async (t) => {
    const db = await ChainDb.open({ dir, ...ident })
    const { firstLine } = child('open', dir)
    t.equal(await firstLine, 'error DB_ERROR_LOCKED')
    await db.close()
  })

  await t.test('another process holds it, this one tries', async (t) => {
    const { proc, firstLine } = child('hold', dir)
    t.teardown(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL')
    })
    t.match(await firstLine, /^ready \d+$/)
    const err = await ChainDb.open({ dir, ...ident }).then(() => null, (e: Error) => e)
    t.match(err, { code: 'DB_ERROR_LOCKED' })
    t.match(err?.message, `data dir ${dir} is in use by another attrchain process`)
    const exited = once(proc, 'exit')
    proc.kill('SIGKILL')
    await exited
    const db = await ChainDb.open({ dir, ...ident })
    t.equal(db.head()?.height, 0, 'free again once the holder is gone')
    await db.close()
  })
})

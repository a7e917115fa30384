import t from 'tap'
import { CHILD_ENV } from '../helpers/childEnv.js'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../helpers/ports.js'

// Issue 12 item 8: a terminal's Ctrl-C sends SIGINT to the whole process
// group. The devnet's nodes got it too, began stopping, and the parent's
// SIGTERM then killed them mid-shutdown (a signal's default action once the
// node's one-shot handler had run). The nodes now run in their own process
// group and stop on the parent's SIGTERM alone.

const BIN = fileURLToPath(new URL('../../bin/attrchain.js', import.meta.url))
const DEADLINE_MS = 90_000


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('Ctrl-C (SIGINT to the process group) stops every devnet node cleanly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-sigint-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const home = join(dir, 'devnet')
  const args = ['devnet', '--json', '--validators', '2', '--home', home, '--rpc-port', String(await freePort()), '--p2p-port', String(await freePort())]
  // detached: the devnet leads a process group of its own, as a shell job does
  const proc = spawn(process.execPath, [BIN, ...args], { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => { stderr += d })
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })))
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${DEADLINE_MS} ms; stderr: ${stderr}`)), DEADLINE_MS)
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      resolve(stdout.slice(0, nl))
    })
    void exit.then(() => reject(new Error(`devnet exited before printing; stderr: ${stderr}`)))
  })
  const info = JSON.parse(line) as { nodes: { pid: number }[] }
  t.teardown(() => {
    for (const n of info.nodes) if (alive(n.pid)) process.kill(n.pid, 'SIGKILL')
    if (alive(proc.pid!)) process.kill(proc.pid!, 'SIGKILL')
  })

  process.kill(-proc.pid!, 'SIGINT')
  const { code, signal } = await exit
  t.same({ code, signal }, { code: 0, signal: null }, `the devnet exits 0 (stderr: ${stderr})`)
  for (const [i, n] of info.nodes.entries()) {
    t.notOk(alive(n.pid), `node${i} is gone`)
    const log = readFileSync(join(home, `node${i}`, 'node.log'), 'utf8')
    t.match(log, /node stopped/, `node${i} finished its shutdown (its log ends with "node stopped")`)
  }
})

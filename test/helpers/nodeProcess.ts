import { spawn, type ChildProcess } from 'node:child_process'
import { CHILD_ENV } from './childEnv.js'
import { mkdtempSync, rmSync, createWriteStream } from 'node:fs'
import { freePort } from './ports.js'
import { until } from './until.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildDevnetGenesis, devValidatorKey, type DevnetGenesisOptions } from '../../genesis/devnet.js'
import type { Genesis } from '../../genesis/genesis.js'
import { initHome } from '../../node/init.js'
import { AttrchainClient } from '../../rpc/index.js'
import { NODE_RUNTIME_FLAGS } from '../../node/runtime.js'

export const BIN = fileURLToPath(new URL('../../bin/attrchain.js', import.meta.url))
/** Children get the caller's environment without ATTRCHAIN_* settings, so only flags count. */
const ENV = CHILD_ENV

export { freePort }

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A one-validator devnet home (validator = devValidatorKey(0), dev accounts funded). */
export function devnetHome(home: string, opts: Partial<DevnetGenesisOptions> = {}): Genesis {
  const genesis = buildDevnetGenesis({ validators: 1, accounts: 10, ...opts })
  initHome({ home, genesis, validatorKey: devValidatorKey(0) })
  return genesis
}

export { until }

export interface NodeProcess {
  child: ChildProcess
  url: string
  client: AttrchainClient
  /** SIGKILL, no cleanup: the crash tests' kill -9 */
  kill9(): Promise<void>
  /** SIGTERM and wait for a clean exit; returns the exit code */
  stop(): Promise<number | null>
}

export function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode)
  return new Promise((r) => p.once('exit', (code) => r(code)))
}

/** `attrchain start --home HOME` as a real process, resolved once it answers chain_status. */
export async function startNode(home: string, flags: string[] = []): Promise<NodeProcess> {
  const port = await freePort()
  const p2p = flags.includes('--p2p-port') ? [] : ['--p2p-port', String(await freePort())]
  const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', home, '--rpc-port', String(port), '--log-level', 'warn', ...p2p, ...flags], {
    env: ENV, stdio: ['ignore', 'ignore', 'pipe'],
  })
  const log = createWriteStream(join(home, 'node.log'), { flags: 'a' })
  child.stderr!.pipe(log)
  const url = `http://127.0.0.1:${port}`
  const client = new AttrchainClient(url)
  const node: NodeProcess = {
    child, url, client,
    kill9: async () => {
      child.kill('SIGKILL')
      await exited(child)
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      return exited(child)
    },
  }
  try {
    await until('the node to answer chain_status', async () => {
      if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}; see ${join(home, 'node.log')}`)
      return client.status()
    })
  } catch (e) {
    await node.kill9()
    throw e
  }
  return node
}

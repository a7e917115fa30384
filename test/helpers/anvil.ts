import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { freePort, until, exited } from './nodeProcess.js'
import { CHILD_ENV } from './childEnv.js'

/**
 * An anvil (Foundry's EVM dev node) on 127.0.0.1 for L1 tests: the binary the
 * `@foundry-rs/anvil-<os>-<arch>` npm package ships, found through
 * require.resolve, on a free port; `stop()` kills it (SIGKILL after 5 s).
 */
export interface Anvil {
  url: string
  stop(): Promise<void>
}

export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  return join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), 'bin', 'anvil')
}

export async function startAnvil(): Promise<Anvil> {
  const port = await freePort()
  const child: ChildProcess = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', String(port), '--silent'], { env: CHILD_ENV, stdio: 'ignore' })
  const gone = exited(child)
  const url = `http://127.0.0.1:${port}`
  const client = createPublicClient({ transport: http(url) })
  try {
    await until('anvil answers', async () => {
      if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}`)
      return client.getChainId().then(() => true, () => false)
    }, 30_000, 100)
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await gone
      clearTimeout(t)
    },
  }
}

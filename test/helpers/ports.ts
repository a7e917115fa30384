import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * Ports for the servers tests and benches start as child processes (a node's
 * RPC and p2p ports, anvil). The port must be chosen before the child binds
 * it, so it can be taken in between; asking the OS for one (`listen(0)`)
 * hands out a port from the *ephemeral* range, the very range the OS also
 * gives every outgoing connection its local port from, and with libp2p
 * dialling and proxies connecting on a busy box, a node once failed to start
 * with `EADDRINUSE` on the RPC port it had been given (test/e2e/partition).
 * So ports are drawn at random below the ephemeral range (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range), where outgoing connections never
 * land, checked free by binding, and never handed out twice by this process;
 * where that range is unknown or leaves no room, the OS picks as before.
 */
const handedOut = new Set<number>()
const LOWEST = 10_000

function belowEphemeral(): [number, number] | null {
  try {
    const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    return lo !== undefined && lo - LOWEST >= 2000 ? [LOWEST, lo] : null
  } catch {
    return null
  }
}

const RANGE = belowEphemeral()

function listenOn(port: number): Promise<number | null> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(null))
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number }
      server.close(() => resolve(bound))
    })
  })
}

/** A free TCP port on 127.0.0.1 for a server about to be started (see above). */
export async function freePort(): Promise<number> {
  if (RANGE !== null) {
    const [lo, hi] = RANGE
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = lo + Math.floor(Math.random() * (hi - lo))
      if (handedOut.has(port)) continue
      if ((await listenOn(port)) !== null) {
        handedOut.add(port)
        return port
      }
    }
  }
  const port = await listenOn(0)
  if (port === null) throw new Error('no free port')
  handedOut.add(port)
  return port
}

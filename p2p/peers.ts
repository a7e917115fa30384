import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { P2PError } from './errors.js'

/** What the host knows of a connected peer (the status handshake, DESIGN §6). */
export interface PeerState {
  /** pending until the first status exchange settles */
  state: 'pending' | 'ok'
  height: number
  lowestHeight: number
  handshake: Promise<boolean>
}

/** A bootstrap address and its dial backoff. */
export interface BootstrapPeer {
  addr: Multiaddr
  peerId: string
  nextDialAt: number
  backoffMs: number
  dialing: boolean
}

export function parsePeerId(id: string): PeerId {
  try {
    return peerIdFromString(id)
  } catch (e) {
    throw new P2PError('P2P_ERROR_BAD_PEER', `not a peer id: ${id}`, { reason: (e as Error).message })
  }
}

export function parseBootstrap(addr: string): BootstrapPeer {
  let ma: Multiaddr
  try {
    ma = multiaddr(addr)
  } catch (e) {
    throw new P2PError('P2P_ERROR_BAD_BOOTSTRAP', `bootstrap address ${addr} is not a multiaddr: ${(e as Error).message}`, { addr })
  }
  const peerId = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (peerId === undefined) throw new P2PError('P2P_ERROR_BAD_BOOTSTRAP', `bootstrap address ${addr} must end in /p2p/<peerId>`, { addr })
  parsePeerId(peerId)
  return { addr: ma, peerId, nextDialAt: 0, backoffMs: 0, dialing: false }
}

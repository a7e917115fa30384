import '../../../p2p/polyfill.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '../../../core/hash.js'
import { topicName, statusProtocol } from '../../../p2p/topics.js'
import { encodeStatus, MAX_STATUS_BYTES } from '../../../p2p/status.js'
import { readFrame, writeFrame } from '../../../p2p/stream.js'
import { GOSSIP_KINDS, type GossipKind } from '../../../p2p/index.js'

/**
 * A bare libp2p peer that passes the status handshake honestly and then
 * publishes whatever bytes it is given: what a buggy or hostile node looks
 * like from the wire, without our publish-side checks.
 */
export class Attacker {
  private node: Libp2p<{ identify: Identify; pubsub: GossipSub }> | null = null

  constructor(private readonly chainId: string, private readonly genesisHash: string) {}

  async start(target: string): Promise<void> {
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', msgIdFn: (m) => sha256(m.data), ignoreDuplicatePublishError: true }),
      },
    })
    this.node = node
    await node.handle(statusProtocol(this.chainId), async (stream) => {
      const signal = AbortSignal.timeout(2000)
      await readFrame(stream, MAX_STATUS_BYTES, signal)
      await writeFrame(stream, encodeStatus({ chainId: this.chainId, genesisHash: this.genesisHash, height: 1 }), signal)
    })
    for (const kind of GOSSIP_KINDS) node.services.pubsub.subscribe(topicName(this.chainId, kind))
    await node.dial(multiaddr(target))
  }

  /** Fire and forget; "no peers subscribed yet" is expected until subscriptions are exchanged. */
  publish(kind: GossipKind, data: Uint8Array): void {
    this.node?.services.pubsub.publish(topicName(this.chainId, kind), data).catch(() => undefined)
  }

  async stop(): Promise<void> {
    await this.node?.stop()
    this.node = null
  }
}

import t from 'tap'
import { join } from 'node:path'
import { P2PNetwork } from '../../../p2p/index.js'
import { verifySignature } from '../../../core/keys.js'
import { signingDigestOfSigned, type SignedTx } from '../../../core/tx.js'
import { CHAIN_ID, GENESIS, MemoryLogger, Recorder, makeTx, tempDir, waitFor } from './fixtures.js'

/**
 * Tx gossip under backpressure, over real libp2p on 127.0.0.1: a receiver
 * that stays busy past txGossipMaxWaitMs ignores tx messages unread without
 * penalising the sender, and a re-broadcast of the very same tx (relayTxs)
 * gets through once it is not busy, although gossipsub had already seen the
 * first message; a receiver busy for less than that delivers the message
 * once it recovers, with no relay.
 */
class BusyRecorder extends Recorder {
  busy = true
  readonly ignoredFor: string[] = []
  txGossipBusy(): string | null {
    return this.busy ? 'event_loop' : null
  }

  txGossipIgnored(reason: string): void {
    this.ignoredFor.push(reason)
  }
}

const tmp = tempDir()
const hosts: P2PNetwork[] = []
t.teardown(async () => {
  await Promise.all(hosts.map((h) => h.stop()))
  tmp.cleanup()
})

function host(name: string, recorder: Recorder, bootstrap: string[] = [], txGossipMaxWaitMs = 300): P2PNetwork {
  const net = new P2PNetwork(
    {
      chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, `${name}.json`), listenPort: 0, bootstrap, statusIntervalMs: 200, requestTimeoutMs: 2000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400,
      txGossipMaxWaitMs,
    },
    { logger: new MemoryLogger(), handlers: recorder },
  )
  hosts.push(net)
  return net
}

/** A sender and a receiver recording with `rec`, the receiver bootstrapped to the sender, both started. */
async function pair(suffix: string, rec: Recorder): Promise<{ sender: P2PNetwork; receiver: P2PNetwork }> {
  const sender = host(`sender${suffix}`, new Recorder(1))
  await sender.start()
  const receiver = host(`receiver${suffix}`, rec, [sender.multiaddrs()[0]!])
  await receiver.start()
  return { sender, receiver }
}

t.test('a busy node ignores tx gossip unread; the relay gets the same tx through later', async (t) => {
  const sender = host('sender', new Recorder(1))
  await sender.start()
  const rec = new BusyRecorder(1)
  const busy = host('busy', rec, [sender.multiaddrs()[0]!])
  await busy.start()
  await waitFor('tx-topic subscriptions', () => sender.gossipPeers('txs').length === 1 && busy.peers().length === 1)
  const tx = makeTx(0)
  await waitFor('the busy node to ignore a tx message', () => busy.stats().txs.ignored > 0, { retry: () => sender.relayTxs([tx.bytes]), retryMs: 200 })
  t.equal(rec.txs.length, 0, 'nothing delivered while busy')
  t.equal(rec.ignoredFor[0], 'event_loop', 'the node is told why it ignored it')
  t.equal(busy.stats().txs.rejected, 0, 'not counted as invalid')
  t.equal(busy.peers().length, 1, 'the sender stays connected')
  rec.busy = false
  await waitFor('the re-broadcast tx to arrive', () => rec.txs.length > 0, { retry: () => sender.relayTxs([tx.bytes]), retryMs: 200 })
  t.equal(rec.txs[0]!.tx.hash, tx.hash, 'the same tx, delivered decoded')
})

t.test('a node busy for less than txGossipMaxWaitMs delivers the tx message once it recovers, without a relay (no gap for the sender\'s later nonces)', async (t) => {
  const sender = host('sender4', new Recorder(1))
  await sender.start()
  const rec = new BusyRecorder(1)
  const receiver = host('stalled', rec, [sender.multiaddrs()[0]!], 60_000)
  await receiver.start()
  await waitFor('tx-topic subscriptions', () => sender.gossipPeers('txs').length === 1 && receiver.peers().length === 1)
  const tx = makeTx(30)
  // published until a message is on its way to the busy node (the mesh may still be forming): it then waits there
  await waitFor('a message sent to the busy node', () => sender.stats().txs.published > 0, { retry: () => sender.relayTxs([tx.bytes]), retryMs: 200 })
  await new Promise((r) => setTimeout(r, 500))
  t.equal(rec.txs.length, 0, 'nothing delivered while busy')
  rec.busy = false
  await waitFor('the waiting message delivered', () => rec.txs.some((x) => x.tx.hash === tx.hash), { timeoutMs: 10_000 })
  t.equal(receiver.stats().txs.ignored, 0, 'nothing ignored')
  t.same(rec.ignoredFor, [], 'no ignore reported')
})

t.test('gossiped tx signatures are verified through verifyTxSignatures (off the main thread), not inline; a bad one rejects the batch', async (t) => {
  class VerifyingRecorder extends Recorder {
    calls = 0
    async verifyTxSignatures(txs: SignedTx[]): Promise<boolean[]> {
      this.calls++
      return txs.map((stx) => verifySignature(stx.pubKey, signingDigestOfSigned(stx.bytes), stx.signature))
    }
  }
  const rec = new VerifyingRecorder(1)
  const { sender, receiver } = await pair('2', rec)
  const good = makeTx(7)
  const forged = makeTx(8)
  const bad = new Uint8Array(forged.bytes)
  bad[bad.length - 1] ^= 1 // the signature's last byte: decodes, does not verify
  await waitFor('the good tx on the receiver', () => rec.txs.some((x) => x.tx.hash === good.hash), {
    timeoutMs: 10_000, retryMs: 500, retry: () => sender.publishTx(good.bytes),
  })
  t.ok(rec.calls > 0, 'signatures went through the handler')
  await waitFor('the forged tx rejected', () => receiver.stats().txs.rejected > 0, { timeoutMs: 10_000, retryMs: 500, retry: () => sender.publishTx(bad) })
  t.notOk(rec.txs.some((x) => x.tx.tx.nonce === 8), 'the forged signature was never delivered')
})

t.test('tx messages are delivered in the order they arrived, even when a later one verifies first (a sender\'s nonces stay in order)', async (t) => {
  const first = makeTx(20)
  const second = makeTx(21)
  class SlowFirstRecorder extends Recorder {
    async verifyTxSignatures(txs: SignedTx[]): Promise<boolean[]> {
      // the first message's signatures take longer than the second's
      if (txs.some((stx) => stx.hash === first.hash)) await new Promise((r) => setTimeout(r, 300))
      return txs.map((stx) => verifySignature(stx.pubKey, signingDigestOfSigned(stx.bytes), stx.signature))
    }
  }
  const rec = new SlowFirstRecorder(1)
  const { sender, receiver } = await pair('3', rec)
  await waitFor('tx-topic subscriptions', () => sender.gossipPeers('txs').length === 1 && receiver.peers().length === 1)
  const delivered = (hash: string): number => rec.txs.findIndex((x) => x.tx.hash === hash)
  await waitFor('both txs delivered', () => delivered(first.hash) >= 0 && delivered(second.hash) >= 0, {
    timeoutMs: 10_000, retryMs: 1000, retry: () => { sender.relayTxs([first.bytes]); sender.relayTxs([second.bytes]) },
  })
  t.ok(delivered(first.hash) < delivered(second.hash), `first at ${delivered(first.hash)}, second at ${delivered(second.hash)}`)
})

t.test('a node with no peer on the tx topic queues nothing to gossip (a lone validator encodes no batches); once a peer subscribes, txs are queued and arrive', async (t) => {
  const lone = host('lone', new Recorder(1))
  await lone.start()
  t.equal(lone.publishTx(makeTx(40).bytes), false, 'alone: not queued (TxRelay publishes pending txs once a peer subscribes)')
  const rec = new Recorder(1)
  const peer = host('lonePeer', rec, [lone.multiaddrs()[0]!])
  await peer.start()
  await waitFor('tx-topic subscriptions', () => lone.gossipPeers('txs').length === 1 && peer.peers().length === 1)
  const tx = makeTx(41)
  let queued = false
  await waitFor('the tx on the peer', () => rec.txs.some((x) => x.tx.hash === tx.hash), {
    timeoutMs: 10_000, retryMs: 500, retry: () => { queued = lone.publishTx(tx.bytes) || queued },
  })
  t.ok(queued, 'with a subscriber: queued')
})

import t from 'tap'
import { devAccountKey } from '../../genesis/devnet.js'
import { TxSender, transfer } from '../../rpc/index.js'
import { until } from '../helpers/nodeProcess.js'
import { startNetwork, allReach } from '../helpers/network.js'

/**
 * Issue 12 item 2: a tx admitted by a node that has no peer is not lost.
 * A full node whose only bootstrap peer (the validator) is down admits a tx,
 * then the validator comes up: the full node re-broadcasts the tx to its
 * new peer and the validator commits it.
 */
t.test('a tx admitted while the node had no peer reaches the validator once it connects', async (t) => {
  const net = await startNetwork({ validators: 1 })
  t.teardown(() => net.close())
  const [v0] = net.nodes
  await allReach([v0], 2)
  await v0.stop()
  const full = await net.addNode('full', null, { bootstrap: [v0] })
  t.equal((await full.client.status()).peers, 0, 'the full node is alone')

  const sender = new TxSender(full.client, devAccountKey(5))
  await sender.init()
  const { hash } = await sender.send(transfer(devAccountKey(6).address, '1'))
  t.equal((await full.client.getTx(hash))?.status, 'pending', 'admitted, and held')

  await v0.start()
  const committed = await until('the validator to commit the tx', async () => {
    const tx = await v0.client.getTx(hash)
    return tx !== null && tx.status !== 'pending' ? tx : null
  }, 90_000, 250)
  t.equal(committed.status, 'ok', `committed at height ${committed.height}`)
  await until('the full node to see it committed', async () => (await full.client.getTx(hash))?.status === 'ok', 60_000, 250)
  t.pass('the full node learns of the commit by sync/gossip')
})

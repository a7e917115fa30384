import t from 'tap'
import { join } from 'node:path'
import { encodeVote } from '../../../consensus/index.js'
import { GOSSIP_KINDS, GOSSIP_REJECT_REASONS, P2PNetwork } from '../../../p2p/index.js'
import { Attacker } from './attacker.js'
import { CHAIN_ID, GENESIS, MemoryLogger, Recorder, flip, signVote, tempDir, validators, waitFor } from './fixtures.js'

/**
 * The host counts every reject by its code (stats().rejectedBy, the source
 * of attrchain_gossip_rejected_total{topic,reason}): a hostile peer's
 * messages land under the reason they earn, and the per-reason counts add
 * up to the rejected total of each topic.
 */
const tmp = tempDir()
let host: P2PNetwork | null = null
const attackers: Attacker[] = []
t.teardown(async () => {
  await Promise.all(attackers.map((a) => a.stop()))
  await host?.stop()
  tmp.cleanup()
})

t.test('rejects are counted by reason, and the reasons add up to the total', async (t) => {
  host = new P2PNetwork(
    { chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, 'host.json'), listenPort: 0, requestTimeoutMs: 5000 },
    { logger: new MemoryLogger(), handlers: new Recorder(10) },
  )
  await host.start()
  // one attacker per reason: two rejects graylist a peer (p2p/scoring.ts), after which its messages are not validated
  const [garbler, forger] = [new Attacker(CHAIN_ID, GENESIS), new Attacker(CHAIN_ID, GENESIS)]
  attackers.push(garbler, forger)
  await garbler.start(host.multiaddrs()[0]!)
  await forger.start(host.multiaddrs()[0]!)
  const v = signVote(validators[0]!, 3, 1, 'precommit')
  let n = 0
  // fresh bytes per attempt: gossipsub drops bytes it has seen
  const send = (): void => {
    n++
    garbler.publish('votes', new Uint8Array([0xc1, n & 0xff, (n >> 8) & 0xff]))
    forger.publish('votes', encodeVote({ ...signVote(validators[0]!, 3 + n, 1, 'precommit'), signature: flip(v.signature) }))
  }
  const counted = () => host!.stats().votes.rejectedBy
  await waitFor('a malformed and a badly signed vote rejected', () => counted().malformed > 0 && counted().bad_signature > 0, { timeoutMs: 45_000, retry: send, retryMs: 500 })
  t.ok(counted().malformed > 0, 'garbage counted as malformed')
  t.ok(counted().bad_signature > 0, 'a forged vote counted as bad_signature')
  const stats = host.stats()
  for (const kind of GOSSIP_KINDS) {
    const byReason = stats[kind].rejectedBy
    t.same(Object.keys(byReason).sort(), Object.keys(GOSSIP_REJECT_REASONS).sort(), `${kind}: one counter per declared reason`)
    t.equal(Object.values(byReason).reduce((a, b) => a + b, 0), stats[kind].rejected, `${kind}: reasons add up to the rejected total`)
  }
  stats.votes.rejectedBy.malformed += 1000
  t.not(host.stats().votes.rejectedBy.malformed, stats.votes.rejectedBy.malformed, 'stats() is a copy')
})

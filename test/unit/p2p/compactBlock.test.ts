import t from 'tap'
import { join } from 'node:path'
import { bytesEqual, fromHex, toHex } from '../../../core/bytes.js'
import { sha256 } from '../../../core/hash.js'
import { P2PNetwork } from '../../../p2p/index.js'
import { assembleBlock, blockParts, decodeCompact, decodePartsRequest, decodeTxParts, encodePartsRequest } from '../../../p2p/compactBlock.js'
import { blockHash, encodeBlock, txRoot, ZERO_HASH } from '../../../state/index.js'
import { CHAIN_ID, GENESIS, MemoryLogger, Recorder, signProposal, tempDir, validators, waitFor } from './fixtures.js'

/** A block of `n` distinct opaque txs of `size` bytes each (gossip checks the header binds the body, not what txs mean). */
function blockOf(height: number, n: number, size: number): { bytes: Uint8Array; hash: Uint8Array; txs: Uint8Array[] } {
  const txs = Array.from({ length: n }, (_, i) => {
    const tx = new Uint8Array(size).fill(i & 0xff)
    tx[0] = i >> 8
    tx[1] = height
    return tx
  })
  const header = {
    chainId: CHAIN_ID, height, timeMs: 1_700_000_000_000 + height, prevHash: ZERO_HASH, txRoot: txRoot(txs),
    stateRoot: ZERO_HASH, validatorsHash: ZERO_HASH, proposer: validators[0]!.address, lastCommitHash: ZERO_HASH,
  }
  return { bytes: encodeBlock({ header, txs, lastCommit: null, evidence: [] }), hash: fromHex(blockHash(header)), txs }
}

t.test('parts of a block re-assemble to its exact bytes; bad parts are refused', async (t) => {
  const b = blockOf(3, 50, 1000)
  const parts = blockParts(b.bytes)
  const compact = decodeCompact(parts.compact, 1 << 20, 1000)
  t.equal(compact.txHashes.length, 50)
  t.ok(compact.txHashes.every((h, i) => bytesEqual(h, sha256(b.txs[i]!))), 'hashes in block order')
  t.ok(bytesEqual(assembleBlock(compact, parts.txs), b.bytes), 'canonical: the same bytes')
  t.ok(parts.compact.length < b.bytes.length / 20, `the compact body is small (${parts.compact.length} of ${b.bytes.length} bytes)`)
  t.throws(() => decodeCompact(parts.compact, 1 << 20, 10), { code: 'P2P_ERROR_BAD_RESPONSE' }, 'more txs than a block may hold')
  t.throws(() => decodeTxParts(new Uint8Array([0x91, 0xc4, 0x01, 0x00]), 1 << 20, [sha256(b.txs[0]!)]), { code: 'P2P_ERROR_BAD_RESPONSE' }, 'a tx that does not hash to what was asked')
  t.same(decodePartsRequest(encodePartsRequest(b.hash, [1, 5]), 1024), { blockHash: b.hash, indexes: [1, 5] })
  t.throws(() => decodePartsRequest(new Uint8Array([0x92, 0x01, 0xc0]), 1024), { code: 'P2P_ERROR_BAD_REQUEST' })
})

t.test('a validator fills a large proposal in from its mempool and pulls only the txs it lacks', async (t) => {
  const tmp = tempDir()
  const hosts: P2PNetwork[] = []
  t.teardown(async () => {
    await Promise.all(hosts.map((h) => h.stop()))
    tmp.cleanup()
  })
  const block = blockOf(8, 400, 4000) // 1.6 MB: over the 1 MiB inline limit
  const held = new Map(block.txs.slice(40).map((tx) => [toHex(sha256(tx)), tx])) // 90 % already in the mempool
  class MempoolRecorder extends Recorder {
    knownTx(hash: string): Uint8Array | undefined {
      return held.get(hash)
    }
  }
  const make = (name: string, rec: Recorder, bootstrap: string[] = []): P2PNetwork => {
    const net = new P2PNetwork(
      { chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, `${name}.json`), listenPort: 0, bootstrap, statusIntervalMs: 200, requestTimeoutMs: 5000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400 },
      { logger: new MemoryLogger(), handlers: rec },
    )
    hosts.push(net)
    return net
  }
  const proposer = make('proposer', new Recorder(7))
  await proposer.start()
  const recV = new MempoolRecorder(7)
  const validator = make('validator', recV, [proposer.multiaddrs()[0]!])
  await validator.start()
  let round = 0
  // two rounds of the same block back to back (a re-proposal): the second arrives while the first one's missing txs are being pulled
  await waitFor('the proposal on the validator', () => recV.proposals.filter((p) => p.proposal.height === 8).length >= 2, {
    timeoutMs: 20_000, retryMs: 1000,
    retry: () => {
      for (let i = 0; i < 2; i++) proposer.broadcastProposal(signProposal(validators[0]!, 8, round++, block.hash), block.bytes)
    },
  })
  t.ok(bytesEqual(recV.proposals.find((p) => p.proposal.height === 8)!.blockBytes, block.bytes), 'the exact block bytes')
  t.equal(validator.compactStats.blocks, 1, 'assembled once from a compact body: the re-proposal waited for that pull')
  t.equal(validator.compactStats.txsKnown, 360, '360 txs from the mempool')
  t.equal(validator.compactStats.txsFetched, 40, 'only the 40 missing txs pulled')
  t.equal(validator.compactStats.fallbacks, 0)
  t.equal(validator.compactStats.bodiesFetched, 0, 'the compact body rode in the proposal message: no round trip for it')
})

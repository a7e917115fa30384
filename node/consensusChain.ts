import { decodeCommit, evidenceFromEncodable, type Commit } from '../consensus/index.js'
import type { ChainService, PreparedBlock } from './chain.js'
import type { DriverBlock, DriverChain } from './driver.js'
import type { Mempool } from './mempool.js'

/** A PreparedBlock as the consensus driver sees it. */
export interface ConsensusBlock extends DriverBlock {
  readonly prepared: PreparedBlock
}

/**
 * The node's chain for the consensus driver: proposals reap the mempool
 * within the block limits (params maxBlockTxs, maxBlockBytes,
 * maxBlockReceipts), validation executes the block against the head, and a
 * commit is ChainService's one atomic batch followed by a mempool recheck.
 */
export function consensusChain(chain: ChainService, mempool: Mempool): DriverChain<ConsensusBlock> {
  const wrap = (p: PreparedBlock): ConsensusBlock => ({
    hash: p.hash, bytes: p.bytes, txCount: p.txs.length, evidence: p.block.evidence.map((e) => evidenceFromEncodable(e)), prepared: p,
  })
  return {
    chainId: chain.config.chainId,
    genesisTimeMs: chain.genesisTimeMs,
    headHeight: () => chain.head.height,
    headCommit: async (): Promise<Commit | null> => {
      const bytes = await chain.db.getCommit(chain.head.height)
      return bytes ? decodeCommit(bytes) : null
    },
    validatorSet: (h) => chain.validatorSet(h),
    knownValidatorSet: (h) => chain.knownValidatorSet(h),
    pendingTxs: () => mempool.size,
    propose: ({ timeMs, proposer, lastCommit, evidence }) => {
      const { params } = chain.config
      const txs = mempool.reap(params.maxBlockTxs, params.maxBlockBytes, params.maxBlockReceipts)
      return wrap(chain.buildBlock({ timeMs, proposer, txs, lastCommit, evidence }))
    },
    validate: async (bytes, nowMs) => wrap(await chain.validateBlock(bytes, { nowMs })),
    commit: async (b, commit) => {
      await chain.commitBlock(b.prepared, commit)
      mempool.recheck()
    },
  }
}

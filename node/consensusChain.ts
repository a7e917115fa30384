import { decodeCommit, evidenceFromEncodable, type Commit } from '../consensus/index.js'
import type { ChainService, PreparedBlock } from './chain.js'
import type { DriverBlock, DriverChain } from './driver.js'
import type { Mempool } from './mempool.js'
import { ProposalBudget } from './proposalBudget.js'

/** A PreparedBlock as the consensus driver sees it. */
export interface ConsensusBlock extends DriverBlock {
  readonly prepared: PreparedBlock
}

/** What a proposal may hold: the params' caps, and with more than one validator the proposal budget of the round. */
export interface ProposalLimits {
  maxTxs: number
  maxBytes: number
  maxReceipts: number
  /** work units (node/proposalBudget.ts); Infinity for a lone validator */
  maxWork: number
}

/**
 * The limits of a proposal at `height` and `round` by this node: the
 * params' caps (maxBlockTxs, maxBlockBytes, maxBlockReceipts) and, with
 * more than one validator, the proposal budget of the round for a proposer
 * `lateMs` into it (ProposalBudget.limits). A lone validator waits for
 * nobody's validation: only the caps apply. Also the unit of the mempool's
 * backlog bound (node.ts), with lateMs 0.
 */
export function proposalLimits(chain: ChainService, budget: ProposalBudget, height: number, round: number, lateMs = 0): ProposalLimits {
  const { params } = chain.config
  const limit = chain.validatorSet(height).size > 1 ? budget.limits(round, lateMs) : { maxTxs: Infinity, maxReceipts: Infinity, work: Infinity }
  return { maxTxs: Math.min(params.maxBlockTxs, limit.maxTxs), maxBytes: params.maxBlockBytes, maxReceipts: Math.min(params.maxBlockReceipts, limit.maxReceipts), maxWork: limit.work }
}

/** A stage of a block's processing on this node: `build` (reap and execute a proposal), `validate` (check and execute a peer's), `commit` (write it and recheck the mempool). */
export type BlockStage = 'build' | 'validate' | 'commit'

/**
 * The node's chain for the consensus driver: proposals reap the mempool
 * within the block limits (params maxBlockTxs, maxBlockBytes,
 * maxBlockReceipts) and within the proposal budget of the round (what the
 * validators can execute in time, learnt from this node's own executions:
 * node/proposalBudget.ts), validation executes the block against the head,
 * and a commit is ChainService's one atomic batch followed by a mempool
 * recheck. `onStage` is told the wall time (ms) of each stage
 * (attrchain_block_processing_seconds).
 */
export function consensusChain(chain: ChainService, mempool: Mempool, budget: ProposalBudget, onStage?: (stage: BlockStage, ms: number) => void): DriverChain<ConsensusBlock> {
  const wrap = (p: PreparedBlock): ConsensusBlock => ({
    hash: p.hash, bytes: p.bytes, txCount: p.txs.length, evidence: p.block.evidence.map((e) => evidenceFromEncodable(e)), timeMs: p.block.header.timeMs, prepared: p,
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
    evidenceSettled: (e) => chain.queries.doubleSignPunished(e.voteA.validator, e.voteA.height),
    pendingTxs: () => mempool.size,
    propose: ({ height, round, timeMs, proposer, lastCommit, evidence, lateMs }) => {
      const limit = proposalLimits(chain, budget, height, round, lateMs)
      const txs = mempool.reap(limit.maxTxs, limit.maxBytes, limit.maxReceipts)
      const started = performance.now()
      const p = chain.buildBlock({ timeMs, proposer, txs, lastCommit, evidence })
      const ms = performance.now() - started
      budget.observe(p.txs.length, p.outcome.receipts.length, ms)
      onStage?.('build', ms)
      mempool.markProposed(p.txs.map((t) => t.hash))
      return wrap(p)
    },
    validate: async (bytes, nowMs) => {
      const started = performance.now()
      const p = await chain.validateBlock(bytes, { nowMs })
      const ms = performance.now() - started
      budget.observe(p.txs.length, p.outcome.receipts.length, ms)
      onStage?.('validate', ms)
      if (p.block.header.height === chain.head.height + 1) mempool.markProposed(p.txs.map((t) => t.hash))
      return wrap(p)
    },
    commit: async (b, commit) => {
      const started = performance.now()
      await chain.commitBlock(b.prepared, commit)
      budget.committed(b.prepared.txs.length, b.prepared.outcome.receipts.length)
      mempool.recheck()
      onStage?.('commit', performance.now() - started)
    },
  }
}

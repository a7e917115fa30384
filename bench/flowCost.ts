/**
 * Cost of the flow statistics (issue 16) per block: `npm run bench --
 * --scenario flow-cost`, or alone `node --import tsx bench/flowCost.ts
 * [--blocks N] [--receipts R] [--contributors C]`.
 *
 * In process, one state store per mode: blocks of R receipts (default
 * 2,000, about one 200 ms block of the single-node bench at 10,000
 * receipts/s) sent as 1, 100 or 1000 receipts per `submitReceipts` tx, each
 * receipt attributing two of C accepted contributions of C distinct
 * contributors (default 48), so every block changes the earnings of every
 * contributor. Each block is executed (executeBlock, writes applied) and
 * then its flow record built the way the node does it in the block's
 * commit (FlowAggregator.prepare: count the block, update the ranking of
 * contributor earnings for every changed ledger entry, compute the
 * concentration, encode the record). Reports, per mode, the median over
 * blocks of both times and their ratio: what the aggregates add to the
 * work of a block. Signing is outside the timed part.
 */
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { sha256 } from '../core/hash.js'
import { toHex } from '../core/bytes.js'
import { signTx, type SignedTx, type TxCall } from '../core/tx.js'
import type { KeyPair } from '../core/keys.js'
import { buildDevnetGenesis, devAccountKey } from '../genesis/devnet.js'
import { MemoryStateStore, StateQueries, executeBlock, genesisState, type BlockInput, type BlockOutcome, type ChainConfig } from '../state/index.js'
import { FlowAggregator, genesisRecord } from '../node/flowStats.js'

const GENESIS_MS = 1_767_225_600_000

class Chain {
  readonly store = new MemoryStateStore()
  readonly chain: ChainConfig
  readonly q: StateQueries
  readonly flow: FlowAggregator
  root: Uint8Array
  height = 0
  private readonly nonces = new Map<string, number>()

  constructor(accounts: number) {
    const g = buildDevnetGenesis({ validators: 1, accounts, params: { maxReceiptsPerTx: 1000 } })
    this.chain = { chainId: g.chainId, params: g.params }
    const out = genesisState(this.store, g)
    this.store.apply(out.writes)
    this.root = out.stateRoot
    this.q = new StateQueries(this.store, this.chain)
    this.flow = new FlowAggregator(genesisRecord(GENESIS_MS), FlowAggregator.rankingOf(this.store))
  }

  tx(key: KeyPair, call: TxCall): SignedTx {
    const nonce = this.nonces.get(key.address) ?? 0
    this.nonces.set(key.address, nonce + 1)
    return signTx({ chainId: this.chain.chainId, nonce, fee: this.chain.params.minTxFee, call }, key)
  }

  /** Execute a block, then build its flow record as the node's commit does; both timed. */
  block(txs: SignedTx[]): { execMs: number; flowMs: number; recordBytes: number; ok: boolean } {
    const height = this.height + 1
    const input: BlockInput = {
      height, timeMs: GENESIS_MS + height * 1000, proposer: this.q.validatorSet(height)![0].address, txs, evidence: [],
      lastCommitSigners: height === 1 ? null : (this.q.validatorSet(height - 1) ?? []).map((m) => m.address),
    }
    const t0 = performance.now()
    const out: BlockOutcome = executeBlock(this.store, this.chain, this.root, input)
    this.store.apply(out.writes)
    const t1 = performance.now()
    const pending = this.flow.prepare(height, input.timeMs, txs, out)
    this.flow.stored(pending)
    const t2 = performance.now()
    this.root = out.stateRoot
    this.height = height
    return { execMs: t1 - t0, flowMs: t2 - t1, recordBytes: pending.bytes.length, ok: out.results.every((r) => r.status === 'ok') }
  }

  run(key: KeyPair, call: TxCall): string {
    const stx = this.tx(key, call)
    if (!this.block([stx]).ok) throw new Error(`setup ${call.type} failed`)
    return stx.hash
  }
}

/** A Datanet with `contributors` accepted contributions, each from its own dev account, and a model over it. */
function setup(contributors: number): { c: Chain; model: string; contributions: string[] } {
  const c = new Chain(contributors + 2)
  const owner = devAccountKey(0)
  const dn = c.run(owner, { type: 'registerDatanet', name: 'flow-bench', metadataUri: '', contributionBond: 0n })
  const contributions: string[] = []
  for (let i = 0; i < contributors; i++) {
    const id = c.run(devAccountKey(2 + i), { type: 'contribute', datanetId: dn, dataHash: toHex(sha256(`flow-bench/${i}`)), metadataUri: '' })
    c.run(owner, { type: 'reviewContribution', contributionId: id, accept: true, weight: 1 + (i % 5) })
    contributions.push(id)
  }
  const model = c.run(owner, { type: 'registerModel', name: 'flow-bench-model', baseModel: '', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n })
  return { c, model, contributions }
}

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]
const r3 = (x: number): number => Math.round(x * 1000) / 1000

export interface FlowCostOptions {
  blocks: number
  receiptsPerBlock: number
  contributors: number
  modes: number[]
}

/** The scenario: per mode, median execute and flow-record times per block and their ratio. */
export function runFlowCost(o: FlowCostOptions): Record<string, unknown> {
  const op = devAccountKey(1)
  const modes = o.modes.filter((m) => m <= 1000).map((perTx) => {
    const w = setup(o.contributors)
    const n = w.contributions.length
    const exec: number[] = []
    const flow: number[] = []
    let recordBytes = 0
    for (let b = 0; b < o.blocks + 2; b++) {
      const txs: SignedTx[] = []
      for (let t = 0; t * perTx < o.receiptsPerBlock; t++) {
        const receipts = Array.from({ length: Math.min(perTx, o.receiptsPerBlock - t * perTx) }, (_, i) => {
          const k = t * perTx + i
          return {
            modelId: w.model, payer: op.address, fee: 1000n + BigInt(k % 7), inputHash: toHex(sha256(`i${b}/${k}`)), outputHash: toHex(sha256(`o${b}/${k}`)),
            attribution: [{ contributionId: w.contributions[k % n], weight: 1 }, { contributionId: w.contributions[(k * 7 + 3) % n], weight: 2 }]
              .filter((a, j, all) => j === 0 || a.contributionId !== all[0].contributionId),
          }
        })
        txs.push(w.c.tx(op, { type: 'submitReceipts', receipts }))
      }
      const r = w.c.block(txs)
      if (!r.ok) throw new Error(`flow-cost: receipts failed at ${perTx} per tx`)
      if (b >= 2) { // the first two blocks warm up the JIT
        exec.push(r.execMs)
        flow.push(r.flowMs)
        recordBytes = r.recordBytes
      }
    }
    const e = median(exec)
    const f = median(flow)
    return {
      receiptsPerTx: perTx, txsPerBlock: Math.ceil(o.receiptsPerBlock / perTx), executeMsPerBlock: r3(e), flowMsPerBlock: r3(f),
      flowUsPerReceipt: r3((f * 1000) / o.receiptsPerBlock), flowToExecute: r3(f / e), recordBytes, contributorsRanked: w.c.flow.ranking.count,
    }
  })
  return { receiptsPerBlock: o.receiptsPerBlock, contributors: o.contributors, blocks: o.blocks, modes }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { blocks: { type: 'string' }, receipts: { type: 'string' }, contributors: { type: 'string' }, modes: { type: 'string' } } })
  const out = runFlowCost({
    blocks: Number(values.blocks ?? 20), receiptsPerBlock: Number(values.receipts ?? 2000), contributors: Number(values.contributors ?? 48),
    modes: (values.modes ?? '1,100,1000').split(',').map(Number),
  })
  process.stdout.write(JSON.stringify({ bench: 'flowCost', ...out }) + '\n')
}

/**
 * In-process cost of the batched receipt path, plain vs lineage (issue 13):
 * `node --import tsx bench/lineageExec.ts [--blocks N] [--receipts R]`.
 * One state store per workload, built with the same txs as
 * bench/load.ts setupWorkload / setupLineageWorkload; then blocks of one
 * `submitReceipts` tx of R receipts (default 1000, two attribution entries
 * each, every other receipt with an empty attribution) are executed
 * (executeBlock, writes applied), plain and lineage interleaved block by
 * block so that load on a shared machine hits both alike. Prints one JSON
 * object: µs per receipt (median over blocks) of each and their ratio.
 * Signing is outside the timed part; the signature check is not part of
 * executeBlock (it happens at decode).
 */
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { sha256 } from '../core/hash.js'
import { toHex } from '../core/bytes.js'
import { signTx, type SignedTx, type TxCall } from '../core/tx.js'
import type { KeyPair } from '../core/keys.js'
import { buildDevnetGenesis, devAccountKey } from '../genesis/devnet.js'
import { MemoryStateStore, StateQueries, executeBlock, genesisState, type BlockInput, type ChainConfig } from '../state/index.js'

class Chain {
  readonly store = new MemoryStateStore()
  readonly chain: ChainConfig
  readonly q: StateQueries
  root: Uint8Array
  height = 0
  private readonly nonces = new Map<string, number>()

  constructor() {
    const g = buildDevnetGenesis({ validators: 1, accounts: 10, params: { maxReceiptsPerTx: 1000 } })
    this.chain = { chainId: g.chainId, params: g.params }
    const out = genesisState(this.store, g)
    this.store.apply(out.writes)
    this.root = out.stateRoot
    this.q = new StateQueries(this.store, this.chain)
  }

  tx(key: KeyPair, call: TxCall): SignedTx {
    const nonce = this.nonces.get(key.address) ?? 0
    this.nonces.set(key.address, nonce + 1)
    return signTx({ chainId: this.chain.chainId, nonce, fee: this.chain.params.minTxFee, call }, key)
  }

  block(txs: SignedTx[]): { ms: number; ok: boolean } {
    const height = this.height + 1
    const input: BlockInput = {
      height, timeMs: 1_767_225_600_000 + height * 1000, proposer: this.q.validatorSet(height)![0].address, txs, evidence: [],
      lastCommitSigners: height === 1 ? null : (this.q.validatorSet(height - 1) ?? []).map((m) => m.address),
    }
    const t0 = performance.now()
    const out = executeBlock(this.store, this.chain, this.root, input)
    this.store.apply(out.writes)
    const ms = performance.now() - t0
    this.root = out.stateRoot
    this.height = height
    return { ms, ok: out.results.every((r) => r.status === 'ok') }
  }

  run(key: KeyPair, call: TxCall): string {
    const stx = this.tx(key, call)
    if (!this.block([stx]).ok) throw new Error(`setup ${call.type} failed`)
    return stx.hash
  }
}

/** The workloads of bench/load.ts, in state only. */
function setup(lineage: boolean): { c: Chain; model: string; attribution: { contributionId: string; weight: number }[] } {
  const c = new Chain()
  const [k0, k1, k2] = [0, 1, 2].map(devAccountKey)
  const dn = c.run(k0, { type: 'registerDatanet', name: 'bench-datanet', metadataUri: '', contributionBond: 0n })
  const dn2 = c.run(k0, { type: 'registerDatanet', name: 'bench-datanet-2', metadataUri: '', contributionBond: 0n })
  const a = c.run(k1, { type: 'contribute', datanetId: dn, dataHash: toHex(sha256('a')), metadataUri: '' })
  const b = c.run(k2, { type: 'contribute', datanetId: dn, dataHash: toHex(sha256('b')), metadataUri: '' })
  const o = c.run(k1, { type: 'contribute', datanetId: dn2, dataHash: toHex(sha256('o')), metadataUri: '' })
  for (const [id, w] of [[a, 1], [b, 3], [o, 1]] as const) c.run(k0, { type: 'reviewContribution', contributionId: id, accept: true, weight: w })
  if (!lineage) {
    const model = c.run(k0, { type: 'registerModel', name: 'bench-model', baseModel: '', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n })
    return { c, model, attribution: [{ contributionId: a, weight: 1 }, { contributionId: b, weight: 3 }] }
  }
  c.run(k0, { type: 'setDatanetTerms', datanetId: dn, curatorBps: 1000 })
  c.run(k0, { type: 'setDatanetTerms', datanetId: dn2, curatorBps: 500 })
  const base = c.run(k1, { type: 'registerModel', name: 'bench-base', baseModel: '', datanets: [{ datanetId: dn, weight: 1 }, { datanetId: dn2, weight: 1 }], minFee: 0n })
  c.run(k1, { type: 'setModelTerms', modelId: base, derivativeRoyaltyBps: 1000, allowDerivatives: true })
  const ft = c.run(k2, { type: 'registerModel', name: 'bench-ft', baseModel: '', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n, parents: [base] })
  c.run(k2, { type: 'setModelTerms', modelId: ft, derivativeRoyaltyBps: 500, allowDerivatives: true })
  const model = c.run(k0, { type: 'registerModel', name: 'bench-ft-2', baseModel: '', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n, parents: [ft] })
  return { c, model, attribution: [{ contributionId: a, weight: 1 }, { contributionId: b, weight: 3 }] }
}

function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q)
  return s[Math.floor(s.length / 2)]
}

const { values } = parseArgs({ options: { blocks: { type: 'string' }, receipts: { type: 'string' } } })
const BLOCKS = Number(values.blocks ?? 20)
const R = Number(values.receipts ?? 1000)
const op = devAccountKey(3)
const workloads = { plain: setup(false), lineage: setup(true) }
const txsOf = (w: ReturnType<typeof setup>, b: number) => Array.from({ length: R }, (_, i) => ({
  modelId: w.model, payer: op.address, fee: 1000n, inputHash: toHex(sha256(`i${b}/${i}`)), outputHash: toHex(sha256(`o${b}/${i}`)),
  attribution: i % 2 === 0 ? w.attribution : [],
}))
const times: Record<'plain' | 'lineage', number[]> = { plain: [], lineage: [] }
for (let b = 0; b < BLOCKS + 2; b++) {
  for (const name of ['plain', 'lineage'] as const) {
    const w = workloads[name]
    const stx = w.c.tx(op, { type: 'submitReceipts', receipts: txsOf(w, b) })
    const { ms, ok } = w.c.block([stx])
    if (!ok) throw new Error(`${name}: receipts failed`)
    if (b >= 2) times[name].push((ms * 1000) / R) // the first two blocks warm up the JIT
  }
}
const plain = median(times.plain)
const lineage = median(times.lineage)
process.stdout.write(JSON.stringify({
  bench: 'lineageExec', receiptsPerBlock: R, blocks: BLOCKS, usPerReceiptMedian: { plain: Math.round(plain * 10) / 10, lineage: Math.round(lineage * 10) / 10 },
  lineageToPlain: Math.round((lineage / plain) * 100) / 100,
}) + '\n')

import { sha256 } from '../core/hash.js'
import { toHex } from '../core/bytes.js'
import { UNITS_PER_OPEN } from '../core/amount.js'
import type { Receipt } from '../core/tx.js'
import { devAccountKey } from '../genesis/devnet.js'
import { AttrchainClient, TxSender } from '../rpc/index.js'
import { progressLine } from './progress.js'

/**
 * The demo load (issue 16, `attrchain demo`): seeds a devnet with Datanets,
 * contributions (some rejected), models, operators and payers from the
 * public dev accounts, then streams inference receipts at a chosen rate.
 * Used by the CLI and by the browser test, so both see the same chain.
 *
 * Dev accounts (DESIGN §7): 0–1 curate Datanets and own models, 2–6
 * contribute, 7–8 operate, 9 pays (and allows the operators).
 */
export interface DemoWorld {
  datanets: string[]
  models: { id: string; minFee: bigint; contributions: string[] }[]
  /** accepted contributions */
  accepted: string[]
  rejected: string[]
  operators: TxSender[]
  payer: string
}

const CURATORS = [0, 1]
const CONTRIBUTORS = [2, 3, 4, 5, 6]
const OPERATORS = [7, 8]
const PAYER = 9
const OPEN = UNITS_PER_OPEN

const h32 = (label: string): string => toHex(sha256(new TextEncoder().encode(label)))

async function committed(label: string, p: Promise<{ hash: string; status?: string; error?: { message: string } }>): Promise<string> {
  const r = await p
  if (r.status !== 'ok') throw new Error(`demo: ${label} failed: ${r.error?.message ?? r.status}`)
  return r.hash
}

/** Seed the chain; every step waits for its txs to commit. Progress lines go to `log`. */
export async function seedDemo(client: AttrchainClient, log: (line: string) => void = () => {}): Promise<DemoWorld> {
  const sender = new Map<number, TxSender>()
  const s = (k: number): TxSender => {
    let x = sender.get(k)
    if (!x) sender.set(k, (x = new TxSender(client, devAccountKey(k))))
    return x
  }
  const wait = { wait: 'commit' as const }
  log('registering Datanets')
  const datanets = await Promise.all(['medical-qa', 'legal-contracts', 'code-review'].map((name, i) =>
    committed(`registerDatanet ${name}`, s(CURATORS[i % CURATORS.length]).send({ type: 'registerDatanet', name, metadataUri: `ipfs://demo/${name}`, contributionBond: OPEN / 10n }, wait))))
  log('submitting contributions')
  const submitted: { id: string; datanet: number; n: number }[] = []
  await Promise.all(CONTRIBUTORS.map(async (k, ci) => {
    for (let j = 0; j < 3; j++) {
      const datanet = (ci + j) % datanets.length
      const id = await committed('contribute', s(k).send({ type: 'contribute', datanetId: datanets[datanet], dataHash: h32(`demo/${k}/${j}`), metadataUri: `ipfs://demo/data/${k}/${j}` }, wait))
      submitted.push({ id, datanet, n: ci * 3 + j })
    }
  }))
  log('reviewing contributions (every fifth is rejected)')
  const accepted: string[] = []
  const rejected: string[] = []
  submitted.sort((a, b) => a.n - b.n)
  await Promise.all(CURATORS.map(async (curator) => {
    for (const c of submitted.filter((x) => CURATORS[x.datanet % CURATORS.length] === curator)) {
      const accept = c.n % 5 !== 4
      await committed('reviewContribution', s(curator).send({ type: 'reviewContribution', contributionId: c.id, accept, weight: accept ? 1 + (c.n % 4) : 0 }, wait))
      ;(accept ? accepted : rejected).push(c.id)
    }
  }))
  log('registering models')
  const modelSpecs = [
    { name: 'med-qa-7b', datanets: [0], owner: 0 }, { name: 'contract-llm', datanets: [1, 0], owner: 1 }, { name: 'review-coder', datanets: [2, 1], owner: 0 },
  ]
  const models = await Promise.all(modelSpecs.map(async (m) => {
    const minFee = 10n ** 15n
    const id = await committed(`registerModel ${m.name}`, s(m.owner).send({
      type: 'registerModel', name: m.name, baseModel: 'llama-3-8b', datanets: m.datanets.map((d, i) => ({ datanetId: datanets[d], weight: 3 - i })), minFee,
    }, wait))
    const contributions = submitted.filter((c) => m.datanets.includes(c.datanet) && accepted.includes(c.id)).map((c) => c.id)
    return { id, minFee, contributions }
  }))
  log('approving operators')
  for (const o of OPERATORS) await committed('approveOperator', s(PAYER).send({ type: 'approveOperator', operator: devAccountKey(o).address, amount: 100_000n * OPEN }, wait))
  return { datanets, models, accepted, rejected, operators: OPERATORS.map(s), payer: devAccountKey(PAYER).address }
}

/** A deterministic receipt mix: some attributed to contributions, some by provenance, fees varied. */
export function demoReceipt(world: DemoWorld, n: number): Receipt {
  const m = world.models[n % world.models.length]
  const attributed = n % 3 !== 0 && m.contributions.length > 0
  const pick = (k: number) => m.contributions[(n * 7 + k * 13) % m.contributions.length]
  const attribution = attributed ? [...new Set([pick(0), pick(1)])].map((c, i) => ({ contributionId: c, weight: 1 + ((n + i) % 5) })) : []
  return {
    modelId: m.id, payer: world.payer, fee: m.minFee * BigInt(1 + (n % 7)), inputHash: h32(`demo/in/${n}`), outputHash: h32(`demo/out/${n}`), attribution,
  }
}

export interface StreamStatus {
  height: number
  sent: number
  /** receipts committed per second over the last 10 s */
  receiptsPerSecond: number
  /** contributors with earnings (stats_flow) */
  contributors: number
}

/**
 * Submit `rate` receipts per second (batched per operator every 250 ms)
 * until `signal` aborts; calls `onStatus` about once a second.
 */
export async function streamReceipts(
  client: AttrchainClient, world: DemoWorld, opts: { rate: number; signal: AbortSignal; onStatus?: (s: StreamStatus) => void },
): Promise<number> {
  let n = 0
  let carry = 0
  let lastStatus = 0
  const tickMs = 250
  while (!opts.signal.aborted) {
    carry += (opts.rate * tickMs) / 1000
    const count = Math.floor(carry)
    carry -= count
    const sends: Promise<unknown>[] = []
    for (let i = 0; i < count; ) {
      const op = world.operators[(n + i) % world.operators.length]
      const batch = Math.min(count - i, 50)
      const receipts = Array.from({ length: batch }, (_, k) => demoReceipt(world, n + i + k))
      sends.push(op.send({ type: 'submitReceipts', receipts }).catch(() => {}))
      i += batch
    }
    n += count
    await Promise.all(sends)
    if (opts.onStatus && Date.now() - lastStatus >= 1000) {
      lastStatus = Date.now()
      try {
        const st = await client.status()
        const f = st.height > 0 ? await client.call<{ summary: { receiptsPerSecond: number; contributors: { count: number } } }>('stats_flow', [{ fromHeight: Math.max(1, st.height - 9), buckets: 1 }]) : null
        opts.onStatus({ height: st.height, sent: n, receiptsPerSecond: f?.summary.receiptsPerSecond ?? 0, contributors: f?.summary.contributors.count ?? 0 })
      } catch {
        // a status line is cosmetic: the next tick tries again
      }
    }
    await new Promise((r) => setTimeout(r, tickMs))
  }
  return n
}

export interface DemoOptions {
  /** RPC URL of a running node; when none answers there, a devnet is started */
  rpc: string
  /** receipts per second to stream */
  rate: number
  /** options of the devnet started when none is running */
  devnet: import('./devnet.js').DevnetOptions
}

export interface DemoModules {
  stdout(s: string): void
  stderr(s: string): void
  /** resolves once the process is asked to stop */
  stopSignal(): Promise<string>
  env: NodeJS.ProcessEnv
  /** whether stdout is a terminal (the status line is rewritten in place) */
  tty: boolean
}

/**
 * `attrchain demo`: a devnet (started here unless one answers at `rpc`),
 * seeded, with receipts streaming at `rate` per second and a one-line live
 * status, until stopped. Returns the exit code.
 */
export async function runDemo(opts: DemoOptions, modules: DemoModules): Promise<number> {
  const client = new AttrchainClient(opts.rpc)
  let devnet: Promise<number> | null = null
  const stopped = new AbortController()
  const stop = modules.stopSignal().then(() => stopped.abort())
  const running = await client.status().then(() => true, () => false)
  if (!running) {
    const { runDevnet } = await import('./devnet.js')
    modules.stdout(`no node at ${opts.rpc}: starting a devnet (${opts.devnet.validators} validator(s), home ${opts.devnet.home}) …\n`)
    devnet = runDevnet(opts.devnet, {
      stdout: () => {}, stderr: (s) => modules.stderr(s + '\n'), stopSignal: () => stop.then(() => 'stop'), env: modules.env, progress: progressLine(modules.stderr, modules.tty),
    })
    const deadline = Date.now() + opts.devnet.readyTimeoutMs
    for (;;) {
      if (await client.status().then(() => true, () => false)) break
      if (Date.now() > deadline || stopped.signal.aborted) {
        modules.stderr(`the devnet did not answer at ${opts.rpc} within ${opts.devnet.readyTimeoutMs} ms; see its logs in ${opts.devnet.home}\n`)
        stopped.abort()
        await devnet
        return 1
      }
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  try {
    const world = await seedDemo(client, (line) => modules.stdout(`seed: ${line} …\n`))
    modules.stdout(`seeded ${world.datanets.length} Datanets, ${world.accepted.length + world.rejected.length} contributions (${world.rejected.length} rejected), ${world.models.length} models, ${world.operators.length} operators\n`)
    modules.stdout(`explorer: ${opts.rpc.replace(/\/$/, '')}/   (streaming ${opts.rate} receipts/s; Ctrl-C stops)\n`)
    await streamReceipts(client, world, {
      rate: opts.rate, signal: stopped.signal,
      onStatus: (s) => {
        const line = `height ${s.height}  receipts/s ${s.receiptsPerSecond.toFixed(1)}  contributors paid ${s.contributors}  sent ${s.sent}`
        modules.stdout(modules.tty ? `\r\x1b[2K${line}` : `${line}\n`)
      },
    })
    modules.stdout('\n')
  } catch (e) {
    modules.stderr(`demo: ${(e as Error).message}. Is the node at ${opts.rpc} a devnet (its dev accounts funded)? Try "attrchain devnet --reset" first.\n`)
    stopped.abort()
    if (devnet) await devnet
    return 1
  }
  if (devnet) return devnet
  return 0
}

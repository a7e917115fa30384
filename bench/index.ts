import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem, type as osType, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { killAllNodes } from './cluster.js'
import { runLimits } from './limits.js'
import { runOverload } from './overload.js'
import { runWan } from './wan.js'
import { runFlowCost } from './flowCost.js'
import { runDevnet4, runSingleNode, runSync, type BenchOptions } from './scenarios.js'
import { log, nowMs, round } from './util.js'

/**
 * `npm run bench [-- --scenario NAME … --duration S --profile]`: runs the
 * scenarios of issue 6 against real node processes and prints ONE JSON
 * object on stdout (also written to bench/results/latest.json). Progress
 * goes to stderr.
 */

const SCENARIOS = ['limits', 'single-node', 'single-node-lineage', 'devnet-4', 'sync', 'overload', 'wan', 'flow-cost'] as const
type Scenario = (typeof SCENARIOS)[number]

const HELP = `usage: npm run bench -- [options]
  --scenario NAME     ${SCENARIOS.join(', ')} (repeatable; default: all)
  --duration S        seconds of sustained load per measured window after warm-up, and of the overload flood (default 20)
  --modes LIST        receipts per submitReceipts tx, comma-separated (default 1,100,1000; overload: 1,100)
  --operators N       operators (dev accounts) sending load (default 8; overload: 16)
  --validators LIST   validator counts of the overload scenario, comma-separated (default 1,4)
  --congestion-interval MS  overload: the nodes' mempool.congestionIntervalMs (0 = no congestion control; default: the node default, 2000)
  --block-time MS     node --block-time of the closed-loop scenarios (default 200; overload runs the node's default)
  --sync-blocks N     blocks produced per mode of the sync scenario (default 1000)
  --sync-modes LIST   receipts per tx of the sync scenario's chains, comma-separated (default 100,1)
  --sync-block-receipts N  most receipts per block of the synced chains (default 1000)
  --profile           start nodes with --cpu-prof into bench/results/profiles/<scenario>
  --keep              keep the node homes (temp dirs) for inspection; overload nodes then log at info level (node.log: one line per committed block)
  -h, --help`

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const RESULTS_DIR = join(BENCH_DIR, 'results')

function gitCommit(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim() !== ''
    return { commit, dirty }
  } catch {
    return { commit: null, dirty: null }
  }
}

function machine(): Record<string, unknown> {
  const c = cpus()
  return { cpuModel: c[0]?.model ?? null, cpus: c.length, totalMemoryGiB: round(totalmem() / 2 ** 30, 1), os: `${osType()} ${release()}`, node: process.version }
}

function parseOptions(argv: string[]): { scenarios: Scenario[]; opts: BenchOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', multiple: true }, duration: { type: 'string' }, modes: { type: 'string' }, operators: { type: 'string' },
      validators: { type: 'string' }, 'block-time': { type: 'string' }, 'sync-blocks': { type: 'string' }, 'sync-modes': { type: 'string' }, 'sync-block-receipts': { type: 'string' }, 'congestion-interval': { type: 'string' }, profile: { type: 'boolean' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stderr.write(HELP + '\n')
    process.exit(0)
  }
  const int = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${v}"`)
    return n
  }
  const scenarios = (values.scenario ?? [...SCENARIOS]) as Scenario[]
  for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`)
  const list = (name: string, v: string, min: number): number[] => v.split(',').map((m) => int(name, m.trim(), 1, min))
  const modes = list('modes', values.modes ?? '1,100,1000', 1)
  return {
    scenarios,
    opts: {
      durationS: int('duration', values.duration, 20, 1), operators: int('operators', values.operators, 8, 1), modes,
      blockTimeMs: int('block-time', values['block-time'], 200, 0), profile: Boolean(values.profile), profileRoot: join(RESULTS_DIR, 'profiles'),
      syncBlocks: int('sync-blocks', values['sync-blocks'], 1000, 1), syncModes: list('sync-modes', values['sync-modes'] ?? '100,1', 1), syncBlockReceipts: int('sync-block-receipts', values['sync-block-receipts'], 1000, 1), keep: Boolean(values.keep),
      floodOperators: int('operators', values.operators, 16, 1), floodModes: list('modes', values.modes ?? '1,100', 1),
      floodValidators: list('validators', values.validators ?? '1,4', 1),
      ...(values['congestion-interval'] !== undefined ? { congestionIntervalMs: int('congestion-interval', values['congestion-interval'], 0, 0) } : {}),
    },
  }
}

/** Headline figures, one line each, for the README table and for comparing runs. */
function summary(results: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const modes = (r: Record<string, unknown> | undefined) => (r?.modes ?? []) as Record<string, any>[]
  for (const name of ['single-node', 'single-node-lineage', 'devnet-4']) {
    for (const m of modes(results[name])) {
      out[`${name}.receipts${m.receiptsPerTx}PerTx.receiptsPerSec`] = m.maxRate?.receiptsPerSec
      out[`${name}.receipts${m.receiptsPerTx}PerTx.p50Ms`] = m.latencyAtHalfMax?.latencyMs?.p50
      out[`${name}.receipts${m.receiptsPerTx}PerTx.p99Ms`] = m.latencyAtHalfMax?.latencyMs?.p99
      if (m.leveldb) out[`${name}.receipts${m.receiptsPerTx}PerTx.bytesPerReceipt`] = m.leveldb.bytesPerReceipt
      if (m.peakRssMiB !== undefined) out[`${name}.receipts${m.receiptsPerTx}PerTx.peakRssMiB`] = m.peakRssMiB
    }
  }
  // issue 13: the lineage mode beside the plain mode
  for (const m of modes(results['single-node-lineage'])) {
    const p = modes(results['single-node']).find((x) => x.receiptsPerTx === m.receiptsPerTx)
    if (p?.maxRate?.receiptsPerSec && m.maxRate?.receiptsPerSec !== undefined) out[`single-node-lineage.receipts${m.receiptsPerTx}PerTx.ratioToPlain`] = round(m.maxRate.receiptsPerSec / p.maxRate.receiptsPerSec, 2)
  }
  const sync = results.sync as Record<string, any> | undefined
  if (sync && !sync.error) {
    out['sync.blocksPerSec'] = sync.blocksPerSec
    out['sync.receiptsPerSec'] = sync.receiptsPerSec
    const devnet = modes(results['devnet-4'])
    const best = Math.max(0, ...devnet.map((m) => m.maxRate?.receiptsPerSec ?? 0))
    if (best > 0) {
      out['sync.ratioToDevnet4BestReceiptsPerSec'] = round(sync.receiptsPerSec / best, 2)
      sync.ratioToDevnet4 = Object.fromEntries(devnet.map((m) => [`receipts${m.receiptsPerTx}PerTx`, round(sync.receiptsPerSec / m.maxRate.receiptsPerSec, 2)]))
    }
  }
  // issue 10: the ceiling each synced chain's CPU per receipt puts on 1 and 4 validators on this machine
  for (const m of modes(sync)) {
    const k = `sync.receipts${m.receiptsPerTx}PerTx`
    if (m.error) {
      out[`${k}.error`] = m.error
      continue
    }
    out[`${k}.receiptsPerSec`] = m.receiptsPerSec
    out[`${k}.receiptsPerBlock`] = m.receiptsPerBlock
    out[`${k}.processMicrosPerReceipt`] = m.cpu.processMicrosPerReceipt
    out[`${k}.mainThreadMicrosPerReceipt`] = m.cpu.mainThreadMicrosPerReceipt
    out[`${k}.ceilingReceiptsPerSec.validators1`] = m.ceilingReceiptsPerSec.validators1
    out[`${k}.ceilingReceiptsPerSec.validators4`] = m.ceilingReceiptsPerSec.validators4
  }
  const overload = results.overload as Record<string, any> | undefined
  for (const [name, c] of Object.entries((overload?.cases ?? {}) as Record<string, any>)) {
    if (c.error) {
      out[`overload.${name}.error`] = c.error
      continue
    }
    const k = `overload.${name}`
    out[`${k}.receiptsPerSec`] = c.receiptsPerSec
    out[`${k}.blockIntervalP50Ms`] = c.blockIntervalMs.p50
    out[`${k}.blockIntervalP99Ms`] = c.blockIntervalMs.p99
    out[`${k}.blockIntervalMaxMs`] = c.blockIntervalMs.max
    out[`${k}.roundsPerHeightMean`] = c.roundsPerHeight.mean
    out[`${k}.roundsPerHeightMax`] = c.roundsPerHeight.max
    out[`${k}.precommitsPerCommitMin`] = c.roundsPerHeight.precommits?.min ?? null
    out[`${k}.p99LatencyMs`] = c.latencyMs.p99
    out[`${k}.refusals`] = c.refusals.total
    out[`${k}.peakRssMiB`] = Math.max(...(c.peakRssMiB as (number | null)[]).map((x) => x ?? 0))
    out[`${k}.firstEmptyBlockAfterFloodS`] = c.firstEmptyBlockAfterFloodS
  }
  const wan = results.wan as Record<string, any> | undefined
  for (const c of (wan?.cases ?? []) as Record<string, any>[]) {
    const k = `wan.rtt${c.rttMs}ms`
    if (c.error) {
      out[`${k}.error`] = c.error
      continue
    }
    out[`${k}.roundsPerHeightMean`] = c.roundsPerHeight.mean
    out[`${k}.blockIntervalP50Ms`] = c.blockIntervalMs.p50
    out[`${k}.blockIntervalP99Ms`] = c.blockIntervalMs.p99
    out[`${k}.finalityP50Ms`] = c.finalityMs.p50
    out[`${k}.finalityP99Ms`] = c.finalityMs.p99
  }
  // issue 16: what the per-block flow statistics add to a block's execution
  for (const m of modes(results['flow-cost'])) {
    out[`flow-cost.receipts${m.receiptsPerTx}PerTx.flowMsPerBlock`] = m.flowMsPerBlock
    out[`flow-cost.receipts${m.receiptsPerTx}PerTx.flowToExecute`] = m.flowToExecute
  }
  for (const m of modes(results['flow-cost']?.wide as Record<string, unknown> | undefined)) {
    out['flow-cost.contributors1000.flowMsPerBlock'] = m.flowMsPerBlock
    out['flow-cost.contributors1000.flowToExecute'] = m.flowToExecute
  }
  const limits = results.limits as Record<string, any> | undefined
  if (limits && !limits.error) {
    out['limits.ed25519SodiumNativePerSec'] = limits.ed25519VerifyPerSec.sodiumNative
    out['limits.ed25519NodeCryptoPerSec'] = limits.ed25519VerifyPerSec.nodeCrypto
    out['limits.ed25519NoblePerSec'] = limits.ed25519VerifyPerSec.noble
  }
  return out
}

async function main(): Promise<void> {
  const { scenarios, opts } = parseOptions(process.argv.slice(2))
  const started = new Date()
  const t0 = nowMs()
  const results: Record<string, Record<string, unknown>> = {}
  const durationsS: Record<string, number> = {}
  const runners: Record<Scenario, () => Promise<Record<string, unknown>>> = {
    limits: () => runLimits(Math.min(3, opts.durationS)),
    'single-node': () => runSingleNode(opts),
    'single-node-lineage': () => runSingleNode(opts, true),
    'devnet-4': () => runDevnet4(opts),
    sync: () => runSync(opts),
    overload: () => runOverload(opts),
    wan: () => runWan({ durationS: opts.durationS, keep: opts.keep }),
    'flow-cost': async () => ({
      ...runFlowCost({ blocks: 20, receiptsPerBlock: 2000, contributors: 48, modes: opts.modes }),
      // every block changing the earnings of 1000 of 1000 contributors: the ranking's worst case
      wide: runFlowCost({ blocks: 10, receiptsPerBlock: 2000, contributors: 1000, modes: [1000] }),
    }),
  }
  for (const s of SCENARIOS.filter((x) => scenarios.includes(x))) {
    log(`scenario ${s}`)
    const st = nowMs()
    try {
      results[s] = await runners[s]()
    } catch (e) {
      log(`scenario ${s} failed: ${(e as Error).stack ?? e}`)
      results[s] = { error: (e as Error).message }
    } finally {
      killAllNodes()
    }
    durationsS[s] = round((nowMs() - st) / 1000, 1)
  }
  const out = {
    bench: 'attrchain', date: started.toISOString(), ...gitCommit(), machine: machine(),
    options: {
      scenarios, durationS: opts.durationS, modes: opts.modes, operators: opts.operators, blockTimeMs: opts.blockTimeMs, syncBlocks: opts.syncBlocks, syncModes: opts.syncModes, syncBlockReceipts: opts.syncBlockReceipts, profile: opts.profile,
      floodOperators: opts.floodOperators, floodModes: opts.floodModes, floodValidators: opts.floodValidators, congestionIntervalMs: opts.congestionIntervalMs ?? null,
    },
    summary: summary(results), scenarios: results, durationsS: { ...durationsS, total: round((nowMs() - t0) / 1000, 1) },
  }
  mkdirSync(RESULTS_DIR, { recursive: true })
  const json = JSON.stringify(out)
  writeFileSync(join(RESULTS_DIR, 'latest.json'), json + '\n')
  writeFileSync(join(RESULTS_DIR, `run-${started.toISOString().replace(/[:.]/g, '-')}.json`), json + '\n')
  if (opts.profile) log(`CPU profiles in ${join(RESULTS_DIR, 'profiles')}/<scenario>/ — read them with: node --import tsx bench/topFunctions.ts FILE.cpuprofile`)
  log(`written ${join(RESULTS_DIR, 'latest.json')}`)
  process.stdout.write(json + '\n')
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: killing the node processes`)
    killAllNodes()
    process.exit(130)
  })
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    killAllNodes()
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`)
    process.exit(1)
  },
)

process.once('exit', () => killAllNodes())

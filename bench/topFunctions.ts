import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * `node --import tsx bench/topFunctions.ts FILE.cpuprofile|DIR [--top N]`:
 * the functions with the most self time in a V8 CPU profile (as written by
 * `node --cpu-prof`), with file:line. For a directory, every .cpuprofile in
 * it (recursively) is read and summed. Lines are 1-based lines of the code
 * V8 ran: for .ts files run through tsx that code is esbuild's output, so
 * the file is right but the line often is not (":1"); go by function name.
 */

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function location(f: CallFrame): string {
  if (!f.url) return ''
  const path = f.url.startsWith('file://') ? relative(ROOT, fileURLToPath(f.url)) : f.url
  return `${path}:${f.lineNumber + 1}`
}

/** Self time in microseconds per node id, from samples and their time deltas. */
function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  const samples = p.samples ?? []
  const deltas = p.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    // The delta before sample i+1 is the time spent in sample i.
    const dt = deltas[i + 1] ?? 0
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, dt))
  }
  return self
}

export interface TopEntry {
  function: string
  location: string
  selfMs: number
  selfPercent: number
}

export function topFunctions(profiles: CpuProfile[], top = 25): { totalMs: number; entries: TopEntry[] } {
  const byKey = new Map<string, { fn: string; loc: string; us: number }>()
  let total = 0
  for (const p of profiles) {
    const self = selfTimes(p)
    for (const node of p.nodes) {
      const us = self.get(node.id) ?? 0
      // Idle time says nothing about where work goes; the percentages are of busy time.
      if (us === 0 || node.callFrame.functionName === '(idle)') continue
      total += us
      const fn = node.callFrame.functionName || '(anonymous)'
      const loc = location(node.callFrame)
      const key = `${fn}@${loc}`
      const e = byKey.get(key) ?? { fn, loc, us: 0 }
      e.us += us
      byKey.set(key, e)
    }
  }
  const entries = [...byKey.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ function: e.fn, location: e.loc, selfMs: Math.round(e.us / 100) / 10, selfPercent: Math.round((1000 * e.us) / total) / 10 }))
  return { totalMs: Math.round(total / 1000), entries }
}

function profileFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path).flatMap((name) => profileFiles(join(path, name))).filter((f) => f.endsWith('.cpuprofile'))
}

function main(argv: string[]): void {
  const args = [...argv]
  let top = 25
  const i = args.indexOf('--top')
  if (i >= 0) {
    top = Number(args[i + 1])
    args.splice(i, 2)
  }
  const json = args.includes('--json')
  const paths = args.filter((a) => a !== '--json')
  if (paths.length === 0) {
    process.stderr.write('usage: node --import tsx bench/topFunctions.ts FILE.cpuprofile|DIR… [--top N] [--json]\n')
    process.exit(2)
  }
  const files = paths.flatMap(profileFiles)
  const result = topFunctions(files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile), top)
  if (json) {
    process.stdout.write(JSON.stringify({ files, ...result }) + '\n')
    return
  }
  process.stdout.write(`${files.length} profile(s), ${result.totalMs} ms busy (idle excluded)\n`)
  process.stdout.write(`${'self ms'.padStart(9)} ${'self %'.padStart(6)}  function  location\n`)
  for (const e of result.entries) {
    process.stdout.write(`${e.selfMs.toFixed(1).padStart(9)} ${e.selfPercent.toFixed(1).padStart(6)}  ${e.function}  ${e.location}\n`)
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2))

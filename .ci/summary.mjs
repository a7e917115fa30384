// Reads tap's output and prints "N passed, N failed" from its final summary
// line ("# { total: 12, pass: 11, fail: 1 }"), which CI does not recognise.
// Before that line it repeats every failed assertion with its path (file >
// subtest > assertion) and the first lines of its diagnostics: CI keeps only
// the tail of the log, where tap's own TAP output of a failure deep in a
// 20,000-assertion run is long gone.
import { readFileSync } from 'node:fs'

const text = readFileSync(process.argv[2], 'utf8')
const all = text.split('\n')
/** failed assertions listed at most (the count line says how many failed in all) */
const MAX_FAILURES = 30

/** Failed assertions (not the "not ok" that closes a failed subtest), with their path and diagnostics. */
function failures(lines, maxFailures = MAX_FAILURES, maxDiagLines = 24) {
  const out = []
  const stack = [] // subtest names by depth (4 spaces per level)
  for (let i = 0; i < lines.length && out.length < maxFailures; i++) {
    const sub = /^( *)# Subtest: (.*)$/.exec(lines[i])
    if (sub) {
      const depth = sub[1].length >> 2
      stack.length = depth
      stack[depth] = sub[2]
      continue
    }
    const fail = /^( *)not ok \d+ - (.*?)(?: # (time|todo|skip)\b.*)?$/i.exec(lines[i])
    if (!fail || /^(todo|skip)$/i.test(fail[3] ?? '')) continue // a TODO or SKIP "not ok" is not a failure to tap
    const depth = fail[1].length >> 2
    const name = fail[2]
    const path = [...stack.slice(0, depth), name].join(' > ')
    // the line that closes a failed subtest: skipped when its failures are listed already (not when it
    // failed on its own: a timeout, an exit code, an error thrown outside an assertion)
    if (stack[depth] === name && out.some((f) => f.path.startsWith(`${path} > `))) continue
    const diag = []
    if (lines[i + 1]?.trim() === '---') {
      const base = lines[i + 1].indexOf('-')
      let skipping = false // the "source:" excerpt: the stack names the line, the diff matters more
      for (let j = i + 2; j < lines.length && lines[j].trim() !== '...' && diag.length < maxDiagLines; j++) {
        const line = lines[j].slice(base)
        if (/^\S/.test(line)) skipping = line.startsWith('source:')
        if (!skipping && line.trim() !== '') diag.push(line)
      }
    }
    out.push({ path, diag })
  }
  return out
}

const failed = failures(all)
if (failed.length > 0) {
  console.log(`failed assertions (${failed.length}${failed.length === MAX_FAILURES ? ' or more' : ''}):`)
  for (const f of failed) {
    console.log(`  not ok: ${f.path}`)
    for (const d of f.diag) console.log(`    ${d}`)
  }
}

const lines = all.filter((l) => /^# \{ total: \d+/.test(l))
const last = lines.at(-1) ?? ''
const num = (key) => Number(new RegExp(`${key}: (\\d+)`).exec(last)?.[1] ?? 0)
const total = num('total')
const pass = num('pass')
const fail = num('fail') || (total - pass - num('skip') - num('todo'))
const skip = num('skip')
console.log(`${pass} passed, ${Math.max(fail, 0)} failed${skip ? `, ${skip} skipped` : ''}`)

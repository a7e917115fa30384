// Reads tap's output and prints "N passed, N failed" from its final summary
// line ("# { total: 12, pass: 11, fail: 1 }"), which CI does not recognise.
import { readFileSync } from 'node:fs'

const text = readFileSync(process.argv[2], 'utf8')
const lines = text.split('\n').filter((l) => /^# \{ total: \d+/.test(l))
const last = lines.at(-1) ?? ''
const num = (key) => Number(new RegExp(`${key}: (\\d+)`).exec(last)?.[1] ?? 0)
const total = num('total')
const pass = num('pass')
const fail = num('fail') || (total - pass - num('skip') - num('todo'))
const skip = num('skip')
console.log(`${pass} passed, ${Math.max(fail, 0)} failed${skip ? `, ${skip} skipped` : ''}`)

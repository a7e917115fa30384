// Coverage floor for `npm test`. tap 21 only knows "100 % or allow any", so
// tap runs with allow-incomplete-coverage and this checks its json-summary
// against the floors below (set a few points under the measured figures;
// raise them as tests grow, never lower them to make a change pass).
import { readFileSync } from 'node:fs'

const FLOORS = { lines: 88, statements: 88, functions: 85, branches: 84 }
const path = new URL('../.tap/report/coverage-summary.json', import.meta.url)
let total
try {
  total = JSON.parse(readFileSync(path, 'utf8')).total
} catch (e) {
  console.error(`coverage: no summary at ${path.pathname} (${e.message})`)
  process.exit(1)
}
const low = Object.entries(FLOORS).filter(([k, floor]) => !(total[k]?.pct >= floor))
for (const [k, floor] of Object.entries(FLOORS)) console.log(`coverage ${k}: ${total[k]?.pct}% (floor ${floor}%)`)
if (low.length > 0) {
  console.error(`coverage below the floor: ${low.map(([k, f]) => `${k} ${total[k]?.pct}% < ${f}%`).join(', ')}`)
  process.exit(1)
}

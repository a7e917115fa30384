import t from 'tap'
import { readFileSync } from 'node:fs'
import { defaultNodeConfig, settingNames } from '../../../node/config.js'

/**
 * The README's Configuration table is the public spec of the settings
 * (issue 14): every setting of the config schema has a row, every row a
 * setting, and a row's default, where it gives one as a value, is the
 * schema's.
 */
t.test('README Configuration table and the config schema name the same settings with the same defaults', async (t) => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Configuration\n'))
  const body = section.slice(0, section.indexOf('\n## ', 1))
  const table = body.slice(body.indexOf('| setting | default | meaning |'))
  const rows = new Map<string, string>()
  for (const line of table.split('\n').slice(2)) {
    const m = /^\| `([^`]+)` \| ([^|]*) \|/.exec(line)
    if (!m) break
    rows.set(m[1], m[2].trim())
  }
  t.ok(rows.size > 0, 'the settings table was found')
  const names = settingNames()
  t.same([...rows.keys()].filter((r) => !names.includes(r)), [], 'every README row is a setting')
  t.same(names.filter((n) => !rows.has(n)), [], 'every setting has a README row')

  const defaults = defaultNodeConfig('') as unknown as Record<string, unknown>
  for (const name of names) {
    const cell = rows.get(name)
    if (cell === undefined) continue
    const [top, sub] = name.split('.')
    const d = sub === undefined ? defaults[top] : (defaults[top] as Record<string, unknown>)[sub]
    if (d === undefined) t.notMatch(cell, /^`[^`]*`$/, `${name}: no default value in the schema, none as a value in the README`)
    else t.equal(cell, '`' + (typeof d === 'object' ? JSON.stringify(d) : String(d)) + '`', `${name}: README default is the schema's`)
  }
})

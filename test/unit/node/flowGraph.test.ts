import t from 'tap'
import { flowGraph } from '../../../node/explorer/flowGraph.js'
import { prng } from '../../helpers/chain.js'

/** The receipt page's flow diagram (node/explorer/flowGraph.js): every unit of the fee exactly once, whatever the flows. */
t.test('the diagram\'s flows sum to the fee and every role passes on what it gets, over random receipts', async (t) => {
  const rnd = prng(16)
  const roles = ['contributor', 'datanetPool', 'modelOwner', 'operator', 'validators', 'treasury', 'royalty']
  for (let i = 0; i < 200; i++) {
    const flows: { address: string | null; role: string; amount: string; rule: string }[] = []
    const n = 1 + Math.floor(rnd() * 60)
    for (let k = 0; k < n; k++) {
      const role = roles[Math.floor(rnd() * roles.length)]
      const address = role === 'validators' ? null : `0x${Math.floor(rnd() * 30).toString(16).padStart(40, '0')}`
      flows.push({ address, role, amount: String(1 + Math.floor(rnd() * 1e6)), rule: rnd() < 0.8 ? 'split' : 'rounding' })
    }
    const fee = flows.reduce((s, f) => s + BigInt(f.amount), 0n)
    const max = 2 + Math.floor(rnd() * 12)
    const g = flowGraph({ fee: fee.toString(), flows }, max)
    const sum = (xs: { amount: bigint }[]) => xs.reduce((s, x) => s + x.amount, 0n)
    t.equal(sum(g.links.filter((l) => l.source === 'fee')), fee, `receipt ${i}: out of the fee = fee`)
    t.equal(sum(g.links.filter((l) => l.target.startsWith('payee:'))), fee, `receipt ${i}: into the payees = fee`)
    for (const r of g.nodes.filter((x) => x.kind === 'role')) {
      const into = sum(g.links.filter((l) => l.target === r.id))
      t.equal(sum(g.links.filter((l) => l.source === r.id)), into, `receipt ${i}: ${r.id} passes on what it gets`)
      t.equal(r.amount, into, `receipt ${i}: ${r.id} node amount`)
      const payees = g.links.filter((l) => l.source === r.id).length
      t.ok(payees <= max, `receipt ${i}: ${r.id} shows at most ${max} payees (${payees})`)
      const distinct = new Set(flows.filter((f) => `role:${f.role}` === r.id).map((f) => f.address)).size
      const others = g.nodes.find((x) => x.id === `payee:${r.role}:others`)
      t.equal(payees - (others ? 1 : 0) + (others?.others ?? 0), distinct, `receipt ${i}: ${r.id}'s payees all accounted for`)
    }
    t.equal(new Set(g.nodes.map((x) => x.id)).size, g.nodes.length, `receipt ${i}: node ids unique`)
  }
})

t.test('flows to the same payee in a role merge; the largest payees are shown, the rest are one node', async (t) => {
  const a = '0x' + '0a'.repeat(20)
  const b = '0x' + '0b'.repeat(20)
  const c = '0x' + '0c'.repeat(20)
  const g = flowGraph({
    fee: '100',
    flows: [
      { address: a, role: 'treasury', amount: '5', rule: 'split' }, { address: a, role: 'treasury', amount: '1', rule: 'rounding' },
      { address: a, role: 'contributor', amount: '10', rule: 'attributionWeight' }, { address: b, role: 'contributor', amount: '50', rule: 'attributionWeight' },
      { address: c, role: 'contributor', amount: '34', rule: 'attributionWeight' },
    ],
  }, 2)
  t.same(g.links.filter((l) => l.source === 'role:treasury').map((l) => [l.target, l.amount, l.rules]), [[`payee:treasury:${a}`, 6n, 'split, rounding']], 'one treasury link with both rules')
  t.same(g.links.filter((l) => l.source === 'role:contributor').map((l) => [l.target, l.amount]), [[`payee:contributor:${b}`, 50n], ['payee:contributor:others', 44n]], 'the largest contributor, then the other two as one')
  t.equal(g.nodes.find((n) => n.id === 'payee:contributor:others')!.others, 2, 'the others node counts its payees')
})

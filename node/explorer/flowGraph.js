// The receipt page's flow diagram as a graph (no drawing): pure, so that
// the node's unit tests check it and the page (app.js) lays it out with
// d3-sankey. Amounts stay exact bigints.

/**
 * Graph of a receipt's flows (attribution_explain `{fee, flows: [{address,
 * role, amount, rule}]}`, amounts as decimal strings): three columns, the
 * fee, one node per role, one node per payee of a role (flows of the same
 * role and address merged, their rules listed). A role with more than
 * `maxPerRole` payees keeps its `maxPerRole - 1` largest (ties by first
 * seen) and one "others" node with the rest.
 * Nodes `{id, kind: 'fee'|'role'|'payee', role, address, amount, others}`;
 * links `{source, target, amount, role, rules}` (ids). Every unit is on
 * exactly one fee→role link and one role→payee link.
 */
export function flowGraph(ex, maxPerRole) {
  const roles = new Map()
  for (const f of ex.flows) {
    const r = roles.get(f.role) ?? { amount: 0n, payees: new Map() }
    r.amount += BigInt(f.amount)
    const key = f.address ?? ''
    const p = r.payees.get(key) ?? { amount: 0n, rules: [] }
    p.amount += BigInt(f.amount)
    if (!p.rules.includes(f.rule)) p.rules.push(f.rule)
    r.payees.set(key, p)
    roles.set(f.role, r)
  }
  const nodes = [{ id: 'fee', kind: 'fee', role: '', address: null, amount: BigInt(ex.fee), others: 0 }]
  const links = []
  for (const [role, r] of roles) {
    const roleId = `role:${role}`
    nodes.push({ id: roleId, kind: 'role', role, address: null, amount: r.amount, others: 0 })
    links.push({ source: 'fee', target: roleId, amount: r.amount, role, rules: '' })
    const payees = [...r.payees].map(([address, p], i) => ({ address, ...p, i }))
      .sort((a, b) => (b.amount > a.amount ? 1 : b.amount < a.amount ? -1 : a.i - b.i))
    const shown = payees.length > maxPerRole ? payees.slice(0, Math.max(0, maxPerRole - 1)) : payees
    for (const p of shown) {
      const id = `payee:${role}:${p.address}`
      nodes.push({ id, kind: 'payee', role, address: p.address === '' ? null : p.address, amount: p.amount, others: 0 })
      links.push({ source: roleId, target: id, amount: p.amount, role, rules: p.rules.join(', ') })
    }
    if (shown.length < payees.length) {
      const rest = payees.slice(shown.length)
      const amount = rest.reduce((s, p) => s + p.amount, 0n)
      const id = `payee:${role}:others`
      nodes.push({ id, kind: 'payee', role, address: null, amount, others: rest.length })
      links.push({ source: roleId, target: id, amount, role, rules: '' })
    }
  }
  return { nodes, links }
}

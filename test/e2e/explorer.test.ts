import t from 'tap'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import { devnetHome, startNode, tempDir, until } from '../helpers/nodeProcess.js'
import { seedDemo, streamReceipts } from '../../node/demo.js'

/**
 * The explorer in a real browser (issue 16 item 5): headless Chromium
 * (Debian's `chromium`; .ci/run installs it when missing) against a real
 * node carrying the demo load. What the pages show must equal what the RPC
 * says; navigation works; the console stays free of errors. Screenshots go
 * to a temp dir, printed at the end.
 */
// the callbacks passed to page.evaluate run in the browser; this project compiles without the DOM lib
declare const document: any // eslint-disable-line @typescript-eslint/no-explicit-any
declare const location: any // eslint-disable-line @typescript-eslint/no-explicit-any
type HTMLElement = { dataset: Record<string, string> }

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

t.test('the explorer shows the chain as the RPC reports it', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, async (t) => {
  const home = tempDir('attrchain-explorer-')
  t.teardown(home.remove)
  devnetHome(home.dir, { accounts: 10 })
  const node = await startNode(home.dir, ['--block-time', '300'])
  t.teardown(() => node.stop())
  const client = node.client

  const world = await seedDemo(client)
  t.ok(world.rejected.length > 0 && world.accepted.length > 0, 'the demo has accepted and rejected contributions')
  const stop = new AbortController()
  const streaming = streamReceipts(client, world, { rate: 40, signal: stop.signal })
  await until('receipts to be committed', async () => {
    const st = await client.status()
    const f = await client.call<{ summary: { receipts: number } }>('stats_flow', [{ fromHeight: 1 }])
    return st.height > 0 && f.summary.receipts >= 60
  }, 90_000, 250)
  // the stream goes on while the pages are checked (each compares a fixed window or height with the RPC): the
  // address page's chart covers only the last 100 blocks (~30 s here), and the operator must have earned in them
  t.teardown(() => stop.abort())

  const shots = mkdtempSync(join(tmpdir(), 'attrchain-explorer-shots-'))
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`) })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))

  const open = async (hash: string, view: string): Promise<void> => {
    await page.goto(`${node.url}/${hash}`)
    await page.waitForFunction((v) => document.body.dataset.view === v && document.body.dataset.ready === 'true', view, { timeout: 30_000 })
  }

  // dashboard: the figures shown are stats_flow's for the window the page states
  await open('', 'dashboard')
  await page.waitForSelector('#c-gini .uplot', { timeout: 30_000 })
  const shown = await page.evaluate(() => {
    const k = document.getElementById('kpis')!
    const values = Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map((e) => [e.dataset.kpi!, e.dataset.value!]))
    return { from: Number(k.dataset.from), to: Number(k.dataset.to), buckets: Number(k.dataset.buckets), values, charts: document.querySelectorAll('.uplot').length }
  })
  const stats = await client.call<{ fromHeight: number; toHeight: number; summary: Record<string, unknown> & { contributors: Record<string, number> } }>(
    'stats_flow', [{ fromHeight: shown.from, toHeight: shown.to, buckets: shown.buckets }])
  const s = stats.summary
  const expected: Record<string, unknown> = {
    receipts: s.receipts, receiptsPerSecond: s.receiptsPerSecond, receiptFees: s.receiptFees, feesPerSecond: s.feesPerSecond, contributorPayments: s.contributorPayments,
    contributors: s.contributors.count, gini: s.contributors.gini, top10Share: s.contributors.top10Share, bottom50Share: s.contributors.bottom50Share, models: s.models, rejected: s.rejected,
  }
  for (const [k, v] of Object.entries(expected)) t.equal(shown.values[k], String(v), `dashboard ${k} equals stats_flow`)
  t.ok(Number(shown.values.receipts) > 0, 'the window has receipts')
  t.equal(shown.charts, 4, 'four charts drawn')
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true })

  // a block with receipts: its distribution table equals chain_getDistribution, its signatures chain_getCommit
  const head = (await client.status()).height
  let height = 0
  for (let h = head; h >= 1 && height === 0; h--) {
    const d = await client.getDistribution(h)
    if (d?.entries.some((e) => e.role === 'contributor')) height = h
  }
  t.ok(height > 0, 'a block paid contributors')
  await open(`#/block/${height}`, 'block')
  const rows = await page.$$eval('#distribution tr[data-role]', (trs) => trs.map((tr) => {
    const d = (tr as HTMLElement).dataset
    return { address: d.address, role: d.role, amount: d.amount }
  }))
  const dist = await client.getDistribution(height)
  t.same(rows, dist!.entries.map((e) => ({ address: e.address, role: e.role, amount: e.amount })), `block ${height}: the distribution table equals chain_getDistribution`)
  const shownAmounts = await page.$$eval('#distribution tr[data-role] td:last-child span', (xs) => xs.map((x) => (x as HTMLElement).dataset.value))
  t.same(shownAmounts, dist!.entries.map((e) => e.amount), 'each amount cell holds the same units')
  const signers = await page.$$eval('#commit tr[data-validator]', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.validator))
  const commit = await client.getCommit(height)
  t.same(signers, commit!.signatures.map((x) => x.validator), 'commit signatures equal chain_getCommit')
  await page.screenshot({ path: join(shots, 'block.png'), fullPage: true })

  // a receipt: its payouts sum to its fee; reached by navigation from the block
  const block = await client.getBlock(height, { full: true })
  // a receipt that names contributions (the diagram then has contributor payees), else the first
  type BodyReceipts = { receipts?: { attribution: unknown[] }[] }
  const attributed = (x: { type: string; body: unknown }): number => (x.type === 'submitReceipts' ? ((x.body as BodyReceipts).receipts ?? []).findIndex((r) => r.attribution.length > 0) : -1)
  const receiptTx = block!.txs.find((x) => attributed(x) >= 0) ?? block!.txs.find((x) => x.type === 'submitReceipts')!
  await page.click(`a[href="#/tx/${receiptTx.hash}"]`)
  await page.waitForFunction(() => document.body.dataset.view === 'tx' && document.body.dataset.ready === 'true')
  await page.locator('a[href^="#/receipt/"]').nth(Math.max(0, attributed(receiptTx))).click()
  await page.waitForFunction(() => document.body.dataset.view === 'receipt' && document.body.dataset.ready === 'true')
  const receipt = await page.evaluate(() => ({
    fee: document.getElementById('fee')!.dataset.value!,
    amounts: [...document.querySelectorAll('#payouts tr[data-amount]')].map((tr) => tr.dataset.amount!),
    id: location.hash.split('/')[2],
  }))
  t.equal(receipt.amounts.reduce((a, x) => a + BigInt(x), 0n).toString(), receipt.fee, 'the receipt page\'s payouts sum to its fee')
  const r = await client.call<{ fee: string; payouts: { amount: string }[] }>('receipt_get', [receipt.id])
  t.equal(receipt.fee, r.fee, 'the fee shown is receipt_get\'s')
  t.same(receipt.amounts, r.payouts.map((p) => p.amount), 'the payouts shown are receipt_get\'s')

  // the receipt's flow diagram (d3-sankey over attribution_explain): every unit of the fee, exactly once
  await page.waitForSelector('#sankey svg.sankey', { timeout: 30_000 })
  const drawn = await page.evaluate(() => ({
    links: [...document.querySelectorAll('#sankey path.flow')].map((p) => ({ source: p.dataset.source!, target: p.dataset.target!, amount: p.dataset.amount! })),
    flows: [...document.querySelectorAll('#flows tr[data-amount]')].map((tr) => ({ role: tr.dataset.role!, amount: tr.dataset.amount! })),
  }))
  const sumOf = (xs: { amount: string }[]): string => xs.reduce((a, x) => a + BigInt(x.amount), 0n).toString()
  t.ok(drawn.links.length >= 2, 'the sankey has links')
  t.equal(sumOf(drawn.links.filter((l) => l.source === 'fee')), receipt.fee, 'the flows out of the fee sum to the fee')
  t.equal(sumOf(drawn.links.filter((l) => l.target.startsWith('payee:'))), receipt.fee, 'the flows into the payees sum to the fee')
  for (const roleNode of new Set(drawn.links.filter((l) => l.source === 'fee').map((l) => l.target))) {
    t.equal(sumOf(drawn.links.filter((l) => l.source === roleNode)), sumOf(drawn.links.filter((l) => l.target === roleNode)), `${roleNode}: what flows out is what flows in`)
  }
  const explained = await client.call<{ fee: string; flows: { role: string; amount: string }[] }>('attribution_explain', [receipt.id])
  t.same(drawn.flows, explained.flows.map((f) => ({ role: f.role, amount: f.amount })), 'the flows table is attribution_explain\'s')
  t.equal(sumOf(explained.flows), receipt.fee, 'attribution_explain sums to the fee')
  await page.screenshot({ path: join(shots, 'receipt.png'), fullPage: true })

  // the operator's address page, reached from the diagram: its earnings chart covers the blocks it states, and equals the distributions
  await page.click('#sankey g[data-node^="payee:operator:"] a')
  await page.waitForFunction(() => document.body.dataset.view === 'address' && document.body.dataset.ready === 'true', undefined, { timeout: 30_000 })
  await page.waitForSelector('#c-earnings .uplot', { timeout: 30_000 })
  const earned = await page.evaluate(() => {
    const c = document.getElementById('c-earnings')!
    return {
      address: location.hash.split('/')[2].toLowerCase(), from: Number(c.dataset.from), to: Number(c.dataset.to),
      rows: [...document.querySelectorAll('#window-earnings tr[data-role]')].map((tr) => ({ role: tr.dataset.role!, amount: tr.dataset.amount! })),
    }
  })
  const expectEarned = new Map<string, bigint>()
  for (let h = earned.from; h <= earned.to; h++) {
    for (const e of (await client.getDistribution(h))?.entries ?? []) {
      if (e.address === earned.address) expectEarned.set(e.role, (expectEarned.get(e.role) ?? 0n) + BigInt(e.amount))
    }
  }
  t.ok(earned.to - earned.from + 1 >= 1 && earned.to - earned.from + 1 <= 100, 'the chart covers at most 100 blocks')
  t.same(earned.rows, [...expectEarned].map(([role, amount]) => ({ role, amount: amount.toString() })), 'the address chart\'s figures equal chain_getDistribution of its blocks')
  t.ok(earned.rows.some((r) => r.role === 'operator' && BigInt(r.amount) > 0n), 'the operator earned in the window')
  await page.screenshot({ path: join(shots, 'address-operator.png'), fullPage: true })
  stop.abort()
  await streaming

  // the navigation bar reaches every list page, each with content and no error
  const pages: [string, string][] = [['Blocks', 'blocks'], ['Datanets', 'datanets'], ['Models', 'models'], ['Leaderboards', 'leaderboards'], ['Validators', 'validators'], ['Dashboard', 'dashboard']]
  for (const [label, view] of pages) {
    await page.click(`header nav >> text=${label}`)
    await page.waitForFunction((v) => document.body.dataset.view === v && document.body.dataset.ready === 'true', view, { timeout: 30_000 })
    t.equal(await page.locator('main .error').count(), 0, `${label}: no error shown`)
    t.ok((await page.locator('main table, main .cards').count()) > 0, `${label}: has content`)
    await page.screenshot({ path: join(shots, `${view}.png`), fullPage: true })
  }
  // detail pages reached by clicking through
  await page.click('header nav >> text=Datanets')
  await page.waitForFunction(() => document.body.dataset.view === 'datanets' && document.body.dataset.ready === 'true')
  await page.click('main a[href^="#/datanet/"]')
  await page.waitForFunction(() => document.body.dataset.view === 'datanet' && document.body.dataset.ready === 'true')
  t.ok(await page.locator('main td >> text=rejected').count() >= 0, 'datanet page lists contributions')
  await page.click('main a[href^="#/contribution/"]')
  await page.waitForFunction(() => document.body.dataset.view === 'contribution' && document.body.dataset.ready === 'true')
  await page.click('main a[href^="#/address/"]')
  await page.waitForFunction(() => document.body.dataset.view === 'address' && document.body.dataset.ready === 'true')
  t.equal(await page.locator('main .error').count(), 0, 'address page: no error')
  await page.screenshot({ path: join(shots, 'address.png'), fullPage: true })

  t.same(problems, [], 'no console errors')
  t.comment(`screenshots: ${shots}`)
})

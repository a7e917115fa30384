import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { explorerRoutes } from '../../../node/explorer.js'

/** The explorer's assets on a bare HTTP server: the page, uPlot, and d3-sankey bundled by esbuild on first request. */
t.test('the explorer serves its page and a d3-sankey ES module bundled by esbuild', async (t) => {
  const { rootPage, routes } = explorerRoutes()
  const server: Server = createServer((req, res) => {
    const route = req.url === '/' ? rootPage : routes[req.url ?? '']
    if (route) route(req, res)
    else res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const page = await fetch(`${base}/`)
  t.equal(page.status, 200, 'GET / answers')
  t.match(await page.text(), '/explorer/app.js', 'the page loads the app')

  const [a, b] = await Promise.all([fetch(`${base}/explorer/vendor/d3-sankey.js`), fetch(`${base}/explorer/vendor/d3-sankey.js`)])
  t.equal(a.status, 200, 'the bundle is served')
  t.match(a.headers.get('content-type'), 'text/javascript', 'as JavaScript')
  t.match(a.headers.get('content-security-policy'), "default-src 'self'", 'with the page\'s security headers')
  const js = await a.text()
  t.equal(await b.text(), js, 'concurrent first requests get the same bundle (built once)')
  t.match(js, /export\s*\{[^}]*\bas sankey\b/, 'an ES module exporting sankey')
  t.match(js, /\bas sankeyLinkHorizontal\b/, 'and sankeyLinkHorizontal')
  t.notMatch(js, /from\s*["']d3-/, 'no bare import left for the browser to resolve')
  t.equal((await fetch(`${base}/explorer/vendor/d3-sankey.js`, { method: 'POST' })).status, 405, 'POST is refused')
})

import t from 'tap'
import http from 'node:http'
import { WebSocket } from 'ws'
import { RpcServer } from '../../../rpc/server.js'
import { explorerRoutes } from '../../../node/explorer.js'

/** A raw HTTP request with chosen Host and Origin headers (fetch does not let a caller set Host). */
function request(port: number, opts: { method: string; path?: string; host?: string; origin?: string; body?: string }): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: opts.host ?? `127.0.0.1:${port}`, 'content-type': 'application/json' }
    if (opts.origin) headers.origin = opts.origin
    const req = http.request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

const STATUS = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chain_status', params: [] })
const methods = [{ name: 'chain_status', summary: 's', params: [], result: { type: 'object' as const }, handler: () => ({ height: 1 }) }]

t.test('GET / serves the explorer page and its assets; POST / stays JSON-RPC', async (t) => {
  const ex = explorerRoutes()
  const server = new RpcServer({ port: 0 }, { methods, rootPage: ex.rootPage, extraRoutes: ex.routes })
  const { port } = await server.start()
  t.teardown(() => server.stop())
  const page = await request(port, { method: 'GET' })
  t.equal(page.status, 200)
  t.match(page.type, /text\/html/)
  t.match(page.text, /<script type="module" src="\/explorer\/app.js">/)
  for (const path of ['/explorer/app.js', '/explorer/style.css', '/explorer/vendor/uPlot.esm.js', '/explorer/vendor/uPlot.min.css']) {
    const a = await request(port, { method: 'GET', path })
    t.equal(a.status, 200, `${path} is served`)
  }
  t.equal((await request(port, { method: 'GET', path: '/explorer/missing.js' })).status, 404)
  t.equal((await request(port, { method: 'DELETE', path: '/explorer/app.js' })).status, 405)
  const rpc = await request(port, { method: 'POST', body: STATUS })
  t.same(JSON.parse(rpc.text).result, { height: 1 }, 'POST / is still JSON-RPC')
})

t.test('a page of this server may call it from its loopback origin; any other origin is refused (DNS rebinding)', async (t) => {
  const ex = explorerRoutes()
  const server = new RpcServer({ port: 0 }, { methods, rootPage: ex.rootPage, extraRoutes: ex.routes })
  const { port } = await server.start()
  t.teardown(() => server.stop())
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
    const r = await request(port, { method: 'POST', host, origin: `http://${host}`, body: STATUS })
    t.equal(r.status, 200, `same origin ${host} is served`)
  }
  const rebinding = await request(port, { method: 'POST', host: `evil.example:${port}`, origin: `http://evil.example:${port}`, body: STATUS })
  t.equal(rebinding.status, 403, 'a rebinding page (foreign Host, same-looking origin) is refused')
  const foreign = await request(port, { method: 'POST', origin: 'http://evil.example', body: STATUS })
  t.equal(foreign.status, 403, 'a foreign origin is refused')
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { origin: `http://127.0.0.1:${port}` })
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  ws.close()
  t.pass('a same-origin WebSocket opens')
  const bad = new WebSocket(`ws://127.0.0.1:${port}/`, { origin: 'http://evil.example' })
  const refused = await new Promise<boolean>((resolve) => { bad.once('open', () => resolve(false)); bad.once('error', () => resolve(true)) })
  t.ok(refused, 'a foreign-origin WebSocket is refused')
})

t.test('without a root page, GET / is 405 and a loopback origin is not trusted', async (t) => {
  const server = new RpcServer({ port: 0 }, { methods })
  const { port } = await server.start()
  t.teardown(() => server.stop())
  t.equal((await request(port, { method: 'GET' })).status, 405)
  const r = await request(port, { method: 'POST', origin: `http://127.0.0.1:${port}`, body: STATUS })
  t.equal(r.status, 403)
})

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * The explorer (issue 16): a single page served by the node on its RPC port,
 * `GET /`, with its scripts under `/explorer/`. Plain ES modules, no build
 * step: the page is node/explorer/*, the chart library is uPlot's ES module
 * straight from node_modules, so `npm install` is all it needs. d3-sankey
 * (the receipt page's flow diagram) ships CommonJS/UMD and bare imports of
 * d3-array and d3-shape, so it is bundled into one ES module by esbuild on
 * the first request for it (node/explorer/sankey.entry.js; tens of ms, once
 * per process; the node's start-up does not pay it). The page
 * reads the node's JSON-RPC and WebSocket subscriptions on the same origin
 * (rpc/server.ts `rootPage` lets a loopback page of this server call it).
 */
type Route = (req: IncomingMessage, res: ServerResponse) => void

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

interface Asset {
  file: string
  type: string
}

const ASSETS: Record<string, Asset> = {
  '/explorer/app.js': { file: join(here, 'explorer', 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/explorer/style.css': { file: join(here, 'explorer', 'style.css'), type: 'text/css; charset=utf-8' },
  '/explorer/flowGraph.js': { file: join(here, 'explorer', 'flowGraph.js'), type: 'text/javascript; charset=utf-8' },
  '/explorer/vendor/uPlot.esm.js': { file: join(dirname(require.resolve('uplot')), 'uPlot.esm.js'), type: 'text/javascript; charset=utf-8' },
  '/explorer/vendor/uPlot.min.css': { file: join(dirname(require.resolve('uplot')), 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
}

const INDEX: Asset = { file: join(here, 'explorer', 'index.html'), type: 'text/html; charset=utf-8' }

/** The page refuses to be framed and loads nothing from elsewhere. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
}

/** d3-sankey bundled by esbuild (node/explorer/sankey.entry.js), built on first request and kept. */
let sankeyBundle: Promise<Buffer> | null = null
function bundleSankey(): Promise<Buffer> {
  sankeyBundle ??= import('esbuild').then(async (esbuild) => {
    const out = await esbuild.build({
      entryPoints: [join(here, 'explorer', 'sankey.entry.js')], bundle: true, format: 'esm', platform: 'browser',
      target: 'es2020', minify: true, write: false, logLevel: 'silent', legalComments: 'inline',
    })
    return Buffer.from(out.outputFiles[0].contents)
  })
  sankeyBundle.catch(() => { sankeyBundle = null }) // a failed build is retried on the next request
  return sankeyBundle
}

const serveSankey: Route = (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end()
    return
  }
  bundleSankey().then((body) => {
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS })
    res.end(req.method === 'HEAD' ? undefined : body)
  }, (e: Error) => {
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`could not bundle d3-sankey with esbuild: ${e.message}\nReinstall the dependencies (npm ci) and restart the node.\n`)
  })
}

function serve(asset: Asset): Route {
  // read once: the files are small and only change with the installed version
  const body = readFileSync(asset.file)
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end()
      return
    }
    res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': body.length, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}

/** `{rootPage, routes}` for RpcServer: the page on GET / and its assets by exact path. */
export function explorerRoutes(): { rootPage: Route; routes: Record<string, Route> } {
  const routes: Record<string, Route> = Object.fromEntries(Object.entries(ASSETS).map(([path, a]) => [path, serve(a)]))
  routes['/explorer/vendor/d3-sankey.js'] = serveSankey
  return { rootPage: serve(INDEX), routes }
}

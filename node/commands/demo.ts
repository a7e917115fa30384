import { resolve } from 'node:path'
import { defaultDevnetOptions } from '../devnet.js'
import { command, usage, HELP } from './command.js'
import { argUint } from './args.js'

/** `attrchain demo`: the first five minutes (node/demo.ts, loaded only when run). */

/** The demo's own devnet dir: `npm run devnet` keeps a 4-validator chain in `.devnet`, and the demo's 1-validator genesis differs. */
const DEMO_HOME = '.devnet-demo'

export const demoCommand = command({
  name: 'demo', args: '', minArgs: 0, maxArgs: 0,
  summary: 'The first five minutes: start a devnet unless one runs, seed Datanets, contributions, models, operators and payers, stream receipts, print the explorer URL',
  details: 'Uses the public dev accounts. Without a node at --rpc, a 1-validator devnet is started in --home (kept unless --reset) and stopped with the demo.',
  options: {
    rpc: { type: 'string', arg: 'URL', desc: 'node to use (default http://127.0.0.1:8545)' },
    rate: { type: 'string', arg: 'N', desc: 'receipts per second to stream (default 20)' },
    validators: { type: 'string', arg: 'N', desc: 'validators of the devnet started (default 1)' },
    home: { type: 'string', arg: 'DIR', desc: `devnet dir when one is started (default ${DEMO_HOME}: not ${defaultDevnetOptions.home}, whose 4-validator devnet has another genesis)` },
    reset: { type: 'boolean', desc: 'start the devnet from a fresh chain' },
    ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const rpc = v.rpc ?? `http://127.0.0.1:${defaultDevnetOptions.rpcPort}`
    let rpcPort: number
    try {
      rpcPort = Number(new URL(rpc).port) || 80
    } catch {
      usage(`--rpc ${rpc} is not a URL (e.g. http://127.0.0.1:8545)`)
    }
    const { runDemo } = await import('../demo.js')
    return runDemo({
      rpc, rate: argUint(v.rate, '--rate') ?? 20,
      devnet: { ...defaultDevnetOptions, rpcPort, validators: argUint(v.validators, '--validators') ?? 1, home: resolve(v.home ?? DEMO_HOME), reset: Boolean(v.reset) },
    }, { stdout: ctx.io.stdout, stderr: ctx.io.stderr, stopSignal: ctx.io.stopSignal, env: ctx.io.env, tty: Boolean(process.stdout.isTTY) })
  },
})

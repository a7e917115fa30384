import { resolve } from 'node:path'
import { runDevnet, defaultDevnetOptions } from '../devnet.js'
import { progressLine, NO_PROGRESS } from '../progress.js'
import { command, usage, JSON_OPT, HELP } from './command.js'
import { argUint } from './args.js'

/** `attrchain devnet`: write a local devnet's genesis and homes and run its nodes (node/devnet.ts). */

/** `--name N` as an integer of at least `min`, or undefined when not given. */
function atLeast(v: string | undefined, name: string, min: number): number | undefined {
  const n = argUint(v, `--${name}`)
  if (n !== undefined && n < min) usage(`--${name} must be at least ${min}`)
  return n
}

export const devnetCommand = command({
  name: 'devnet', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Run a local devnet: write genesis and homes, start the nodes, print dev keys and endpoints',
  details: 'Dev keys are deterministic and public (README, "Quickstart"). An existing --home is reused (chain data kept) unless --reset.',
  options: {
    validators: { type: 'string', arg: 'N', desc: `number of validators (default ${defaultDevnetOptions.validators})` },
    accounts: { type: 'string', arg: 'M', desc: `funded dev accounts (default ${defaultDevnetOptions.accounts})` },
    home: { type: 'string', arg: 'DIR', desc: `devnet dir, one home per node in DIR/nodeI (default ${defaultDevnetOptions.home})` },
    'rpc-port': { type: 'string', arg: 'P', desc: `RPC port of node 0; node i gets P+i (default ${defaultDevnetOptions.rpcPort})` },
    'p2p-port': { type: 'string', arg: 'Q', desc: `p2p port of node 0; node i gets Q+i (default ${defaultDevnetOptions.p2pPort})` },
    'block-time': { type: 'string', arg: 'MS', desc: `block interval (default ${defaultDevnetOptions.blockTimeMs})` },
    reset: { type: 'boolean', desc: 'delete DIR first: a fresh chain' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const d = defaultDevnetOptions
    return runDevnet({
      validators: atLeast(v.validators, 'validators', 1) ?? d.validators, accounts: atLeast(v.accounts, 'accounts', 0) ?? d.accounts,
      home: resolve(v.home ?? d.home), rpcPort: atLeast(v['rpc-port'], 'rpc-port', 1) ?? d.rpcPort, p2pPort: atLeast(v['p2p-port'], 'p2p-port', 1) ?? d.p2pPort,
      blockTimeMs: atLeast(v['block-time'], 'block-time', 0) ?? d.blockTimeMs, reset: Boolean(v.reset), json: Boolean(v.json), readyTimeoutMs: d.readyTimeoutMs,
    }, {
      stdout: (s) => ctx.io.stdout(s + '\n'), stderr: (s) => ctx.io.stderr(s + '\n'), stopSignal: ctx.io.stopSignal, env: ctx.io.env,
      progress: v.json && !ctx.io.stderrTty ? NO_PROGRESS : progressLine(ctx.io.stderr, Boolean(ctx.io.stderrTty)),
    })
  },
})

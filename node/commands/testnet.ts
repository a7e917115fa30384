import { resolve } from 'node:path'
import { writeTestnet, defaultTestnetOptions, summaryJson, summaryLines, parseStakes, readParamsArg } from '../testnet.js'
import { command, usage, JSON_OPT, HELP } from './command.js'
import { argUint } from './args.js'
import { output } from './render.js'

/** `attrchain testnet`: write the homes of a multi-machine network (node/testnet.ts); starts nothing. */
export const testnetCommand = command({
  name: 'testnet', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Write the homes of a multi-machine network: N validators and M full nodes over --hosts, one genesis, persistent peers',
  details: 'Nothing is started. Copy each DIR/<node> to its host and run "attrchain start --home <node>" there (README, "Run a network on several machines").',
  options: {
    hosts: { type: 'string', arg: 'H1,H2,…', desc: 'IPv4 addresses or DNS names; node k runs on host k mod the number of hosts (required)' },
    validators: { type: 'string', arg: 'N', desc: `validators (default ${defaultTestnetOptions.validators})` },
    'full-nodes': { type: 'string', arg: 'M', desc: 'full nodes (default 0)' },
    output: { type: 'string', short: 'o', arg: 'DIR', desc: 'where to write the homes (required; must be empty unless --force)' },
    'chain-id': { type: 'string', arg: 'ID', desc: `chain id (default ${defaultTestnetOptions.chainId})` },
    stakes: { type: 'string', arg: 'AMOUNTS', desc: 'self-stake of every validator, or one per validator, comma-separated (default 100000OPEN)' },
    'validator-balance': { type: 'string', arg: 'AMOUNT', desc: 'liquid balance of each validator account (default 10000OPEN)' },
    accounts: { type: 'string', arg: 'K', desc: `extra funded accounts, keys in DIR/accounts.json (default ${defaultTestnetOptions.accounts})` },
    'account-balance': { type: 'string', arg: 'AMOUNT', desc: 'balance of each extra account (default 1000000OPEN)' },
    params: { type: 'string', arg: 'FILE|JSON', desc: 'genesis params overriding the defaults, e.g. \'{"maxValidators":50}\'' },
    'genesis-time': { type: 'string', arg: 'TIME', desc: 'RFC 3339 genesis time (default: now); no block is made before it' },
    'p2p-port': { type: 'string', arg: 'P', desc: `p2p port of the first node on a host; the k-th node on a host gets P+k (default ${defaultTestnetOptions.p2pPort})` },
    'rpc-port': { type: 'string', arg: 'R', desc: `RPC port, likewise (default ${defaultTestnetOptions.rpcPort})` },
    force: { type: 'boolean', desc: 'replace a non-empty --output' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const d = defaultTestnetOptions
    if (!v.hosts) usage('--hosts is required, e.g. --hosts 10.0.0.1,10.0.0.2')
    if (!v.output) usage('--output DIR is required')
    const dir = resolve(v.output)
    const amount = (given: string | undefined, dflt: bigint): bigint => (given === undefined ? dflt : parseStakes(given)[0])
    const layout = await writeTestnet({
      hosts: v.hosts.split(',').map((h) => h.trim()).filter(Boolean),
      validators: argUint(v.validators, '--validators') ?? d.validators,
      fullNodes: argUint(v['full-nodes'], '--full-nodes') ?? d.fullNodes,
      output: dir, chainId: v['chain-id'] ?? d.chainId,
      stakes: v.stakes === undefined ? d.stakes : parseStakes(v.stakes),
      validatorBalance: amount(v['validator-balance'], d.validatorBalance),
      accounts: argUint(v.accounts, '--accounts') ?? d.accounts,
      accountBalance: amount(v['account-balance'], d.accountBalance),
      params: v.params === undefined ? d.params : readParamsArg(v.params),
      genesisTime: v['genesis-time'],
      p2pPort: argUint(v['p2p-port'], '--p2p-port') ?? d.p2pPort,
      rpcPort: argUint(v['rpc-port'], '--rpc-port') ?? d.rpcPort,
      force: Boolean(v.force),
    })
    output(ctx, summaryJson(layout), () => summaryLines(layout, dir).join('\n'))
    return 0
  },
})

import { command, usage, rpcUrlOf, RPC, JSON_OPT, HELP, type CliIo, type Opts } from './command.js'
import { argUint } from './args.js'
import { output } from './render.js'
import type { L1Options } from '../rollupRelay.js'

/**
 * The command lines of `attrchain rollup deploy` and `attrchain rollup
 * relay`; what they do is node/rollupRelay.ts, loaded when one runs (viem
 * is a large part of a CLI process's start-up otherwise).
 */

const L1_OPTS = {
  l1: { type: 'string', arg: 'URL', desc: 'the L1 (EVM) JSON-RPC URL' },
  key: { type: 'string', arg: '0xKEY', desc: 'the L1 account that pays the gas (default: $ATTRCHAIN_L1_KEY, else anvil\'s dev account 0: local L1s only)' },
} as const satisfies Opts

/** --l1 (required), --key (else $ATTRCHAIN_L1_KEY, else `devKey`: DEV_L1_KEY) and the chain's RPC URL. */
function l1Of(ctx: { io: CliIo; values: { l1?: string; key?: string; rpc?: string } }, devKey: string): L1Options & { rpc: string } {
  const { l1, key } = ctx.values
  if (l1 === undefined) usage('--l1 URL is required')
  return { l1, key: key ?? ctx.io.env.ATTRCHAIN_L1_KEY ?? devKey, rpc: rpcUrlOf(ctx) }
}

const loadRelay = () => import('../rollupRelay.js')

/** The command lines of `attrchain rollup deploy` and `attrchain rollup relay`. */
export const rollupCommands = [command({
  name: 'rollup deploy', args: '', minArgs: 0, maxArgs: 0, options: { ...L1_OPTS, ...RPC, ...JSON_OPT, ...HELP },
  summary: 'Deploy the checkpoint contract on the L1 with the checkpoint set that signs the chain\'s next checkpoint; prints its address',
  run: async (ctx) => {
    const { deployCheckpoints, DEV_L1_KEY } = await loadRelay()
    const r = await deployCheckpoints(l1Of(ctx, DEV_L1_KEY))
    output(ctx, { ...r, gasUsed: r.gasUsed.toString() }, () => `contract ${r.contract} on L1 chain ${r.l1ChainId}: checkpoints of ${r.chainId} after height ${r.startHeight}, ${r.signers} signers (set ${r.validatorSetHash}), gas ${r.gasUsed}`)
    return 0
  },
}), command({
  name: 'rollup relay', args: '', minArgs: 0, maxArgs: 0,
  options: { ...L1_OPTS, contract: { type: 'string', arg: 'ADDR', desc: 'the checkpoint contract (from rollup deploy)' }, ...RPC, poll: { type: 'string', arg: 'MS', desc: 'wait between polls (default 2000)' }, ...JSON_OPT, ...HELP },
  summary: 'Follow the chain and submit each checkpoint with > 2/3 of its signers\' power to the contract, validator-set changes included; restartable',
  run: async (ctx) => {
    const { contract } = ctx.values
    if (contract === undefined) usage('--contract ADDR is required')
    const { runRelay, DEV_L1_KEY } = await loadRelay()
    return runRelay({ ...l1Of(ctx, DEV_L1_KEY), contract, pollMs: argUint(ctx.values.poll, '--poll') ?? 2000, json: Boolean(ctx.values.json) }, {
      stdout: (s) => ctx.io.stdout(s + '\n'), stderr: (s) => ctx.io.stderr(s + '\n'), stopSignal: ctx.io.stopSignal(),
    })
  },
})]

import type { AttrchainClient, ContributionStatus } from '../../rpc/index.js'
import { command, usage, clientOf, CliError, RPC, JSON_OPT, HELP, type Command, type Ctx, type Opts } from './command.js'
import { argAddress, argHash, argHeight, argUint } from './args.js'
import { output } from './render.js'

/** `attrchain query <what> …`: read chain state over JSON-RPC (rpc/client.ts), one command per read. */

function found<T>(value: T | null, what: string): T {
  if (value === null) throw new CliError('CLI_ERROR_NOT_FOUND', `${what} not found`)
  return value
}

const PAGE = {
  offset: { type: 'string', arg: 'N', desc: 'skip the first N' },
  limit: { type: 'string', arg: 'N', desc: 'at most N (default 100, max 1000)' },
} as const satisfies Opts
const OWNER = { owner: { type: 'string', arg: 'ADDR', desc: 'only those owned by ADDR' } } as const satisfies Opts
const QUERY_OPTS = { ...RPC, ...JSON_OPT, ...HELP } as const satisfies Opts

function pageOf(ctx: { values: { offset?: string; limit?: string; owner?: string } }): { offset?: number; limit?: number; owner?: string } {
  const { offset, limit, owner } = ctx.values
  return {
    ...(offset !== undefined ? { offset: argUint(offset, '--offset') } : {}),
    ...(limit !== undefined ? { limit: argUint(limit, '--limit') } : {}),
    ...(owner !== undefined ? { owner: argAddress(owner, '--owner') } : {}),
  }
}

/** `--offset` and `--limit` only. */
function offsetLimit(ctx: { values: { offset?: string; limit?: string } }): { offset?: number; limit?: number } {
  const { offset, limit } = pageOf(ctx)
  return { ...(offset !== undefined ? { offset } : {}), ...(limit !== undefined ? { limit } : {}) }
}

/** A query command: `fetch` gets the client and the context typed with the extra options `extra`. */
function query<const E extends Opts = Record<never, never>>(
  name: string, args: string, summary: string, fetch: (c: AttrchainClient, ctx: Ctx<E & typeof QUERY_OPTS>) => Promise<unknown>, extra?: E,
): Command {
  const n = args.split(' ').filter(Boolean)
  const required = n.filter((a) => !a.startsWith('[')).length
  return command({
    name: `query ${name}`, args, summary, minArgs: required, maxArgs: n.length, options: { ...(extra ?? ({} as E)), ...QUERY_OPTS },
    async run(ctx) {
      // the same object seen through the options every query has (tsc cannot resolve Values<E & …> for a generic E)
      const common = ctx as unknown as Ctx<typeof QUERY_OPTS>
      output(common, await fetch(clientOf(common), ctx))
      return 0
    },
  })
}

export const queryCommands: Command[] = [
  query('account', 'ADDR', 'Balance, nonce, stake, unbonding and claimable rewards', (c, { args }) => c.getAccount(argAddress(args[0], 'ADDR'))),
  query('allowance', 'PAYER OPERATOR', 'What OPERATOR may still charge PAYER', (c, { args }) => c.getAllowance(argAddress(args[0], 'PAYER'), argAddress(args[1], 'OPERATOR'))),
  query('block', 'HEIGHT|latest', 'A block with its header and tx hashes', async (c, { args, values }) => {
    const h = argHeight(args[0])
    return found(values.full ? await c.getBlock(h, { full: true }) : await c.getBlock(h), `block ${h}`)
  }, { full: { type: 'boolean', desc: 'include whole txs instead of their hashes' } }),
  query('commit', 'HEIGHT|latest', 'The precommits that committed a height', async (c, { args }) => found(await c.getCommit(argHeight(args[0])), `commit ${args[0]}`)),
  query('tx', 'HASH', 'A tx with its inclusion and status', async (c, { args }) => found(await c.getTx(argHash(args[0], 'HASH')), `tx ${args[0]}`)),
  query('distribution', 'HEIGHT|latest', 'The fee distribution of a block', async (c, { args }) => found(await c.getDistribution(argHeight(args[0])), `distribution ${args[0]}`)),
  query('validators', '', 'Every validator with stake, power, commission and jail status', (c) => c.validators()),
  query('delegations', 'ADDR', 'The delegations of an address', (c, { args }) => c.delegations(argAddress(args[0], 'ADDR'))),
  query('datanet', 'ID', 'A Datanet', async (c, { args }) => found(await c.getDatanet(argHash(args[0], 'ID')), `datanet ${args[0]}`)),
  query('datanets', '', 'Datanets in creation order', (c, ctx) => c.listDatanets(pageOf(ctx)), { ...OWNER, ...PAGE }),
  query('contributions', 'DATANET', 'Contributions of a Datanet in submission order', async (c, ctx) => {
    const status = ctx.values.status
    if (status !== undefined && !isContributionStatus(status)) usage(`--status must be pending, accepted or rejected, got "${status}"`)
    const opts = { ...pageOf(ctx), ...(status ? { status } : {}) }
    return found(await c.datanetContributions(argHash(ctx.args[0], 'DATANET'), opts), `datanet ${ctx.args[0]}`)
  }, { status: { type: 'string', arg: 'STATUS', desc: 'pending, accepted or rejected' }, ...PAGE }),
  query('contribution', 'ID', 'A contribution with its receipts and earnings', async (c, { args }) => found(await c.getContribution(argHash(args[0], 'ID')), `contribution ${args[0]}`)),
  query('model', 'ID', 'A model with provenance, receipts and fees', async (c, { args }) => found(await c.getModel(argHash(args[0], 'ID')), `model ${args[0]}`)),
  query('models', '', 'Models in registration order', (c, ctx) => c.listModels(pageOf(ctx)), { ...OWNER, ...PAGE }),
  query('receipt', 'ID', 'An inference receipt with the payout of every unit of its fee', async (c, { args }) => found(await c.getReceipt(argHash(args[0], 'ID')), `receipt ${args[0]}`)),
  query('attribution', 'ADDR', 'What an address has earned, by role', (c, { args }) => c.attribution(argAddress(args[0], 'ADDR'))),
  query('explain', 'RECEIPT', 'Every flow of a receipt\'s fee with the rule that sent it there (attribution_explain)', async (c, { args }) => found(await c.explainReceipt(argHash(args[0], 'RECEIPT')), `receipt ${args[0]}`)),
  query('lineage', 'MODEL', 'A model\'s terms, parents, frozen royalty stack and children (model_lineage)', async (c, ctx) => (
    found(await c.modelLineage(argHash(ctx.args[0], 'MODEL'), offsetLimit(ctx)), `model ${ctx.args[0]}`)
  ), PAGE),
  query('trace', 'TRACE_ID', 'The receipts of one trace in chain order (receipt_trace)', (c, ctx) => c.receiptTrace(argHash(ctx.args[0], 'TRACE_ID'), offsetLimit(ctx)), PAGE),
  query('params', '', 'The chain parameters', (c) => c.params()),
]

function isContributionStatus(s: string): s is ContributionStatus {
  return s === 'pending' || s === 'accepted' || s === 'rejected'
}

import { command, clientOf, RPC, JSON_OPT, HELP } from './command.js'
import { output } from './render.js'

/** `attrchain status`: the node_status of the node at --rpc. */
export const statusCommand = command({
  name: 'status', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Chain id, head and role of the node at --rpc',
  options: { ...RPC, ...JSON_OPT, ...HELP },
  async run(ctx) {
    output(ctx, await clientOf(ctx).status())
    return 0
  },
})

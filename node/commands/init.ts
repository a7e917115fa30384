import { genesisHash } from '../../genesis/genesis.js'
import { initHome, resetChainData } from '../init.js'
import { homePaths, readGenesisFile } from '../home.js'
import { createNodeKey } from '../devnet.js'
import { command, usage, homeOf, HOME, JSON_OPT, HELP } from './command.js'
import { output, keyValues } from './render.js'

/** `attrchain init`: a new home dir (node/init.ts), or `--reset-data` of an existing one. */
export const initCommand = command({
  name: 'init', args: '', minArgs: 0, maxArgs: 0,
  summary: 'Create a home dir: config.json, genesis.json, validator and node keys',
  details: 'By default the genesis is a one-validator local chain whose validator is this node, with the ten funded dev accounts of the devnet, '
    + 'and a new chain id (attrchain-local-<8 random hex digits>): the chain id is inside every signed tx, so a tx signed for one chain is refused by every other. '
    + 'No option ever deletes a key: the keyring (keys/), validator_key.json and node_key.json are kept.',
  options: {
    ...HOME,
    'chain-id': { type: 'string', arg: 'ID', desc: 'chain id of the new genesis (default: attrchain-local-<random>, unique per init)' },
    force: { type: 'boolean', desc: 'write a new genesis and config over an existing home and delete its chain data (data/); keeps the keyring, validator and node keys' },
    'reset-data': { type: 'boolean', desc: 'only delete the chain data (data/: blocks, state, signing state, consensus WAL) so the node restarts from its genesis; keeps genesis, config and keys' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const home = homeOf(ctx)
    const paths = homePaths(home)
    if (ctx.values['reset-data']) {
      if (ctx.values.force || ctx.values['chain-id'] !== undefined) usage('--reset-data keeps the genesis: it takes neither --force nor --chain-id')
      const genesis = readGenesisFile(paths.genesis)
      const deleted = resetChainData(home)
      const result = { home, chainId: genesis.chainId, genesisHash: genesisHash(genesis), deleted }
      output(ctx, result, () => `deleted the chain data of ${home}; keys, genesis and config kept\n` + keyValues({ chainId: result.chainId, deleted }).join('\n'))
      return 0
    }
    const { validator } = initHome({ home, force: Boolean(ctx.values.force), chainId: ctx.values['chain-id'] })
    const { peerId } = await createNodeKey(paths.nodeKey)
    const genesis = readGenesisFile(paths.genesis)
    const result = { home, chainId: genesis.chainId, genesisHash: genesisHash(genesis), validator, peerId, genesis: paths.genesis, config: paths.config, nodeKey: paths.nodeKey }
    output(ctx, result, () => `initialised ${home}\n` + keyValues({ chainId: result.chainId, genesisHash: result.genesisHash, validator, peerId, genesis: paths.genesis, config: paths.config }).join('\n'))
    return 0
  },
})

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChainDb } from '../../node/db/index.js'
import { ChainService, type PreparedBlock, type ChainServiceModules } from '../../node/chain.js'
import { silentLogger } from '../../node/logger.js'
import { genesisHash, type Genesis } from '../../genesis/genesis.js'
import { makeCommit, voteSignBytes, type Commit } from '../../consensus/index.js'
import type { KeyPair } from '../../core/keys.js'
import { fromHex } from '../../core/bytes.js'

/** A ChainService over a real LevelDB in a temp dir. */
export async function openChain(genesis: Genesis, modules: Partial<ChainServiceModules> = {}): Promise<{ chain: ChainService; db: ChainDb; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-chain-'))
  const db = await ChainDb.open({ dir, genesisHash: genesisHash(genesis), chainId: genesis.chainId })
  const chain = await ChainService.open(genesis, { db, logger: silentLogger, ...modules })
  return {
    chain, db,
    close: async () => {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The commit certificate signed by `keys` (precommits for the block, round 0). */
export function signCommit(chainId: string, p: PreparedBlock, keys: KeyPair[]): Commit {
  const height = p.block.header.height
  const blockHash = fromHex(p.hash)
  const votes = keys.map((k) => {
    const unsigned = { type: 'precommit' as const, height, round: 0, blockHash, validator: k.address }
    return { ...unsigned, signature: k.sign(voteSignBytes(chainId, unsigned)) }
  })
  return makeCommit(height, 0, blockHash, votes)
}

import t from 'tap'
import { sha256 } from '../../../core/hash.js'
import { decodeSignedTx, type SignedTx } from '../../../core/tx.js'
import { CheckpointKey } from '../../../core/checkpointKey.js'
import { silentLogger } from '../../../core/logger.js'
import { devValidatorKey } from '../../../genesis/devnet.js'
import { readCheckpoint } from '../../../state/checkpoint.js'
import { CheckpointSigner, defaultCheckpointSignerOptions } from '../../../node/checkpointSigner.js'
import { MempoolError } from '../../../node/mempool.js'
import { CheckpointChain } from '../../helpers/chain.js'

const INTERVAL = 5

function setup(opts: { key?: CheckpointKey; refuseFirst?: boolean; interval?: number } = {}) {
  const c = new CheckpointChain({ validators: 4, params: { checkpointInterval: opts.interval ?? INTERVAL } })
  const sent: SignedTx[] = []
  let refused = 0
  const v0 = devValidatorKey(0)
  const signer = new CheckpointSigner(
    { chainId: c.chain.chainId, params: c.chain.params, validatorKey: v0, checkpointKey: opts.key ?? CheckpointKey.derivedFrom(v0.seed), ...defaultCheckpointSignerOptions },
    {
      state: c.store, nonce: (a) => c.q.nonce(a), logger: silentLogger,
      submitTx: async (bytes) => {
        const stx = decodeSignedTx(bytes)
        if (opts.refuseFirst && refused === 0) {
          refused++
          throw new MempoolError('MEMPOOL_ERROR_NONCE_TAKEN', 'sender already has a pending tx with this nonce', { nonce: stx.tx.nonce })
        }
        sent.push(stx)
        return stx
      },
    },
  )
  const commit = async (txs: SignedTx[] = []) => {
    c.block(txs)
    signer.onCommit(c.height)
    await new Promise((r) => setImmediate(r))
  }
  return { c, sent, signer, commit }
}

t.test('a validator node signs each checkpoint once, and again only if its tx was not included', async (t) => {
  const { c, sent, commit } = setup()
  while (c.height < INTERVAL + 1) await commit()
  t.equal(sent.length, 1, 'one signCheckpoint after the block that records checkpoint 5')
  const call = sent[0].tx.call
  t.same(call.type === 'signCheckpoint' && call.height, INTERVAL, 'for checkpoint 5')
  t.equal(sent[0].tx.fee, c.chain.params.minTxFee, 'at minTxFee')
  await commit()
  t.equal(sent.length, 1, 'nothing more while it is in flight')
  await commit([sent[0]])
  t.equal(readCheckpoint(c.store, INTERVAL)!.signatures.length, 1, 'included: the chain accepts the signature')
  for (let i = 0; i < defaultCheckpointSignerOptions.resendAfterBlocks + 2; i++) await commit()
  t.equal(sent.filter((s) => s.tx.call.type === 'signCheckpoint' && s.tx.call.height === INTERVAL).length, 1, 'a signed checkpoint is never signed again')
  t.ok(sent.some((s) => s.tx.call.type === 'signCheckpoint' && s.tx.call.height === 2 * INTERVAL), 'the next checkpoint is signed in turn')
})

t.test('a tx left out is sent again after resendAfterBlocks', async (t) => {
  // lookBack · interval longer than resendAfterBlocks, as with the defaults (4 · 100 and 20): the checkpoint is still looked at when the resend is due
  const interval = defaultCheckpointSignerOptions.resendAfterBlocks / 2
  const { c, sent, commit } = setup({ interval })
  while (c.height < interval + 1) await commit()
  const startAt = c.height
  while (c.height < startAt + defaultCheckpointSignerOptions.resendAfterBlocks) await commit()
  const forFive = sent.filter((s) => s.tx.call.type === 'signCheckpoint' && s.tx.call.height === interval)
  t.ok(forFive.length >= 2, 'sent again')
  t.equal(forFive[1].tx.nonce, forFive[0].tx.nonce, 'with the account nonce (the first one never made it into a block)')
})

t.test('a nonce held in the mempool: the next one', async (t) => {
  const { c, sent, commit } = setup({ refuseFirst: true })
  while (c.height < INTERVAL + 1) await commit()
  t.equal(sent.length, 1)
  t.equal(sent[0].tx.nonce, c.q.nonce(devValidatorKey(0).address) + 1, 'nonce + 1 after MEMPOOL_ERROR_NONCE_TAKEN')
})

t.test('a key file that is not the key the chain holds: nothing is sent', async (t) => {
  const { c, sent, commit } = setup({ key: CheckpointKey.derivedFrom(sha256('other')) })
  while (c.height < 2 * INTERVAL + 1) await commit()
  t.equal(sent.length, 0)
})

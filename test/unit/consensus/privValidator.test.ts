import t from 'tap'
import { MemoryWalStore, PrivValidator, decodeLastSigned, encodeLastSigned, type LastSigned, type WalStore } from '../../../consensus/index.js'
import { blockHash, CHAIN_ID, makeKeys } from './fixtures.js'

const key = makeKeys(1)[0]!
const A = blockHash('a')
const B = blockHash('b')
const vote = (type: 'prevote' | 'precommit', height: number, round: number, hash: Uint8Array | null) => ({ type, height, round, blockHash: hash, validator: key.address })

t.test('refuses a second, different vote for one (height, round, step), signs the identical one again', async (t) => {
  const pv = await PrivValidator.open(key, new MemoryWalStore())
  const first = await pv.signVote(CHAIN_ID, vote('prevote', 3, 1, A))
  const again = await pv.signVote(CHAIN_ID, vote('prevote', 3, 1, A))
  t.same(again.signature, first.signature)
  await t.rejects(pv.signVote(CHAIN_ID, vote('prevote', 3, 1, B)), { code: 'CONSENSUS_ERROR_DOUBLE_SIGN' })
  await t.rejects(pv.signVote(CHAIN_ID, vote('prevote', 3, 1, null)), { code: 'CONSENSUS_ERROR_DOUBLE_SIGN' })
})

t.test('never signs below the last signed (height, round, step)', async (t) => {
  const pv = await PrivValidator.open(key, new MemoryWalStore())
  await pv.signVote(CHAIN_ID, vote('precommit', 3, 1, A))
  await t.rejects(pv.signVote(CHAIN_ID, vote('prevote', 3, 1, A)), { code: 'CONSENSUS_ERROR_SIGN_REGRESSION' }, 'lower step')
  await t.rejects(pv.signVote(CHAIN_ID, vote('precommit', 3, 0, A)), { code: 'CONSENSUS_ERROR_SIGN_REGRESSION' }, 'lower round')
  await t.rejects(pv.signVote(CHAIN_ID, vote('precommit', 2, 5, A)), { code: 'CONSENSUS_ERROR_SIGN_REGRESSION' }, 'lower height')
  await t.rejects(
    pv.signProposal(CHAIN_ID, { height: 3, round: 1, validRound: -1, blockHash: A, proposer: key.address }),
    { code: 'CONSENSUS_ERROR_SIGN_REGRESSION' },
    'a proposal is step 1, below a precommit',
  )
  const next = await pv.signProposal(CHAIN_ID, { height: 3, round: 2, validRound: 1, blockHash: A, proposer: key.address })
  t.equal(next.signature.length, 64, 'a later round is fine')
})

t.test('the refusal survives a restart: the state is reloaded from the WAL store', async (t) => {
  const store = new MemoryWalStore()
  const before = await PrivValidator.open(key, store)
  const signed = await before.signVote(CHAIN_ID, vote('precommit', 9, 0, A))
  const after = await PrivValidator.open(key, store)
  t.same(after.lastSigned?.signBytes, before.lastSigned?.signBytes)
  await t.rejects(after.signVote(CHAIN_ID, vote('precommit', 9, 0, B)), { code: 'CONSENSUS_ERROR_DOUBLE_SIGN' })
  await t.rejects(after.signVote(CHAIN_ID, vote('prevote', 9, 0, B)), { code: 'CONSENSUS_ERROR_SIGN_REGRESSION' })
  t.same((await after.signVote(CHAIN_ID, vote('precommit', 9, 0, A))).signature, signed.signature, 'idempotent after restart')
})

t.test('the signature is returned only after the store is durable, and concurrent requests cannot race', async (t) => {
  const order: string[] = []
  let release: () => void = () => undefined
  const gate = new Promise<void>((r) => (release = r))
  const store: WalStore = {
    load: async () => null,
    save: async (s: LastSigned) => {
      order.push(`save ${s.height}/${s.round}/${s.step}`)
      await gate
    },
  }
  const pv = await PrivValidator.open(key, store)
  const p1 = pv.signVote(CHAIN_ID, vote('prevote', 1, 0, A)).then(() => order.push('signed prevote'))
  const p2 = pv.signVote(CHAIN_ID, vote('prevote', 1, 0, B)).catch((e: { code: string }) => order.push(e.code))
  await new Promise((r) => setImmediate(r))
  t.same(order, ['save 1/0/2'], 'nothing is returned before the save completes')
  release()
  await Promise.all([p1, p2])
  t.same(order, ['save 1/0/2', 'signed prevote', 'CONSENSUS_ERROR_DOUBLE_SIGN'])
})

t.test('refuses to sign for another validator; last-signed state round-trips', async (t) => {
  const pv = await PrivValidator.open(key, new MemoryWalStore())
  const other = makeKeys(2, 'other')[1]!
  await t.rejects(pv.signVote(CHAIN_ID, { ...vote('prevote', 1, 0, A), validator: other.address }), { code: 'CONSENSUS_ERROR_NOT_A_VALIDATOR' })
  await pv.signVote(CHAIN_ID, vote('prevote', 1, 0, A))
  t.same(decodeLastSigned(encodeLastSigned(pv.lastSigned!)), pv.lastSigned)
  t.throws(() => decodeLastSigned(new Uint8Array([0x90])), { code: 'CONSENSUS_ERROR_MALFORMED' })
})

import t from 'tap'
import { encode, decode } from '../../../core/codec.js'
import { decodeCall, encodeCall, TX_TYPES, type TxCall } from '../../../core/tx.js'
import { UNITS_PER_OPEN } from '../../../core/amount.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import {
  txBuilders, transfer, createValidator, stake, unstake, delegate, undelegate, unjail, registerDatanet, contribute,
  reviewContribution, registerModel, approveOperator, submitReceipts, claim, setModelTerms, setDatanetTerms, receiptsFromJson, toUnits,
  setCheckpointKey, signCheckpoint,
} from '../../../rpc/txBuilders.js'

const ADDR = '0x' + 'Ab'.repeat(20)
const addr = ADDR.toLowerCase()
const ID1 = toHex(sha256('id-1'))
const ID2 = toHex(sha256('id-2'))
const OPEN = UNITS_PER_OPEN

/** What the node will decode from the builder's call: the builder must round-trip exactly. */
function roundTrip(call: TxCall): TxCall {
  return decodeCall(call.type, decode(encode(encodeCall(call))))
}

t.test('one builder per tx type, arguments in body order, human amounts', async (t) => {
  const cases: [TxCall, TxCall][] = [
    [transfer(ADDR, '1.5OPEN'), { type: 'transfer', to: addr, amount: 15n * OPEN / 10n }],
    [createValidator('10000 OPEN', 'v1', 500), { type: 'createValidator', amount: 10_000n * OPEN, moniker: 'v1', commissionBps: 500 }],
    [stake(7n), { type: 'stake', amount: 7n }],
    [unstake('42'), { type: 'unstake', amount: 42n }],
    [delegate(ADDR, '0.000000000000000001OPEN'), { type: 'delegate', validator: addr, amount: 1n }],
    [undelegate(ADDR, '2OPEN'), { type: 'undelegate', validator: addr, amount: 2n * OPEN }],
    [unjail(), { type: 'unjail' }],
    [registerDatanet('faces', 'ipfs://x', '0.5OPEN'), { type: 'registerDatanet', name: 'faces', metadataUri: 'ipfs://x', contributionBond: OPEN / 2n }],
    [contribute(ID1, sha256('data'), 'ipfs://d'), { type: 'contribute', datanetId: ID1, dataHash: toHex(sha256('data')), metadataUri: 'ipfs://d' }],
    [reviewContribution(ID1, true, 3), { type: 'reviewContribution', contributionId: ID1, accept: true, weight: 3 }],
    [reviewContribution(ID2, false), { type: 'reviewContribution', contributionId: ID2, accept: false, weight: 0 }],
    [
      registerModel('m', 'llama', [[ID1, 2], { datanetId: ID2, weight: 1 }], '0.01OPEN'),
      { type: 'registerModel', name: 'm', baseModel: 'llama', datanets: [{ datanetId: ID1, weight: 2 }, { datanetId: ID2, weight: 1 }], minFee: OPEN / 100n },
    ],
    [approveOperator(ADDR, 0n), { type: 'approveOperator', operator: addr, amount: 0n }],
    [
      submitReceipts([
        { modelId: ID1, payer: ADDR, fee: '1OPEN', inputHash: ID2, outputHash: ID1, attribution: [[ID2, 5]] },
        { modelId: ID1, payer: ADDR, fee: 3n, inputHash: ID2, outputHash: ID1 },
      ]),
      {
        type: 'submitReceipts', receipts: [
          { modelId: ID1, payer: addr, fee: OPEN, inputHash: ID2, outputHash: ID1, attribution: [{ contributionId: ID2, weight: 5 }] },
          { modelId: ID1, payer: addr, fee: 3n, inputHash: ID2, outputHash: ID1, attribution: [] },
        ],
      },
    ],
    [claim(), { type: 'claim' }],
    [setModelTerms(ID1, 1000, false), { type: 'setModelTerms', modelId: ID1, derivativeRoyaltyBps: 1000, allowDerivatives: false }],
    [setDatanetTerms(ID2, 500), { type: 'setDatanetTerms', datanetId: ID2, curatorBps: 500 }],
    [setCheckpointKey(ADDR), { type: 'setCheckpointKey', ethAddress: addr }],
    [signCheckpoint(100, `0x${'cd'.repeat(65)}`), { type: 'signCheckpoint', height: 100, signature: `0x${'cd'.repeat(65)}` }],
    [contribute(ID1, ID2, 'ipfs://g', ID1), { type: 'contribute', datanetId: ID1, dataHash: ID2, metadataUri: 'ipfs://g', sourceModelId: ID1 }],
    [
      registerModel('ft', 'm', [[ID1, 1]], 0n, [ID2]),
      { type: 'registerModel', name: 'ft', baseModel: 'm', datanets: [{ datanetId: ID1, weight: 1 }], minFee: 0n, parents: [ID2] },
    ],
    [
      submitReceipts([{ modelId: ID1, payer: ADDR, fee: 3n, inputHash: ID2, outputHash: ID1, traceId: ID2 }]),
      { type: 'submitReceipts', receipts: [{ modelId: ID1, payer: addr, fee: 3n, inputHash: ID2, outputHash: ID1, attribution: [], traceId: ID2 }] },
    ],
  ]
  t.same(new Set(cases.map(([c]) => c.type)), new Set(TX_TYPES), 'the cases cover every tx type')
  t.same(Object.keys(txBuilders).sort(), [...TX_TYPES].sort(), 'txBuilders has exactly one builder per type')
  for (const [built, expected] of cases) {
    t.same(built, expected, `${expected.type}: builder output`)
    t.same(roundTrip(built), expected, `${expected.type}: decodes to the same call`)
  }
})

t.test('amount inputs', async (t) => {
  t.equal(toUnits('1.5 OPEN'), 15n * OPEN / 10n, 'space before the unit')
  t.equal(toUnits('1.5open'), 15n * OPEN / 10n, 'unit in any case')
  t.equal(toUnits('12'), 12n, 'bare integers are units')
  t.equal(toUnits(12n), 12n, 'bigint passes through')
  t.throws(() => toUnits(1.5 as unknown as string), { code: 'TX_BUILD_ERROR_BAD_AMOUNT' }, 'numbers are refused')
  t.throws(() => toUnits('1.5'), { code: 'TX_ERROR_BAD_AMOUNT' }, 'fractional units are refused')
  t.throws(() => transfer(ADDR, '0OPEN'), { code: 'TX_ERROR_BAD_AMOUNT' }, 'a transfer of zero is statically invalid')
})

t.test('bad arguments fail in the builder with the argument named', async (t) => {
  t.throws(() => transfer('0x1234', 1n), { code: 'CODEC_ERROR_BAD_ADDRESS', meta: { field: 'to' } }, 'short address')
  t.throws(() => contribute('0xabcd', ID1, 'u'), { code: 'CODEC_ERROR_BAD_LENGTH', meta: { field: 'datanetId' } }, 'short id')
  t.throws(() => reviewContribution(ID1, true, 0), { code: 'TX_ERROR_BAD_INTEGER' }, 'acceptance needs a weight')
  t.throws(() => registerModel('m', 'b', [], 1n), { code: 'TX_ERROR_BAD_PROVENANCE' }, 'a model needs a Datanet')
  t.throws(() => submitReceipts([]), { code: 'TX_ERROR_TOO_MANY_RECEIPTS' }, 'at least one receipt')
  t.throws(
    () => submitReceipts([{ modelId: ID1, payer: ADDR, fee: 1n, inputHash: ID1, outputHash: '0x00', attribution: [] }]),
    { code: 'CODEC_ERROR_BAD_LENGTH', meta: { field: 'receipts[0].outputHash' } }, 'receipt field named with its index',
  )
})

t.test('receipts from JSON: objects, arrays in body order, a single receipt', async (t) => {
  const obj = { modelId: ID1, payer: ADDR, fee: '1OPEN', inputHash: ID2, outputHash: ID1, attribution: [[ID2, 1]] }
  const arr = [ID1, ADDR, '1OPEN', ID2, ID1, [[ID2, 1]]]
  const a = submitReceipts(receiptsFromJson([obj]))
  t.same(submitReceipts(receiptsFromJson([arr])), a, 'array form equals object form')
  t.same(submitReceipts(receiptsFromJson(obj)), a, 'one receipt without the surrounding array')
  t.throws(() => receiptsFromJson([{ ...obj, fee: 1 }]), { code: 'TX_BUILD_ERROR_BAD_RECEIPT' }, 'numeric fee refused')
  t.throws(() => receiptsFromJson([42]), { code: 'TX_BUILD_ERROR_BAD_RECEIPT' }, 'non-object receipt refused')
})

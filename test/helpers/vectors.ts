/**
 * Generator of the interop vectors in test/vectors/txs.json (DESIGN §2, §3).
 * Run once with `npx tsx test/helpers/vectors.ts`; the vectors are then
 * pinned, and test/unit/core/vectors.test.ts checks that the code still
 * produces every byte of them.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { KeyPair } from '../../core/keys.js'
import { sha256 } from '../../core/hash.js'
import { toHex } from '../../core/bytes.js'
import { encodeCall, encodeUnsigned, signingDigest, signTx, type TxCall } from '../../core/tx.js'
import type { Encodable } from '../../core/codec.js'
import { h32 } from './chain.js'

export interface TxVector {
  description: string
  seed: string
  pubKey: string
  sender: string
  chainId: string
  nonce: number
  fee: string
  type: string
  /** the body array in JSON: amounts as decimal strings, byte fields as 0x-hex, integers as numbers */
  body: unknown
  unsignedHex: string
  signingDigest: string
  signature: string
  signedHex: string
  txHash: string
}

export function bodyToJson(e: Encodable): unknown {
  if (e instanceof Uint8Array) return toHex(e)
  if (Array.isArray(e)) return e.map(bodyToJson)
  if (typeof e === 'bigint') return e.toString()
  return e
}

const seedOf = (label: string) => sha256(label)

function vector(description: string, seedLabel: string, nonce: number, fee: bigint, call: TxCall, chainId = 'attrchain-devnet'): TxVector {
  const seed = seedOf(seedLabel)
  const key = new KeyPair(seed)
  const tx = { chainId, nonce, fee, call }
  const unsigned = encodeUnsigned(tx)
  const stx = signTx(tx, key)
  return {
    description, seed: toHex(seed), pubKey: toHex(key.publicKey), sender: key.address, chainId, nonce, fee: fee.toString(),
    type: call.type, body: bodyToJson(encodeCall(call)), unsignedHex: toHex(unsigned), signingDigest: toHex(signingDigest(unsigned)),
    signature: toHex(stx.signature), signedHex: toHex(stx.bytes), txHash: stx.hash,
  }
}

export function buildVectors(): TxVector[] {
  const acct = (k: number) => `attrchain/devnet/account/${k}`
  const addr = (k: number) => new KeyPair(seedOf(acct(k))).address
  const val0 = new KeyPair(seedOf('attrchain/devnet/validator/0')).address
  const minFee = 10n ** 15n
  return [
    vector('transfer of 1 OPEN from dev account 0 to dev account 1, first tx', acct(0), 0, minFee, { type: 'transfer', to: addr(1), amount: 10n ** 18n }),
    vector('transfer with a uint64 nonce (2^32 + 7) and an amount above 2^64', acct(0), 2 ** 32 + 7, 2n ** 64n + 1n, { type: 'transfer', to: addr(2), amount: 2n ** 64n + 12345n }),
    vector('transfer of the largest amount, 2^128 - 1', acct(3), 2 ** 53 - 1, minFee, { type: 'transfer', to: addr(1), amount: 2n ** 128n - 1n }),
    vector('createValidator with 10,000 OPEN self-stake and 5% commission', acct(4), 1, minFee, { type: 'createValidator', amount: 10_000n * 10n ** 18n, moniker: 'node-4', commissionBps: 500 }),
    vector('delegate 250 OPEN to dev validator 0', acct(5), 2, minFee, { type: 'delegate', validator: val0, amount: 250n * 10n ** 18n }),
    vector('registerDatanet with a 1 OPEN contribution bond', acct(1), 0, minFee, { type: 'registerDatanet', name: 'medical-qa', metadataUri: 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', contributionBond: 10n ** 18n }),
    vector('contribute to a Datanet', acct(2), 0, minFee, { type: 'contribute', datanetId: h32('vector/datanet'), dataHash: h32('vector/data'), metadataUri: 'ar://contribution-1' }),
    vector('reviewContribution: accept with weight 2', acct(1), 1, minFee, { type: 'reviewContribution', contributionId: h32('vector/contribution'), accept: true, weight: 2 }),
    vector('registerModel over two Datanets (weights 3 and 1), minFee 1000 units', acct(6), 0, minFee, {
      type: 'registerModel', name: 'qa-7b', baseModel: 'llama-3-8b',
      datanets: [{ datanetId: h32('vector/datanet'), weight: 3 }, { datanetId: h32('vector/datanet-2'), weight: 1 }], minFee: 1000n,
    }),
    vector('approveOperator: dev account 7 lets dev account 8 charge up to 5 OPEN', acct(7), 0, minFee, { type: 'approveOperator', operator: addr(8), amount: 5n * 10n ** 18n }),
    vector('submitReceipts: one receipt with attribution [[c1, 1], [c2, 2]]', acct(8), 0, minFee, {
      type: 'submitReceipts', receipts: [{
        modelId: h32('vector/model'), payer: addr(7), fee: 1_000_003n, inputHash: h32('vector/input'), outputHash: h32('vector/output'),
        attribution: [{ contributionId: h32('vector/c1'), weight: 1 }, { contributionId: h32('vector/c2'), weight: 2 }],
      }],
    }),
    vector('submitReceipts: two receipts, the second with an empty attribution (by provenance)', acct(8), 1, minFee, {
      type: 'submitReceipts', receipts: [
        { modelId: h32('vector/model'), payer: addr(8), fee: 1_000_000n, inputHash: h32('vector/input-2'), outputHash: h32('vector/output-2'), attribution: [] },
        { modelId: h32('vector/model'), payer: addr(7), fee: 300n, inputHash: h32('vector/input-3'), outputHash: h32('vector/output-3'), attribution: [{ contributionId: h32('vector/c1'), weight: 200 }] },
      ],
    }),
    vector('claim (empty body)', acct(2), 1, minFee, { type: 'claim' }),
    vector('unjail (empty body) on another chain id', 'attrchain/devnet/validator/1', 12, minFee, { type: 'unjail' }, 'attrchain-testnet-1'),
    // DESIGN §4.1: new tx types and optional trailing fields (present here; the vectors above have them absent)
    vector('setModelTerms: 10% derivative royalty, derivatives allowed', acct(6), 1, minFee, { type: 'setModelTerms', modelId: h32('vector/model'), derivativeRoyaltyBps: 1000, allowDerivatives: true }),
    vector('setModelTerms: no royalty, derivatives not allowed', acct(6), 2, minFee, { type: 'setModelTerms', modelId: h32('vector/model'), derivativeRoyaltyBps: 0, allowDerivatives: false }),
    vector('setDatanetTerms: curator keeps 15%', acct(1), 2, minFee, { type: 'setDatanetTerms', datanetId: h32('vector/datanet'), curatorBps: 1500 }),
    vector('contribute synthetic data generated by a model (sourceModelId present)', acct(2), 2, minFee, {
      type: 'contribute', datanetId: h32('vector/datanet'), dataHash: h32('vector/synthetic-data'), metadataUri: 'ar://synthetic-1', sourceModelId: h32('vector/model'),
    }),
    vector('registerModel derived from two parents (parents present)', acct(6), 3, minFee, {
      type: 'registerModel', name: 'qa-7b-ft', baseModel: 'qa-7b', datanets: [{ datanetId: h32('vector/datanet-2'), weight: 1 }], minFee: 2000n,
      parents: [h32('vector/model'), h32('vector/model-2')],
    }),
    vector('submitReceipts: the first receipt with a traceId, the second without', acct(8), 2, minFee, {
      type: 'submitReceipts', receipts: [
        { modelId: h32('vector/model'), payer: addr(8), fee: 5000n, inputHash: h32('vector/input-4'), outputHash: h32('vector/output-4'), attribution: [{ contributionId: h32('vector/c1'), weight: 1 }], traceId: h32('vector/trace') },
        { modelId: h32('vector/model'), payer: addr(8), fee: 7000n, inputHash: h32('vector/input-5'), outputHash: h32('vector/output-5'), attribution: [] },
      ],
    }),
    // README "Rollup checkpoints"
    vector('setCheckpointKey: dev validator 0 declares a checkpoint address', 'attrchain/devnet/validator/0', 3, minFee, { type: 'setCheckpointKey', ethAddress: '0x3184df5927b599c0bbebcc53edc8ba51d16babe7' }),
    vector('signCheckpoint: a 65-byte signature of checkpoint 100', 'attrchain/devnet/validator/0', 4, minFee, {
      type: 'signCheckpoint', height: 100, signature: toHex(new Uint8Array([...sha256('vector/ck-r'), ...sha256('vector/ck-s'), 27])),
    }),
  ]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = fileURLToPath(new URL('../vectors/txs.json', import.meta.url))
  writeFileSync(out, JSON.stringify(buildVectors(), null, 2) + '\n')
  console.log(`wrote ${out}`)
}

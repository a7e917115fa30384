import t from 'tap'
import {
  parseGenesis, genesisToJson, genesisHash, buildDevnetGenesis, devAccountKey, devValidatorKey, defaultParams, DEFAULT_TREASURY,
  DEVNET_CHAIN_ID, PARAM_KEYS, type Genesis,
} from '../../../genesis/index.js'
import { KeyPair } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import { UNITS_PER_OPEN } from '../../../core/amount.js'

const OPEN = UNITS_PER_OPEN
const devnet = () => buildDevnetGenesis({ validators: 4, accounts: 10 })
const json = () => genesisToJson(devnet()) as Record<string, any>

t.test('devnet builder: deterministic keys and DESIGN §7 balances', async (t) => {
  const g = devnet()
  t.equal(g.chainId, DEVNET_CHAIN_ID)
  t.equal(g.chainId, 'attrchain-devnet')
  t.equal(g.accounts.length, 14, '10 dev accounts + 4 validators')
  for (let k = 0; k < 10; k++) {
    const key = devAccountKey(k)
    t.equal(toHex(key.seed), toHex(sha256('attrchain/devnet/account/' + k)), `account ${k} seed`)
    t.equal(g.accounts[k].address, new KeyPair(sha256('attrchain/devnet/account/' + k)).address, `account ${k} address`)
    t.equal(g.accounts[k].balance, 1_000_000n * OPEN, `account ${k} holds 1,000,000 OPEN`)
  }
  for (let i = 0; i < 4; i++) {
    const key = devValidatorKey(i)
    t.equal(toHex(key.seed), toHex(sha256('attrchain/devnet/validator/' + i)), `validator ${i} seed`)
    const v = g.validators[i]
    t.equal(v.address, key.address, `validator ${i} address`)
    t.equal(toHex(v.pubKey), toHex(key.publicKey), `validator ${i} pubkey`)
    t.equal(v.stake, 100_000n * OPEN, `validator ${i} stakes 100,000 OPEN`)
    t.equal(v.moniker, `validator-${i}`)
    const liquid = g.accounts.find((a) => a.address === key.address)
    t.equal(liquid?.balance, 10_000n * OPEN, `validator ${i} has 10,000 OPEN liquid`)
  }
  t.equal(toHex(devAccountKey(0).seed), '0x41a86bd967b4ae91de01a8bf2d9c0a80509ba56c498cdef07cf5d083f8b12a8b', 'pinned: dev account 0 seed')
  t.equal(devAccountKey(0).address, '0x0bacacfd8255c9db1911b39d2398c05e2c4f5955', 'pinned: dev account 0 address')
  t.same(g.params, defaultParams())
  t.equal(g.params.treasury, DEFAULT_TREASURY)
  t.equal(DEFAULT_TREASURY, toHex(sha256('attrchain/treasury').subarray(0, 20)))
  t.same(defaultParams().feeSplit, { contributors: 5000, modelOwner: 2000, operator: 1500, validators: 1000, treasury: 500 })
})

t.test('genesis JSON round-trips through parseGenesis with the same hash', async (t) => {
  const g = devnet()
  const back = parseGenesis(JSON.parse(JSON.stringify(genesisToJson(g))))
  t.same(back, g)
  t.equal(genesisHash(back), genesisHash(g))
  t.equal(genesisHash(devnet()), genesisHash(devnet()), 'stable across builds')
  t.match(genesisHash(g), /^0x[0-9a-f]{64}$/)
  const minimal = json()
  delete minimal.params
  t.same(parseGenesis(minimal).params, defaultParams(), 'params default when absent')
  const noCommission = json()
  delete noCommission.validators[0].commissionBps
  t.equal(parseGenesis(noCommission).validators[0].commissionBps, 1000, 'commissionBps defaults to 1000')
})

t.test('the genesis hash changes with any field', async (t) => {
  const base = genesisHash(devnet())
  const mutations: [string, (g: Genesis) => void][] = [
    ['chainId', (g) => { g.chainId = 'attrchain-devnet-2' }],
    ['genesisTime', (g) => { g.genesisTime = '2026-01-01T00:00:00.001Z' }],
    ['account balance', (g) => { g.accounts[3].balance += 1n }],
    ['account address', (g) => { g.accounts[3].address = '0x' + '00'.repeat(20) }],
    ['account order', (g) => { g.accounts.reverse() }],
    ['validator stake', (g) => { g.validators[1].stake += 1n }],
    ['validator moniker', (g) => { g.validators[1].moniker = 'x' }],
    ['validator commission', (g) => { g.validators[1].commissionBps = 999 }],
    ['validator pubkey', (g) => { g.validators[1].pubKey = devValidatorKey(9).publicKey }],
    ...PARAM_KEYS.map((k): [string, (g: Genesis) => void] => [`params.${k}`, (g) => {
      const p = g.params as unknown as Record<string, unknown>
      const v = p[k]
      if (typeof v === 'bigint') p[k] = v + 1n
      else if (typeof v === 'number') p[k] = v + 1
      else if (k === 'treasury') p[k] = '0x' + '01'.repeat(20)
      else p[k] = { ...g.params.feeSplit, contributors: 4999, treasury: 501 }
    }]),
  ]
  const seen = new Set([base])
  for (const [what, mutate] of mutations) {
    const g = devnet()
    mutate(g)
    const h = genesisHash(g)
    t.not(h, base, `${what} changes the hash`)
    seen.add(h)
  }
  t.equal(seen.size, mutations.length + 1, 'every mutation gives a distinct hash')
})

t.test('validation errors name the field', async (t) => {
  const cases: [string, (j: Record<string, any>) => void, string, RegExp | string][] = [
    ['bad chainId', (j) => { j.chainId = 'Attr Chain' }, 'chainId', /chainId: must match/],
    ['empty chainId', (j) => { j.chainId = '' }, 'chainId', /chainId/],
    ['bad genesisTime', (j) => { j.genesisTime = 'yesterday' }, 'genesisTime', /genesisTime: must be an RFC 3339 time/],
    ['feeSplit not summing to 10000', (j) => { j.params.feeSplit.treasury = 501 }, 'params.feeSplit', /params.feeSplit: must sum to 10000 bps, got 10001/],
    ['feeSplit missing a key', (j) => { delete j.params.feeSplit.treasury }, 'params.feeSplit.treasury', /params.feeSplit.treasury/],
    ['feeSplit extra key', (j) => { j.params.feeSplit.burn = 0 }, 'params.feeSplit', /params.feeSplit: must have exactly/],
    ['unknown param', (j) => { j.params.blockTimeMs = 1000 }, 'params.blockTimeMs', /params.blockTimeMs: unknown param/],
    ['amount param as a number', (j) => { j.params.minTxFee = 1000 }, 'params.minTxFee', /params.minTxFee must be a canonical decimal string/],
    ['negative integer param', (j) => { j.params.jailBlocks = -1 }, 'params.jailBlocks', /params.jailBlocks: must be an integer/],
    ['zero maxReceiptsPerTx', (j) => { j.params.maxReceiptsPerTx = 0 }, 'params.maxReceiptsPerTx', /must be at least 1/],
    ['slash over 100%', (j) => { j.params.slashDoubleSignBps = 10_001 }, 'params.slashDoubleSignBps', /at most 10000 bps/],
    ['bad treasury', (j) => { j.params.treasury = '0x12' }, 'params.treasury', /params.treasury/],
    ['duplicate account', (j) => { j.accounts.push({ ...j.accounts[0] }) }, 'accounts', /accounts: an address appears twice/],
    ['duplicate account in another case', (j) => { j.accounts.push({ ...j.accounts[0], address: j.accounts[0].address.toUpperCase().replace('0X', '0x') }) }, 'accounts', /appears twice/],
    ['account balance not canonical', (j) => { j.accounts[2].balance = '01' }, 'accounts[2].balance', /accounts\[2\].balance/],
    ['account address bad', (j) => { j.accounts[1].address = 'nope' }, 'accounts[1].address', /accounts\[1\].address/],
    ['validator address not matching pubKey', (j) => { j.validators[1].address = j.validators[2].address }, 'validators[1].address', /validators\[1\].address: address is not the address of pubKey/],
    ['validator pubKey of 31 bytes', (j) => { j.validators[0].pubKey = j.validators[0].pubKey.slice(0, -2) }, 'validators[0].pubKey', /validators\[0\].pubKey/],
    ['stake below min', (j) => { j.validators[3].stake = (10_000n * OPEN - 1n).toString() }, 'validators[3].stake', /validators\[3\].stake: below params.minValidatorStake/],
    ['duplicate validator', (j) => { j.validators.push({ ...j.validators[0] }) }, 'validators', /validators: a validator appears twice/],
    ['no validators', (j) => { j.validators = [] }, 'validators', /validators: must be a non-empty array/],
    ['too many validators', (j) => { j.params.maxValidators = 3 }, 'validators', /more than params.maxValidators/],
    ['moniker too long', (j) => { j.validators[0].moniker = 'x'.repeat(65) }, 'validators[0].moniker', /validators\[0\].moniker/],
    ['commission over 100%', (j) => { j.validators[0].commissionBps = 10_001 }, 'validators[0].commissionBps', /validators\[0\].commissionBps/],
    ['supply over 2^128 - 1', (j) => { j.accounts[0].balance = (2n ** 128n - 1n).toString() }, 'accounts', /accounts: total supply exceeds/],
  ]
  for (const [what, mutate, field, message] of cases) {
    const j = json()
    mutate(j)
    t.throws(() => parseGenesis(j), { code: 'GENESIS_ERROR_INVALID', meta: { field }, message }, what)
  }
  for (const raw of [null, [], 'genesis', 3]) t.throws(() => parseGenesis(raw), { code: 'GENESIS_ERROR_INVALID', meta: { field: 'genesis' } }, `not an object: ${JSON.stringify(raw)}`)
  const lower = json()
  lower.validators[0].address = lower.validators[0].address.toUpperCase().replace('0X', '0x')
  t.equal(parseGenesis(lower).validators[0].address, devValidatorKey(0).address, 'addresses are accepted in any case and stored lowercase')
})

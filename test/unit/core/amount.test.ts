import t from 'tap'
import { parseAmount, formatAmount, parseHumanAmount, formatOpen, MAX_AMOUNT, UNITS_PER_OPEN } from '../../../core/amount.js'

t.test('canonical decimal strings parse to bigint units and format back', async (t) => {
  const cases: [string, bigint][] = [
    ['0', 0n], ['1', 1n], ['10', 10n], ['1000000000000000000', UNITS_PER_OPEN],
    ['18446744073709551616', 1n << 64n], [MAX_AMOUNT.toString(), MAX_AMOUNT],
  ]
  for (const [s, n] of cases) {
    t.equal(parseAmount(s), n, `parse ${s}`)
    t.equal(formatAmount(n), s, `format ${n}`)
  }
  t.equal(MAX_AMOUNT, 340282366920938463463374607431768211455n)
  t.equal(UNITS_PER_OPEN, 10n ** 18n)
})

t.test('non-canonical or out-of-range amounts are refused with the field named', async (t) => {
  const bad: unknown[] = [
    '-1', '01', '00', '1.0', '', ' 1', '1 ', '+1', '1e3', '0x10', 'abc',
    (MAX_AMOUNT + 1n).toString(), '9'.repeat(40), 1, 1n, null, undefined, {}, ['1'],
  ]
  for (const v of bad) {
    t.throws(() => parseAmount(v, 'body[1]'), { code: 'TX_ERROR_BAD_AMOUNT', meta: { field: 'body[1]' } }, `refuses ${JSON.stringify(String(v))} (${typeof v})`)
  }
  t.throws(() => parseAmount('01', 'body[1]'), { message: 'TX_ERROR_BAD_AMOUNT: body[1] must be a canonical decimal string' })
  t.throws(() => parseAmount((MAX_AMOUNT + 1n).toString(), 'fee'), { message: 'TX_ERROR_BAD_AMOUNT: fee exceeds 2^128 - 1' })
  t.throws(() => formatAmount(-1n), { code: 'TX_ERROR_BAD_AMOUNT' })
  t.throws(() => formatAmount(MAX_AMOUNT + 1n), { code: 'TX_ERROR_BAD_AMOUNT' })
})

t.test('human amounts: OPEN with or without a space, or raw integer units', async (t) => {
  const cases: [string, bigint][] = [
    ['1.5OPEN', 1_500_000_000_000_000_000n],
    ['1.5 OPEN', 1_500_000_000_000_000_000n],
    ['1.5 open', 1_500_000_000_000_000_000n],
    ['2OPEN', 2n * UNITS_PER_OPEN],
    ['0.000000000000000001 OPEN', 1n],
    ['1500000000000000000', 1_500_000_000_000_000_000n],
    ['007', 7n],
    ['0', 0n],
  ]
  for (const [s, n] of cases) t.equal(parseHumanAmount(s), n, `parse ${s}`)
  const bad = ['1.5', '1.0000000000000000001 OPEN', '-1 OPEN', 'OPEN', '', '1.5 ETH', (MAX_AMOUNT + 1n).toString()]
  for (const s of bad) t.throws(() => parseHumanAmount(s), { code: 'TX_ERROR_BAD_AMOUNT' }, `refuses "${s}"`)
  t.equal(formatOpen(1_500_000_000_000_000_000n), '1.5 OPEN')
  t.equal(formatOpen(0n), '0 OPEN')
  t.equal(formatOpen(1n), '0.000000000000000001 OPEN')
  t.equal(formatOpen(1_000_000n * UNITS_PER_OPEN), '1000000 OPEN')
  for (const s of ['1.5 OPEN', '0.000000000000000001 OPEN', '123.456 OPEN']) t.equal(formatOpen(parseHumanAmount(s)), s, `round trip ${s}`)
})

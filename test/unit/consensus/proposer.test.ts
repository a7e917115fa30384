import t from 'tap'
import { incrementProposerPriority, type PriorityEntry } from '../../../consensus/proposerPriority.js'
import { ValidatorSet, decodeValidatorSet, encodeValidatorSet } from '../../../consensus/index.js'
import { makeKeys, makeSet } from './fixtures.js'

/** NewValidatorSet over raw keys: priorities centre to 0, then one election. */
function newSet(powers: Record<string, number>): { entries: PriorityEntry[]; proposer: string } {
  const entries = Object.entries(powers).map(([key, p]) => ({ key, power: BigInt(p), priority: 0n }))
  return { entries, proposer: incrementProposerPriority(entries, 1)[0]!.key }
}

function sequence(powers: Record<string, number>, n: number): string[] {
  const set = newSet(powers)
  const out: string[] = [set.proposer]
  while (out.length < n) out.push(incrementProposerPriority(set.entries, 1)[0]!.key)
  return out
}

t.test('CometBFT TestProposerSelection1: foo 1000, bar 300, baz 330', async (t) => {
  const expected =
    'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar' +
    ' foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar' +
    ' foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz' +
    ' foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo' +
    ' foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo'
  t.equal(sequence({ foo: 1000, bar: 300, baz: 330 }, 99).join(' '), expected)
})

t.test('spec "stable set" p1 = 1, p2 = 3 repeats p2 p1 p2 p2', async (t) => {
  t.same(sequence({ p1: 1, p2: 3 }, 8), ['p2', 'p1', 'p2', 'p2', 'p2', 'p1', 'p2', 'p2'])
})

t.test('spec example p1 = 1, p2 = 2, p3 = 3: each proposes as often as its power', async (t) => {
  const seq = sequence({ p1: 1, p2: 2, p3: 3 }, 12)
  t.same(seq.slice(0, 6), ['p3', 'p2', 'p1', 'p3', 'p2', 'p3'], 'one period of 6 elections, ties to the smaller address')
  t.same(seq.slice(6), seq.slice(0, 6), 'the sequence repeats with period = total power')
})

t.test('CometBFT TestAveragingInIncrementProposerPriorityWithVotingPower (10, 1, 1)', async (t) => {
  const cases: [number, bigint[], string][] = [
    [1, [-2n, 1n, 1n], 'a'],
    [2, [-4n, 2n, 2n], 'a'],
    [3, [-6n, 3n, 3n], 'a'],
    [4, [-8n, 4n, 4n], 'a'],
    [5, [2n, -7n, 5n], 'b'],
    [6, [0n, -6n, 6n], 'a'],
    [7, [-2n, -5n, 7n], 'a'],
    [8, [-4n, -4n, 8n], 'a'],
    [9, [6n, -3n, -3n], 'c'],
    [10, [4n, -2n, -2n], 'a'],
    [11, [2n, -1n, -1n], 'a'],
  ]
  for (const [times, priorities, proposer] of cases) {
    const entries = [
      { key: 'a', power: 10n, priority: 0n },
      { key: 'b', power: 1n, priority: 0n },
      { key: 'c', power: 1n, priority: 0n },
    ]
    const elected = incrementProposerPriority(entries, times)
    t.equal(elected[elected.length - 1]!.key, proposer, `proposer after ${times}`)
    t.same(entries.map((e) => e.priority), priorities, `priorities after ${times}`)
  }
})

t.test('CometBFT TestProposerSelection2: equal powers go in address order; 4/5/3 is proportional', async (t) => {
  const keys = makeKeys(3)
  let set = makeSet(keys, [100n, 100n, 100n])
  for (let i = 0; i < 15; i++) {
    t.equal(set.proposer.address, keys[i % 3]!.address, `election ${i}`)
    set = set.copyIncrement(1)
  }
  set = makeSet(keys, [100n, 100n, 400n])
  t.equal(set.proposer.address, keys[2]!.address, 'highest power first')
  t.equal(set.copyIncrement(1).proposer.address, keys[0]!.address, 'then the smallest address')
  set = makeSet(keys, [100n, 100n, 401n])
  t.equal(set.copyIncrement(1).proposer.address, keys[2]!.address, '401 of 601 proposes twice in a row')
  set = makeSet(keys, [4n, 5n, 3n])
  const counts = [0, 0, 0]
  for (let i = 0; i < 120; i++) {
    counts[keys.findIndex((k) => k.address === set.proposer.address)]!++
    set = set.copyIncrement(1)
  }
  t.same(counts, [40, 50, 30])
})

t.test('rounds of a height: proposersOfRounds(r) equals copyIncrement(r), whatever the path', async (t) => {
  const set = makeSet(makeKeys(4), [5n, 3n, 1n, 7n])
  const rounds = set.proposersOfRounds(20)
  for (let r = 1; r <= 20; r++) t.equal(rounds[r - 1], set.copyIncrement(r).proposer.address, `round ${r}`)
})

t.test('spec "validator removal": p2 removed, centring by the average (-1)', async (t) => {
  const keys = makeKeys(3, 'removal')
  const [p1, p2, p3] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]]
  const set = ValidatorSet.fromValidators(
    [
      { address: p1.address, pubKey: p1.publicKey, power: 1n, priority: 1n },
      { address: p2.address, pubKey: p2.publicKey, power: 2n, priority: 2n },
      { address: p3.address, pubKey: p3.publicKey, power: 3n, priority: -3n },
    ],
    null,
  )
  const removed = set.update([{ address: p2.address, pubKey: p2.publicKey, power: 0n }])
  t.same(removed.validators.map((v) => v.priority), [2n, -2n], 'A(i) -= avg with avg = -1')
  const next = removed.copyIncrement(1)
  t.equal(next.proposer.address, p1.address)
  t.same(next.validators.map((v) => v.priority), [-1n, 1n])
})

t.test('spec "new validator": a newcomer starts at -1.125 x total', async (t) => {
  const keys = makeKeys(3, 'join')
  const [p1, p2, p3] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]]
  const set = ValidatorSet.fromValidators(
    [
      { address: p1.address, pubKey: p1.publicKey, power: 1n, priority: 2n },
      { address: p2.address, pubKey: p2.publicKey, power: 3n, priority: -2n },
    ],
    null,
  )
  const joined = set.update([{ address: p3.address, pubKey: p3.publicKey, power: 8n }])
  // A(p3) = -(12 + 12 >> 3) = -13; centring with Go's Euclidean average floor(-13 / 3) = -5.
  t.same(joined.validators.map((v) => v.priority), [7n, 3n, -8n])
  const next = joined.copyIncrement(1)
  t.equal(next.proposer.address, p1.address, 'p1 (8) is ahead of p3 (0) after one step')
  t.equal(joined.totalPower, 12n)
})

t.test('scaling keeps max - min within 2 x total power', async (t) => {
  const keys = makeKeys(2, 'scale')
  const set = ValidatorSet.fromValidators(
    keys.map((k, i) => ({ address: k.address, pubKey: k.publicKey, power: 10n, priority: i === 0 ? -60_000n : -15_000n })),
    null,
  )
  // diff 45000 > 2P = 40: divide by ceil(45000 / 40) = 1125 (truncating), centre, then elect.
  const next = set.copyIncrement(1)
  t.same(next.validators.map((v) => v.priority), [-10n, 10n])
  t.equal(next.proposer.address, keys[1]!.address)
})

t.test('validator set checks, hash and storage round trip', async (t) => {
  const keys = makeKeys(3)
  const set = makeSet(keys, [5n, 3n, 1n])
  t.equal(set.totalPower, 9n)
  t.equal(set.get(keys[1]!.address)?.power, 3n)
  t.notOk(set.has('0x' + '00'.repeat(20)))
  const again = decodeValidatorSet(encodeValidatorSet(set))
  t.same(again.validators, set.validators)
  t.equal(again.proposer.address, set.proposer.address)
  t.same(again.hash(), set.hash())
  t.notSame(makeSet(keys, [5n, 3n, 2n]).hash(), set.hash(), 'power is part of the hash')
  t.throws(() => makeSet(keys, [5n, 0n, 1n]), { code: 'CONSENSUS_ERROR_BAD_VALIDATOR_SET' })
  t.throws(() => ValidatorSet.create([]), { code: 'CONSENSUS_ERROR_BAD_VALIDATOR_SET' })
  t.throws(() => ValidatorSet.create([keys[0]!, keys[0]!].map((k) => ({ address: k.address, pubKey: k.publicKey, power: 1n }))), {
    code: 'CONSENSUS_ERROR_BAD_VALIDATOR_SET',
  })
  t.throws(() => ValidatorSet.create([{ address: keys[0]!.address, pubKey: keys[1]!.publicKey, power: 1n }]), { code: 'CONSENSUS_ERROR_BAD_VALIDATOR_SET' })
  t.throws(() => set.update(keys.map((k) => ({ address: k.address, pubKey: k.publicKey, power: 0n }))), { code: 'CONSENSUS_ERROR_BAD_VALIDATOR_SET' })
  t.throws(() => decodeValidatorSet(new Uint8Array([0x92, 0x90])), { code: 'CONSENSUS_ERROR_MALFORMED' })
})

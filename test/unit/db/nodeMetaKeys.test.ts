import t from 'tap'
import { nodeMetaKeys } from '../../../node/db/index.js'

// The validator-set key is on disk in every existing data dir: its format is pinned here.
t.test('validator-set key: cvalset/ + 12-digit zero-padded height, string order is height order', async (t) => {
  t.equal(nodeMetaKeys.validatorSet(1), 'cvalset/000000000001')
  t.equal(nodeMetaKeys.validatorSet(123_456_789), 'cvalset/000123456789')
  const heights = [1, 9, 10, 99, 100, 65_536, 999_999_999_999]
  const sorted = heights.map(nodeMetaKeys.validatorSet).sort()
  t.same(sorted, heights.map(nodeMetaKeys.validatorSet))
})

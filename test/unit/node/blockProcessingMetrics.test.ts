import t from 'tap'
import { startInProcessNode } from '../../helpers/inProcessNode.js'

/**
 * attrchain_block_processing_seconds{stage} (node/metrics.ts, fed by
 * node/consensusChain.ts): a lone validator builds and commits every block
 * it makes and validates none of a peer's, so after a few heights `build`
 * and `commit` have observations, one each per committed height at least,
 * and `validate` has none.
 */
t.test('a validator exports the time of its blocks\' build and commit stages', async (t) => {
  const { node, client } = await startInProcessNode(t, 'block-metrics')
  const until = Date.now() + 60_000
  while ((await client.status()).height < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
  const height = (await client.status()).height
  t.ok(height >= 4, `reached height ${height}`)
  const text = await (await fetch(new URL('/metrics', node.rpcUrl))).text()
  const count = (stage: string): number => Number(new RegExp(`^attrchain_block_processing_seconds_count\\{stage="${stage}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
  const sum = (stage: string): number => Number(new RegExp(`^attrchain_block_processing_seconds_sum\\{stage="${stage}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? -1)
  t.ok(count('build') >= 3, `build observed per proposal (${count('build')})`)
  t.ok(count('commit') >= 3, `commit observed per committed block (${count('commit')})`)
  t.ok(sum('build') >= 0 && sum('commit') > 0, 'with their time in seconds')
  t.equal(count('validate'), 0, 'no peer proposal validated')
  t.match(text, /attrchain_block_processing_seconds_bucket\{le="1",stage="commit"\} \d+/, 'as a histogram with a 1 s bucket')
})

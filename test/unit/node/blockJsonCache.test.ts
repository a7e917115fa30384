import t from 'tap'
import type { Receipt } from '../../../core/tx.js'
import { RawJson, stringifyJson } from '../../../rpc/errors.js'
import type { Block } from '../../../state/block.js'
import { BlockJsonCache } from '../../../node/blockJsonCache.js'
import type { BlockJsonParts } from '../../../node/blockJsonCache.js'
import { blockToJson } from '../../../node/rpcMethods.js'
import { TestChain, h32 } from '../../helpers/chain.js'

/** A block of `txs` submitReceipts txs of `perTx` receipts each (decoding does not look at state, so ids need not exist). */
function bigBlock(height: number, txs: number, perTx: number): Block {
  const c = new TestChain()
  const payer = c.account(1).address
  const signed = Array.from({ length: txs }, (_, i) => {
    const receipts: Receipt[] = Array.from({ length: perTx }, (_, j) => ({
      modelId: h32('m'), payer, fee: 1_000_000n + BigInt(j), inputHash: h32(`in${i}.${j}`), outputHash: h32(`out${i}.${j}`),
      attribution: [{ contributionId: h32('c1'), weight: 1 }, { contributionId: h32('c2'), weight: 2 }],
    }))
    return c.tx(c.account(0), { type: 'submitReceipts', receipts })
  })
  const header = {
    chainId: c.chain.chainId, height, timeMs: 1_767_225_600_000 + height, prevHash: h32('prev'), txRoot: h32('tx'), stateRoot: h32('state'),
    validatorsHash: h32('vals'), proposer: payer, lastCommitHash: h32('lc'),
  }
  return { header, txs: signed.map((s) => s.bytes), lastCommit: null, evidence: [] }
}

/** What chain_getBlock gives the cache: the same parts blockToJson is made of. */
function partsOf(b: Block, full: boolean): BlockJsonParts {
  const json = blockToJson('0x' + 'ab'.repeat(32), b, full)
  const txs = json.txs as unknown[]
  const index = new Map(b.txs.map((bytes, i) => [bytes, i]))
  return { hash: json.hash as string, header: json.header, txs: b.txs, tx: (bytes) => txs[index.get(bytes)!], lastCommit: json.lastCommit, evidence: 0 }
}

t.test('the cached text is exactly the JSON of blockToJson, with hashes or full txs', async (t) => {
  const block = bigBlock(3, 5, 20)
  const cache = new BlockJsonCache()
  for (const full of [false, true]) {
    const json = await cache.get(3, full, async () => partsOf(block, full))
    t.ok(json instanceof RawJson)
    t.equal(json!.text, stringifyJson(blockToJson('0x' + 'ab'.repeat(32), block, full)), `full: ${full}`)
    t.equal(json!.bytes, Buffer.byteLength(json!.text))
  }
})

t.test('concurrent reads of one block share one build; a missing block is not cached', async (t) => {
  const block = bigBlock(4, 2, 10)
  const cache = new BlockJsonCache()
  let loads = 0
  const load = async (): Promise<BlockJsonParts> => {
    loads++
    return partsOf(block, true)
  }
  const all = await Promise.all(Array.from({ length: 80 }, () => cache.get(4, true, load)))
  t.equal(loads, 1, '80 concurrent reads, one build')
  t.ok(all.every((j) => j === all[0]), 'one shared string')
  await cache.get(4, true, load)
  t.equal(loads, 1, 'later reads hit the cache')
  await cache.get(4, false, async () => partsOf(block, false))
  t.equal(cache.cachedBytes, all[0]!.bytes + (await cache.get(4, false, async () => null))!.bytes, 'keyed by height and full')

  let missing = 0
  const none = async (): Promise<null> => {
    missing++
    return null
  }
  t.equal(await cache.get(99, true, none), null)
  t.equal(await cache.get(99, true, none), null)
  t.equal(missing, 2, 'a height without a block is asked again (it may be committed later)')

  await t.rejects(cache.get(5, true, async () => Promise.reject(new Error('db closed'))), /db closed/)
  t.ok(await cache.get(4, true, load), 'a failed build does not wedge the queue')
})

t.test('the cache is bounded by bytes, least recently used out first', async (t) => {
  const blocks = [1, 2, 3, 4, 5].map((h) => bigBlock(h, 1, 30))
  const one = new RawJson(stringifyJson(blockToJson('0x' + 'ab'.repeat(32), blocks[0], true))).bytes
  const cache = new BlockJsonCache({ maxBytes: Math.floor(one * 4.5) })
  let loads = 0
  const get = (h: number): Promise<RawJson | null> =>
    cache.get(h, true, async () => {
      loads++
      return partsOf(blocks[h - 1], true)
    })
  for (const h of [1, 2, 3, 4]) await get(h)
  await get(1)
  await get(5)
  t.ok(cache.cachedBytes <= Math.floor(one * 4.5), `held ${cache.cachedBytes} B`)
  loads = 0
  await get(1)
  t.equal(loads, 0, 'recently read 1 kept')
  await get(2)
  t.equal(loads, 1, 'least recently read 2 evicted')

  const tiny = new BlockJsonCache({ maxBytes: one })
  await tiny.get(1, true, async () => partsOf(blocks[0], true))
  t.equal(tiny.cachedBytes, 0, 'a block over a quarter of the cache is served, not kept')
})

t.test('building a 20,000-receipt block yields to the event loop', async (t) => {
  const block = bigBlock(7, 20, 1000)
  const started = performance.now()
  const reference = stringifyJson(blockToJson('0x' + 'ab'.repeat(32), block, true))
  const syncMs = performance.now() - started
  const cache = new BlockJsonCache()
  // How many txs the build has turned into JSON so far, seen by a 1 ms timer at each tick: the ticks that saw
  // 1 ≤ txsDone < (all of them) ran while the build was in progress (a build done in one synchronous block leaves none).
  let txsDone = 0
  const seen: number[] = []
  let last = performance.now()
  let gapMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    gapMs = Math.max(gapMs, now - last)
    last = now
    seen.push(txsDone)
  }, 1)
  const buildStarted = performance.now()
  const json = await cache.get(7, true, async () => ({
    hash: '0x' + 'ab'.repeat(32), header: block.header, txs: block.txs, lastCommit: null, evidence: 0,
    tx: (bytes) => {
      txsDone++
      return (blockToJson('', { ...block, txs: [bytes] }, true).txs as unknown[])[0]
    },
  }))
  const buildMs = performance.now() - buildStarted
  clearInterval(timer)
  gapMs = Math.max(gapMs, performance.now() - last)
  t.equal(json!.text, reference)
  const turnsDuring = seen.filter((n) => n >= 1 && n < txsDone).length
  t.comment(`${(json!.bytes / 1e6).toFixed(1)} MB of JSON: ${syncMs.toFixed(0)} ms in one piece; sliced build ${buildMs.toFixed(0)} ms with a longest pause of ${gapMs.toFixed(0)} ms, ${turnsDuring} turns of the loop during it`)
  t.ok(turnsDuring >= 3, `the event loop turned while the block was being built (${turnsDuring} timer ticks between its txs)`)
  // No pause came near the time the whole block takes in one piece (measured above, in this run); at least 2 s,
  // so a GC pause on a loaded machine is not mistaken for the build holding the loop.
  t.ok(gapMs < Math.max(2000, syncMs / 2), `the event loop was never held long (longest pause ${gapMs.toFixed(0)} ms; ${syncMs.toFixed(0)} ms in one piece)`)
})

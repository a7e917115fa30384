import t from 'tap'
import { BodyBuffers } from '../../../rpc/bodyBuffers.js'

/** rpc/bodyBuffers.ts: which bodies get a reused buffer, and how many are kept. */

t.test('only declared lengths from minBytes to capacity get a buffer, of capacity bytes', async (t) => {
  const b = new BodyBuffers(1000, 100, 2)
  t.equal(b.take(99), null, 'below minBytes: joined from chunks')
  t.equal(b.take(1001), null, 'over capacity (refused as too large anyway)')
  t.equal(b.take(Number.NaN), null, 'no Content-Length')
  t.equal(b.take(-5), null)
  t.equal(b.take(100)?.length, 1000)
  t.equal(b.take(1000)?.length, 1000)
  t.equal(b.allocated, 2)
})

t.test('released buffers are reused; at most maxFree full-size ones exist; beyond, one-off buffers of the body\'s size', async (t) => {
  const b = new BodyBuffers(1000, 100, 2)
  const [x, y, z] = [b.take(500)!, b.take(500)!, b.take(300)!]
  t.same([x.length, y.length, z.length], [1000, 1000, 300], 'the third in use at once gets exactly its declared size, not the limit')
  t.equal(b.allocated, 3)
  b.release(x)
  b.release(x)
  t.equal(b.freeCount, 1, 'a double release keeps it once')
  b.release(z)
  t.equal(b.freeCount, 1, 'a one-off buffer is not kept')
  b.release(y)
  t.equal(b.freeCount, 2)
  const again = [b.take(200)!, b.take(300)!]
  t.ok(again.every((buf) => buf === x || buf === y) && again[0] !== again[1], 'the kept ones come back, each to one body')
  t.equal(b.allocated, 3, 'no new allocation')
  const full = b.take(1000)!
  t.equal(full.length, 1000, 'a body of exactly the limit while both are lent: one-off')
  b.release(full)
  t.equal(b.freeCount, 0, 'and not taken in, though of the same size')
  b.release(Buffer.alloc(1000))
  t.equal(b.freeCount, 0, 'nor a buffer it never lent')
})

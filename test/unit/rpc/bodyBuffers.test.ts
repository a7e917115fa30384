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

t.test('released buffers are reused; at most maxFree are kept; a buffer is kept once', async (t) => {
  const b = new BodyBuffers(1000, 100, 2)
  const [x, y, z] = [b.take(500)!, b.take(500)!, b.take(500)!]
  t.equal(b.allocated, 3, 'three in use at once: three allocated')
  b.release(x)
  b.release(x)
  t.equal(b.freeCount, 1, 'a double release keeps it once')
  b.release(y)
  b.release(z)
  t.equal(b.freeCount, 2, 'the third is dropped')
  const again = [b.take(200), b.take(300)]
  t.ok(again.every((buf) => buf === x || buf === y), 'the kept ones come back')
  t.equal(b.allocated, 3, 'no new allocation')
  b.release(Buffer.alloc(10))
  t.equal(b.freeCount, 0, 'a buffer of another size is not taken in')
})

import t from 'tap'
import { progressLine, NO_PROGRESS } from '../../../node/progress.js'

t.test('on a terminal: one live line, rewritten in place and erased at the end', async (t) => {
  let out = ''
  const p = progressLine((s) => { out += s }, true)
  p.step('starting 4 nodes')
  p.update('nodes answering RPC: 1/4')
  p.update('nodes answering RPC: 2/4')
  p.done()
  t.notMatch(out, '\n', 'no newline: the line is rewritten')
  t.equal(out.split('\r\x1b[2K').filter(Boolean).length, 3, 'each step and update rewrites the line')
  t.ok(out.endsWith('\r\x1b[2K'), 'done erases the live line')
})

t.test('elsewhere: one plain line per step, no updates, no control characters', async (t) => {
  let out = ''
  const p = progressLine((s) => { out += s }, false)
  p.step('starting 4 nodes')
  p.update('nodes answering RPC: 1/4')
  p.step('waiting for the first block')
  p.step('waiting for the first block')
  p.done()
  t.equal(out, 'starting 4 nodes\nwaiting for the first block\n', 'steps once each, updates dropped')
})

t.test('NO_PROGRESS writes nothing', async (t) => {
  NO_PROGRESS.step('x')
  NO_PROGRESS.update('y')
  NO_PROGRESS.done()
  t.pass('no writer to call')
})

import { parentPort } from 'node:worker_threads'
import { packTxs, signJob, type SignJob } from './presign.js'

/** Worker thread of bench/presign.ts: signs each job it is sent and answers with the txs, packed and transferred (not copied). */
parentPort!.on('message', (job: SignJob) => {
  const packed = packTxs(signJob(job))
  parentPort!.postMessage(packed, [packed.bytes])
})

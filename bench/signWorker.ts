import { parentPort } from 'node:worker_threads'
import { signJob, type SignJob } from './presign.js'

/** Worker thread of bench/presign.ts: signs each job it is sent and answers with the txs. */
parentPort!.on('message', (job: SignJob) => parentPort!.postMessage(signJob(job)))

import { Agent, request } from 'node:http'
import { RpcTransportError, RpcTransportErrorCode, batchResults, type RpcBatchResult } from '../rpc/index.js'

/**
 * One flooding operator's HTTP connection to its node: JSON-RPC batches of
 * requests encoded ahead of time (bench/presign.ts FloodTx.request) written
 * to the socket as they are — `[`, the requests joined by `,`, `]` in one
 * corked write (writev), with their summed Content-Length — so a 4 MiB
 * batch costs the harness no serialization, no string and no fresh 4 MiB
 * buffer. The SDK's RpcTransport (global fetch, JSON.stringify of the call
 * objects) is what an application uses; this is the flood's lean twin, in
 * the bench because only a harness sharing the measured machine needs it.
 * Answers are read as RpcTransport reads them (rpc/transport.ts
 * batchResults): a batch refused whole throws RpcRequestError, no answer
 * RpcTransportError.
 */
export class FloodConnection {
  /** one keep-alive socket: the operator has one request in flight */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 })

  /** `timeoutMs`: the most a request may take, from `batch` until its answer is read (queued for the socket included), ms */
  constructor(
    readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** POST `requests` (each one encoded JSON-RPC request with the id in `ids`) as one batch; results in their order. */
  async batch(requests: readonly Buffer[], ids: readonly number[], method: string): Promise<RpcBatchResult[]> {
    if (requests.length !== ids.length) throw new RangeError(`${requests.length} requests but ${ids.length} ids`)
    if (requests.length === 0) return []
    const reply = await this.post(requests)
    return batchResults(reply, ids.map((id) => ({ id, method })))
  }

  private post(parts: readonly Buffer[]): Promise<unknown> {
    let length = 1 + parts.length // '[', the n − 1 commas, ']'
    for (const p of parts) length += p.length
    return new Promise((resolve, reject) => {
      let settled = false
      const settle = (f: () => void): void => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        f()
      }
      const fail = (e: Error): void => settle(() => reject(e))
      const req = request(this.url, { method: 'POST', agent: this.agent, headers: { 'Content-Type': 'application/json', 'Content-Length': length } })
      // a deadline, not a socket idle timeout: node:http's timeout starts only once a socket is assigned and
      // is dropped when the answer comes before the upload ends (a body refused unread)
      const deadline = setTimeout(() => {
        fail(new RpcTransportError(RpcTransportErrorCode.timeout, `no answer from ${this.url} within ${this.timeoutMs} ms`))
        req.destroy()
      }, this.timeoutMs)
      req.on('error', (e) => fail(new RpcTransportError(RpcTransportErrorCode.network, `request to ${this.url} failed: ${e.message}`)))
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (e) => fail(new RpcTransportError(RpcTransportErrorCode.network, `answer from ${this.url} cut: ${e.message}`)))
        res.on('end', () => {
          let reply: unknown
          try {
            reply = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          } catch {
            fail(new RpcTransportError(RpcTransportErrorCode.badResponse, `HTTP ${res.statusCode} from ${this.url} is not JSON`))
            return
          }
          settle(() => resolve(reply))
        })
      })
      req.cork()
      req.write(OPEN)
      parts.forEach((p, i) => {
        if (i > 0) req.write(COMMA)
        req.write(p)
      })
      req.end(CLOSE) // end() uncorks: the socket gets every part in one writev
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

const OPEN = Buffer.from('[')
const COMMA = Buffer.from(',')
const CLOSE = Buffer.from(']')

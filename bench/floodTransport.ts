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

  /** `timeoutMs`: the most a request may wait for its answer (socket idle time), ms */
  constructor(
    readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** POST `requests` (each one encoded JSON-RPC request with the id in `ids`) as one batch; results in their order. */
  async batch(requests: readonly Buffer[], ids: readonly number[], method: string): Promise<RpcBatchResult[]> {
    const reply = await this.post(requests)
    return batchResults(reply, ids.map((id) => ({ id, method })))
  }

  private post(parts: readonly Buffer[]): Promise<unknown> {
    let length = 1 + Math.max(1, parts.length)
    for (const p of parts) length += p.length
    return new Promise((resolve, reject) => {
      const req = request(this.url, { method: 'POST', agent: this.agent, timeout: this.timeoutMs, headers: { 'Content-Type': 'application/json', 'Content-Length': length } })
      req.on('timeout', () => req.destroy(new RpcTransportError(RpcTransportErrorCode.timeout, `no answer from ${this.url} within ${this.timeoutMs} ms`)))
      req.on('error', (e) => reject(e instanceof RpcTransportError ? e : new RpcTransportError(RpcTransportErrorCode.network, `request to ${this.url} failed: ${e.message}`)))
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (e) => reject(new RpcTransportError(RpcTransportErrorCode.network, `answer from ${this.url} cut: ${e.message}`)))
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
          } catch {
            reject(new RpcTransportError(RpcTransportErrorCode.badResponse, `HTTP ${res.statusCode} from ${this.url} is not JSON`))
          }
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

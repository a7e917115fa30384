import './polyfill.js'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { P2PError } from './errors.js'

/**
 * Request/response over one libp2p 3 stream: one varint-length-prefixed
 * frame each way, then the writer half-closes. libp2p 3 streams are event
 * based (`send`/`close`, async-iterable reads) rather than v2's duplex
 * `{source, sink}`; `lpStream` from @libp2p/utils is the framing helper the
 * libp2p protocols themselves use (identify, ping).
 */
/** A varint length prefix of any frame we accept. */
const MAX_PREFIX_BYTES = 10

export async function readFrame(stream: Stream, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  // The byte-stream buffer under lpStream defaults to 4 MiB; a frame may be larger (sync, block fetch).
  const lp = lpStream(stream, { maxDataLength: maxBytes, maxBufferSize: maxBytes + MAX_PREFIX_BYTES })
  const frame = await lp.read({ signal })
  return frame.subarray()
}

export async function writeFrame(stream: Stream, frame: Uint8Array, signal: AbortSignal): Promise<void> {
  const lp = lpStream(stream)
  await lp.write(frame, { signal })
  await lp.unwrap().close({ signal })
}

/** Client side: send the request, half-close, read the one response frame. */
export async function request(stream: Stream, frame: Uint8Array, maxResponseBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  try {
    await writeFrame(stream, frame, signal)
    return await readFrame(stream, maxResponseBytes, signal)
  } catch (e) {
    stream.abort(e as Error)
    throw streamError(e, signal)
  }
}

/** Maps what libp2p throws to our codes: a fired deadline is a timeout whatever error surfaced first. */
export function streamError(e: unknown, signal: AbortSignal): P2PError {
  if (e instanceof P2PError) return e
  const message = e instanceof Error ? e.message : String(e)
  if (signal.aborted) return new P2PError('P2P_ERROR_TIMEOUT', `request timed out: ${message}`)
  return new P2PError('P2P_ERROR_STREAM_FAILED', message, { name: e instanceof Error ? e.name : undefined })
}

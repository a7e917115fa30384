/**
 * Polls `f` every `everyMs` until it returns a truthy value (returned) or the
 * deadline passes (throws "timed out waiting for <what>", with the last error
 * `f` threw, if any). The tests' one way to wait for something to happen: a
 * generous deadline, never a fixed sleep standing for "it has happened".
 */
export async function until<T>(what: string, f: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await f()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

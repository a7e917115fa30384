/**
 * The virtual clock: a binary heap of events ordered by (time, insertion
 * order), so that simultaneous events run in a reproducible order.
 */
export interface SimEvent {
  readonly at: number
  readonly seq: number
  readonly run: () => Promise<void> | void
  /** set by `cancel`: the event is skipped when its time comes */
  cancelled: boolean
}

export class VirtualClock {
  now = 0
  private seq = 0
  private readonly heap: SimEvent[] = []

  /** Run `run` after `delayMs` of virtual time; the returned event can be cancelled. */
  schedule(delayMs: number, run: SimEvent['run']): SimEvent {
    const e: SimEvent = { at: this.now + Math.max(0, delayMs), seq: this.seq++, run, cancelled: false }
    this.push(e)
    return e
  }

  /** A cancelled event stays in the heap (lazy deletion) and is skipped by `next`. */
  cancel(e: SimEvent): void {
    e.cancelled = true
  }

  get size(): number {
    return this.heap.length
  }

  /** Advance the clock to the next event that is not cancelled and return it, or null when none is left. */
  next(): SimEvent | null {
    for (;;) {
      const e = this.pop()
      if (!e || !e.cancelled) return e
    }
  }

  private pop(): SimEvent | null {
    const top = this.heap[0]
    if (!top) return null
    const last = this.heap.pop()!
    if (this.heap.length > 0) {
      this.heap[0] = last
      this.down(0)
    }
    this.now = top.at
    return top
  }

  private push(e: SimEvent): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  private down(i: number): void {
    const h = this.heap
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && before(h[l]!, h[m]!)) m = l
      if (r < h.length && before(h[r]!, h[m]!)) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m]!, h[i]!]
      i = m
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at !== b.at ? a.at < b.at : a.seq < b.seq
}

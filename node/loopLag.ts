import { performance } from 'node:perf_hooks'

/**
 * How far behind the main thread's event loop runs, for backpressure
 * (mempool `maxEventLoopLagMs`): a timer due every `intervalMs` measures how
 * late it fires. A late firing counts in full and fades by `DECAY` per tick,
 * so one long task (a big block) is felt for about a second while a loop
 * that stays busy reads high all the time.
 */
export class EventLoopLag {
  private lagMs = 0
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly intervalMs = 100) {}

  /** the current lag estimate (ms) */
  get ms(): number {
    return this.lagMs
  }

  start(): void {
    if (this.timer !== null) return
    let due = performance.now() + this.intervalMs
    this.timer = setInterval(() => {
      const now = performance.now()
      const late = Math.max(0, now - due)
      this.lagMs = late > this.lagMs ? late : this.lagMs * DECAY
      due = now + this.intervalMs
    }, this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }
}

const DECAY = 0.8

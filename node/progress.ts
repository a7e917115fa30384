/**
 * Progress of a long wait on the command line (`tx … --wait`, `devnet`
 * start-up, `demo`). On a terminal one live line, rewritten in place and
 * erased when the wait ends, so that what stays on screen is the result (or
 * the one error line). Elsewhere (a pipe, a log file, CI) each step is one
 * plain line and the in-place updates are dropped: a log gets a line per
 * step, not one per second.
 */
export interface Progress {
  /** a new stage of the wait: a live line on a terminal, a plain line otherwise */
  step(text: string): void
  /** the same stage, newer figures (elapsed time, counts): shown on a terminal only */
  update(text: string): void
  /** the wait is over: erase the live line (terminal) */
  done(): void
}

/** Writes nothing: for --json, library callers and tests. */
export const NO_PROGRESS: Progress = { step() {}, update() {}, done() {} }

const CLEAR_LINE = '\r\x1b[2K'

/** Progress written with `write` (raw text, e.g. process.stderr.write); `tty` picks the form. */
export function progressLine(write: (text: string) => void, tty: boolean): Progress {
  let live = false
  let last = ''
  return {
    step(text) {
      if (tty) {
        write(CLEAR_LINE + text)
        live = true
      } else if (text !== last) {
        write(text + '\n')
      }
      last = text
    },
    update(text) {
      if (!tty) return
      write(CLEAR_LINE + text)
      live = true
    },
    done() {
      if (tty && live) write(CLEAR_LINE)
      live = false
    },
  }
}

/** Whole seconds since `startMs`, for progress lines. */
export function secondsSince(startMs: number): string {
  return `${Math.floor((Date.now() - startMs) / 1000)} s`
}

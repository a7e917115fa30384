/**
 * Structured logs (STYLE.md): `log.info("block committed", {height, txs, ms})`.
 * Human lines by default, one JSON object per line with `--log-format json`.
 * Logs go to stderr so that stdout stays for command output.
 */
import type { Logger, LogLevel } from '../core/logger.js'

// The type lives in core/ (every layer logs through it); this is its one implementation.
export { silentLogger, type Logger, type LogLevel } from '../core/logger.js'

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }

export interface LoggerOptions {
  level: LogLevel
  format: 'human' | 'json'
  module?: string
  write?: (line: string) => void
}

function fmt(v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v
  if (v instanceof Error) return JSON.stringify(v.message)
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'undefined'
}

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'))
  const max = LEVELS[opts.level]
  const emit = (level: LogLevel, msg: string, ctx: Record<string, unknown> = {}): void => {
    if (LEVELS[level] > max) return
    const time = new Date().toISOString()
    if (opts.format === 'json') {
      write(JSON.stringify({ time, level, module: opts.module, msg, ...ctx }, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Error ? x.message : x)))
      return
    }
    const fields = Object.entries(ctx).map(([k, v]) => `${k}=${fmt(v)}`).join(' ')
    write(`${time} ${level.toUpperCase().padEnd(5)} ${opts.module ? `[${opts.module}] ` : ''}${msg}${fields ? ' ' + fields : ''}`)
  }
  return {
    error: (m, c) => emit('error', m, c),
    warn: (m, c) => emit('warn', m, c),
    info: (m, c) => emit('info', m, c),
    debug: (m, c) => emit('debug', m, c),
    child: (module) => createLogger({ ...opts, write, module: opts.module ? `${opts.module}/${module}` : module }),
  }
}

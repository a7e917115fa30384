/**
 * The logger every module takes (STYLE.md: structured logs,
 * `log.info("block committed", {height, txs, ms})`, never interpolated
 * strings). Declared here, at the bottom of the layering, so that p2p/, rpc/
 * and node/ share one type; the one implementation (human lines or JSON) is
 * node/logger.ts, and each module gets `logger.child(module)`.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug'

/** Fields of a log line; bigints and Errors are rendered by the implementation. */
export type LogContext = Record<string, unknown>

export interface Logger {
  error(msg: string, ctx?: LogContext): void
  warn(msg: string, ctx?: LogContext): void
  info(msg: string, ctx?: LogContext): void
  debug(msg: string, ctx?: LogContext): void
  /** The same logger with `module` appended to its module path (`node/p2p`). */
  child(module: string): Logger
}

/** The one no-op logger: for tests, and for modules whose caller passes none. */
export const silentLogger: Logger = {
  error() {}, warn() {}, info() {}, debug() {},
  child: () => silentLogger,
}

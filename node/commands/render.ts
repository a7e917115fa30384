import { formatOpen } from '../../core/amount.js'
import { amountFields } from '../../rpc/index.js'
import type { CliIo } from './command.js'

/**
 * The human view of command results: objects as aligned `key  value` lines,
 * arrays of objects as tables, amounts (the wire fields the API table marks
 * as amounts) in OPEN. `--json` prints the value itself instead.
 */

/** Wire fields holding amounts in units (every `amount` of the API table's result schemas); the human view shows them in OPEN. */
const AMOUNT_KEYS = amountFields()

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function cell(v: unknown, asAmount: boolean): string {
  if (v === null || v === undefined) return '-'
  if (asAmount && typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v)) return formatOpen(BigInt(v))
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

function table(rows: Record<string, unknown>[], indent = ''): string[] {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cells = rows.map((r) => cols.map((c) => cell(r[c], AMOUNT_KEYS.has(c))))
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)))
  const line = (xs: string[]) => indent + xs.map((x, i) => (i === xs.length - 1 ? x : x.padEnd(widths[i]))).join('  ')
  return [line(cols), ...cells.map(line)]
}

/** `key  value` lines, nested objects indented, arrays of objects as tables. */
export function keyValues(obj: Record<string, unknown>, indent = '', amounts = false): string[] {
  const width = Math.max(0, ...Object.keys(obj).map((k) => k.length))
  const out: string[] = []
  for (const [k, v] of Object.entries(obj)) {
    const asAmount = amounts || AMOUNT_KEYS.has(k)
    if (isObject(v)) {
      out.push(`${indent}${k}:`, ...keyValues(v, indent + '  ', asAmount))
    } else if (Array.isArray(v) && v.length > 0 && v.every(isObject)) {
      out.push(`${indent}${k}:`, ...table(v, indent + '  '))
    } else if (Array.isArray(v)) {
      out.push(`${indent}${k.padEnd(width)}  ${v.length === 0 ? '(none)' : v.map((x) => cell(x, asAmount)).join(', ')}`)
    } else {
      out.push(`${indent}${k.padEnd(width)}  ${cell(v, asAmount)}`)
    }
  }
  return out
}

/** Any JSON value as the human view prints it. */
export function renderHuman(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.every(isObject) ? table(v).join('\n') : v.map((x) => cell(x, false)).join('\n')
  if (isObject(v)) return keyValues(v).join('\n')
  return cell(v, false)
}

/** Print a command's result: one JSON document with --json, else `human()` (by default renderHuman). */
export function output(ctx: { io: CliIo; values: { json?: boolean } }, value: unknown, human: () => string = () => renderHuman(value)): void {
  ctx.io.stdout((ctx.values.json ? JSON.stringify(value) : human()) + '\n')
}

import type { Command, Opts } from './command.js'
import { COMMANDS, GROUPS } from './index.js'

/** The help texts: of `attrchain`, of a group (`attrchain tx`) and of one command, built from the declarations. */

function optionLines(opts: Opts): string[] {
  const rows = Object.entries(opts).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ' ' + o.arg : ''}`, o.desc])
  const w = Math.max(...rows.map((r) => r[0].length))
  return rows.map(([l, d]) => `  ${l.padEnd(w)}  ${d}`)
}

/** `attrchain <command> --help`: usage, summary, details, options. */
export function commandHelp(c: Command): string {
  return [
    `Usage: attrchain ${c.name}${c.args ? ' ' + c.args : ''} [options]`, '', c.summary + '.',
    ...(c.details ? ['', c.details] : []), '', 'Options:', ...optionLines(c.options),
  ].join('\n') + '\n'
}

function listLines(cmds: { name: string; args: string; summary: string }[], strip: string): string[] {
  const rows = cmds.map((c) => [c.name.slice(strip.length) + (c.args ? ' ' + c.args : ''), c.summary])
  const w = Math.max(...rows.map((r) => r[0].length))
  return rows.map(([n, s]) => `  ${n.padEnd(w)}  ${s}`)
}

/** `attrchain <group>`: the group's commands. */
export function groupHelp(group: string): string {
  return [
    `Usage: attrchain ${group} <command> [options]`, '', GROUPS[group] + '.', '', 'Commands:',
    ...listLines(COMMANDS.filter((c) => c.name.startsWith(group + ' ')), group + ' '), '',
    `Run "attrchain ${group} <command> --help" for its options.`,
  ].join('\n') + '\n'
}

/** `attrchain --help`: the top-level commands and the groups. */
export function mainHelp(): string {
  const top = COMMANDS.filter((c) => !c.name.includes(' '))
  const groups = Object.entries(GROUPS).map(([g, s]) => ({ name: `${g} <command>`, args: '', summary: s }))
  return [
    'Usage: attrchain <command> [options]', '',
    'attrchain: a proof-of-stake chain node for AI attribution.', '', 'Commands:',
    ...listLines([...top, ...groups], ''), '',
    'Run "attrchain <command> --help" for a command\'s options. Exit codes: 0 ok, 1 error, 2 usage error.',
  ].join('\n') + '\n'
}

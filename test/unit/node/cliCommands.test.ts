import t from 'tap'
import { main, type CliIo } from '../../../node/cli.js'
import { COMMANDS, GROUPS } from '../../../node/commands/index.js'
import { TX_TYPES } from '../../../core/tx.js'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { CHILD_ENV } from '../../helpers/childEnv.js'

/**
 * The command table of node/commands/ and the dispatcher of node/cli.ts
 * (issue 14: one file per command): every command is reachable, its help
 * documents every declared option, and the parser's errors stay usage
 * errors (exit 2, one line). No node is needed.
 */

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s }, env: {}, stopSignal: () => new Promise(() => {}) }
  const code = await main(args, io)
  return { code, stdout, stderr }
}

t.test('every command is declared once, in a known group, and its help lists every option', async (t) => {
  const names = COMMANDS.map((c) => c.name)
  t.equal(new Set(names).size, names.length, 'no two commands share a name')
  for (const type of TX_TYPES) t.ok(names.includes(`tx ${type}`), `tx ${type} is a command`)
  for (const c of COMMANDS) {
    const words = c.name.split(' ')
    if (words.length > 1) t.ok(words[0] in GROUPS, `${c.name}: its group is declared`)
    t.ok(c.minArgs <= c.maxArgs, `${c.name}: minArgs <= maxArgs`)
    const r = await cli([...words, '--help'])
    t.equal(r.code, 0, `${c.name} --help exits 0`)
    t.ok(r.stdout.startsWith(`Usage: attrchain ${c.name}`), `${c.name} --help starts with its usage line`)
    for (const [opt, spec] of Object.entries(c.options)) {
      t.match(r.stdout, `--${opt}${spec.arg ? ' ' + spec.arg : ''}`, `${c.name} --help documents --${opt}`)
      if (spec.short) t.match(r.stdout, `-${spec.short}, --${opt}`, `${c.name} --help documents -${spec.short}`)
    }
  }
  for (const group of Object.keys(GROUPS)) {
    t.ok(names.some((n) => n.startsWith(group + ' ')), `group ${group} has commands`)
    const r = await cli([group])
    t.equal(r.code, 2, `${group} alone prints its help and exits 2`)
    t.ok(r.stdout.startsWith(`Usage: attrchain ${group} <command>`), `${group}: group usage`)
  }
})

t.test('parser and validator errors are usage errors: exit 2, one line, nothing on stdout', async (t) => {
  const cases: [string[], string][] = [
    [['status', '--rpc'], 'error: Option \'--rpc <value>\' argument missing; see "attrchain status --help"'],
    [['keys', 'list', 'extra'], 'error: attrchain keys list takes no arguments; see "attrchain keys list --help"'],
    [['init', '--json=yes'], 'error: Option \'--json\' does not take an argument'],
    [['devnet', '--block-time', '-1'], 'error: Option \'--block-time\' argument is ambiguous'],
    [['testnet', '-o', 'x'], 'error: --hosts is required'],
    [['query', 'datanets', '--limit', '1.5'], 'error: --limit must be a non-negative integer, got "1.5"'],
    [['verify', 'header', '1', '--trust-hash', '0x00'], 'error: --trust-height and --trust-hash go together'],
  ]
  for (const [args, prefix] of cases) {
    const r = await cli(args)
    t.equal(r.code, 2, `${args.join(' ')}: exit code 2`)
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`)
    t.equal(r.stderr.split('\n').filter(Boolean).length, 1, `${args.join(' ')}: one line`)
    t.ok(r.stderr.startsWith(prefix), `${args.join(' ')}: ${JSON.stringify(r.stderr)} starts with ${JSON.stringify(prefix)}`)
  }
})

t.test('typed option values reach the command: --print signs offline with --chain-id, --nonce and --fee', async (t) => {
  const to = '0x' + '11'.repeat(20)
  const r = await cli(['tx', 'transfer', to, '1OPEN', '--key', '0x' + '22'.repeat(32), '--chain-id', 'c-1', '--nonce', '7', '--fee', '3', '--print', '--json'])
  t.equal(r.code, 0, `exit 0 (${r.stderr})`)
  const printed = JSON.parse(r.stdout) as { raw: string; chainId: string; nonce: number; fee: string }
  t.match(printed, { chainId: 'c-1', nonce: 7, fee: '3' }, 'chain id, nonce and fee from the flags')
  t.match(printed.raw, /^0x[0-9a-f]+$/, 'the raw tx')
  const human = await cli(['tx', 'transfer', to, '1OPEN', '--key', '0x' + '22'.repeat(32), '--chain-id', 'c-1', '--nonce', '7', '--fee', '3', '--print'])
  t.equal(human.stdout, printed.raw + '\n', 'without --json: the raw tx alone')
})

t.test('the command table loads none of the node: no libp2p, viem, LevelDB or prom-client until a command that needs one runs', async (t) => {
  // Every module the child resolves is written to a file by a resolve hook registered ahead of tsx.
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-cli-modules-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const log = join(dir, 'resolved.txt')
  const hooks = join(dir, 'hooks.mjs')
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context)
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n')
  return r
}
`)
  const register = join(dir, 'register.mjs')
  writeFileSync(register, `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`)
  const cli = fileURLToPath(new URL('../../../node/cli.ts', import.meta.url))
  const run = spawnSync(process.execPath, ['--import', register, '--import', 'tsx', '--input-type=module', '-e',
    `const { main } = await import(${JSON.stringify(pathToFileURL(cli).href)}); process.exitCode = await main(['--help'], { stdout() {}, stderr() {}, env: {}, stopSignal: () => new Promise(() => {}) })`,
  ], { env: CHILD_ENV, encoding: 'utf8', cwd: fileURLToPath(new URL('../../..', import.meta.url)) })
  t.equal(run.status, 0, `attrchain --help in a child exits 0 (${run.stderr.slice(0, 500)})`)
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean)
  t.ok(urls.some((u) => u.endsWith('/node/commands/start.ts')), `the command table was loaded (${urls.length} modules)`)
  for (const heavy of ['/node_modules/libp2p/', '/node_modules/@libp2p/', '/node_modules/viem/', '/node_modules/classic-level/', '/node_modules/prom-client/', '/node/node.ts']) {
    t.same(urls.filter((u) => u.includes(heavy)).slice(0, 3), [], `nothing under ${heavy}`)
  }
})

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AttrchainError } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import { CheckpointKey } from '../core/checkpointKey.js'
import { KeyPair } from '../core/keys.js'
import { parseHumanAmount, UNITS_PER_OPEN } from '../core/amount.js'
import { genesisHash, genesisToJson, parseGenesis, DEFAULT_COMMISSION_BPS, type Genesis } from '../genesis/genesis.js'
import { defaultParams } from '../genesis/params.js'
import { initHome } from './init.js'
import { homePaths, writeFileDurable } from './home.js'
import { createNodeKey } from './devnet.js'

/**
 * `attrchain testnet` (as `cometbft testnet` / `simd testnet init-files`):
 * the files of a multi-machine network, written on one machine and copied
 * to the others. N validator homes and M full-node homes spread round-robin
 * over `--hosts`, one shared genesis with fresh (secret) validator keys,
 * every node's persistent peers, and a summary of who runs where. Starts
 * nothing.
 */

/** What `TestnetError` carries. */
export type TestnetErrorCode =
  /** the output dir is not empty and --force was not given */
  | 'TESTNET_ERROR_EXISTS'
  /** an option out of range or inconsistent (`meta.field` names it) */
  | 'TESTNET_ERROR_INVALID'

export class TestnetError extends AttrchainError<TestnetErrorCode> {}

export interface TestnetOptions {
  /** IPv4 addresses or DNS names the nodes run on; node k goes to hosts[k % hosts.length] */
  hosts: string[]
  validators: number
  fullNodes: number
  /** output dir: DIR/validatorI, DIR/fullnodeJ, DIR/testnet.json, DIR/accounts.json */
  output: string
  chainId: string
  /** self-stake of each validator (units); one entry per validator, or one for all */
  stakes: bigint[]
  /** liquid balance of each validator's account (units) */
  validatorBalance: bigint
  /** extra funded accounts (keys in DIR/accounts.json) */
  accounts: number
  /** balance of each extra account (units) */
  accountBalance: bigint
  /** genesis params overriding the defaults, as in genesis.json (amounts as decimal strings of units) */
  params: Record<string, unknown>
  /** RFC 3339; default: now */
  genesisTime?: string
  /** p2p port of the first node on a host; the k-th node on one host gets basePort + k */
  p2pPort: number
  /** same for JSON-RPC */
  rpcPort: number
  /** replace an existing DIR */
  force: boolean
}

export const defaultTestnetOptions: Omit<TestnetOptions, 'hosts' | 'output'> = {
  validators: 4,
  fullNodes: 0,
  chainId: 'attrchain-testnet',
  stakes: [100_000n * UNITS_PER_OPEN],
  validatorBalance: 10_000n * UNITS_PER_OPEN,
  accounts: 1,
  accountBalance: 1_000_000n * UNITS_PER_OPEN,
  params: {},
  p2pPort: 26656,
  rpcPort: 8545,
  force: false,
}

export interface TestnetNode {
  /** `validator0`, `fullnode1`, …: also the home's dir name under DIR */
  name: string
  role: 'validator' | 'full'
  host: string
  home: string
  p2pPort: number
  rpcPort: number
  peerId: string
  /** `/ip4/HOST/tcp/PORT/p2p/PEERID` (or `/dns4/…`), as bootstrap lists want it */
  p2p: string
  /** the validator's address, `null` for a full node */
  validator: string | null
}

export interface TestnetLayout {
  chainId: string
  genesisHash: string
  genesis: Genesis
  nodes: TestnetNode[]
  /** funded accounts; their private keys are in DIR/accounts.json */
  accounts: string[]
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const DNS_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

function hostMultiaddr(host: string, port: number): string {
  return `${IPV4_RE.test(host) ? '/ip4/' : '/dns4/'}${host}/tcp/${port}`
}

/** Nodes on a loopback host listen there; on any other host they listen on every interface (the host's address may be a NAT's). */
function listenHost(host: string): string {
  return host.startsWith('127.') || host === 'localhost' ? host : '0.0.0.0'
}

function check(opts: TestnetOptions): void {
  const bad = (message: string, field: string): never => {
    throw new TestnetError('TESTNET_ERROR_INVALID', message, { field })
  }
  if (opts.hosts.length === 0) bad('--hosts needs at least one host', 'hosts')
  for (const h of opts.hosts) if (!IPV4_RE.test(h) && (!DNS_RE.test(h) || /^[\d.]+$/.test(h))) bad(`host "${h}" is neither an IPv4 address nor a DNS name`, 'hosts')
  if (!Number.isInteger(opts.validators) || opts.validators < 1) bad('--validators must be at least 1', 'validators')
  if (!Number.isInteger(opts.fullNodes) || opts.fullNodes < 0) bad('--full-nodes must be 0 or more', 'fullNodes')
  if (opts.stakes.length !== 1 && opts.stakes.length !== opts.validators) bad(`--stakes needs one amount, or one per validator (${opts.validators})`, 'stakes')
  const perHost = Math.ceil((opts.validators + opts.fullNodes) / opts.hosts.length)
  for (const [flag, port] of [['--p2p-port', opts.p2pPort], ['--rpc-port', opts.rpcPort]] as const) {
    if (!Number.isInteger(port) || port < 1 || port + perHost - 1 > 65_535) bad(`${flag} leaves no room for ${perHost} node(s) per host`, flag)
  }
  const sameHostPorts = Math.abs(opts.p2pPort - opts.rpcPort) < perHost
  if (sameHostPorts) bad(`--p2p-port and --rpc-port ranges overlap (${perHost} node(s) per host)`, 'p2pPort')
}

/** The genesis, validated by the same parser that every node runs on it: a bad --params is refused here with the field's name. */
function buildGenesis(opts: TestnetOptions, validatorKeys: KeyPair[], accountKeys: KeyPair[]): Genesis {
  const stakeOf = (i: number): bigint => opts.stakes[opts.stakes.length === 1 ? 0 : i]
  const json = {
    chainId: opts.chainId,
    genesisTime: opts.genesisTime ?? new Date().toISOString(),
    params: { ...genesisToJson({ chainId: opts.chainId, genesisTime: '', params: defaultParams(), accounts: [], validators: [] }).params as object, ...opts.params },
    accounts: [
      ...validatorKeys.map((k) => ({ address: k.address, balance: opts.validatorBalance.toString() })),
      ...accountKeys.map((k) => ({ address: k.address, balance: opts.accountBalance.toString() })),
    ],
    validators: validatorKeys.map((k, i) => ({
      address: k.address, pubKey: toHex(k.publicKey), stake: stakeOf(i).toString(), moniker: `validator${i}`, commissionBps: DEFAULT_COMMISSION_BPS,
      // the key `attrchain init` writes next to the validator key (node/checkpointKeyFile.ts)
      checkpointAddress: CheckpointKey.derivedFrom(k.seed).address,
    })),
  }
  try {
    return parseGenesis(json)
  } catch (e) {
    throw new TestnetError('TESTNET_ERROR_INVALID', `the genesis would be invalid: ${(e as Error).message}`, { field: 'genesis' })
  }
}

/**
 * Write the testnet's files. Returns the layout also written to
 * DIR/testnet.json. Refuses a non-empty DIR unless `force` (its homes'
 * chain data would no longer match the new genesis).
 */
export async function writeTestnet(opts: TestnetOptions): Promise<TestnetLayout> {
  check(opts)
  if (existsSync(opts.output) && readdirSync(opts.output).length > 0 && !opts.force) {
    throw new TestnetError('TESTNET_ERROR_EXISTS', `${opts.output} is not empty; use --force to replace it`, { output: opts.output })
  }
  const validatorKeys = Array.from({ length: opts.validators }, () => KeyPair.generate())
  const accountKeys = Array.from({ length: opts.accounts }, () => KeyPair.generate())
  const genesis = buildGenesis(opts, validatorKeys, accountKeys)
  const hash = genesisHash(genesis)

  const roles = [
    ...validatorKeys.map((key, i) => ({ name: `validator${i}`, role: 'validator' as const, key })),
    ...Array.from({ length: opts.fullNodes }, (_, j) => ({ name: `fullnode${j}`, role: 'full' as const, key: null })),
  ]
  const onHost = new Map<string, number>()
  const nodes: TestnetNode[] = []
  for (const [k, r] of roles.entries()) {
    const host = opts.hosts[k % opts.hosts.length]
    const slot = onHost.get(host) ?? 0
    onHost.set(host, slot + 1)
    const home = join(opts.output, r.name)
    initHome({ home, genesis, validatorKey: r.key, force: true })
    const { peerId } = await createNodeKey(homePaths(home).nodeKey)
    const p2pPort = opts.p2pPort + slot
    nodes.push({
      name: r.name, role: r.role, host, home, p2pPort, rpcPort: opts.rpcPort + slot, peerId,
      p2p: `${hostMultiaddr(host, p2pPort)}/p2p/${peerId}`, validator: r.key?.address ?? null,
    })
  }
  for (const node of nodes) {
    const config = {
      p2pHost: listenHost(node.host), p2pPort: node.p2pPort, rpcPort: node.rpcPort,
      bootstrap: nodes.filter((n) => n !== node).map((n) => n.p2p),
    }
    writeFileDurable(homePaths(node.home).config, JSON.stringify(config, null, 2) + '\n')
  }
  const layout: TestnetLayout = { chainId: genesis.chainId, genesisHash: hash, genesis, nodes, accounts: accountKeys.map((k) => k.address) }
  writeFileDurable(join(opts.output, 'genesis.json'), JSON.stringify(genesisToJson(genesis), null, 2) + '\n')
  writeFileDurable(join(opts.output, 'accounts.json'), JSON.stringify(accountKeys.map((k) => ({ address: k.address, privateKey: toHex(k.seed) })), null, 2) + '\n', 0o600)
  writeFileDurable(join(opts.output, 'testnet.json'), JSON.stringify(summaryJson(layout), null, 2) + '\n')
  return layout
}

/** The public part of the layout (no keys): DIR/testnet.json and `--json`. */
export function summaryJson(layout: TestnetLayout): Record<string, unknown> {
  return {
    chainId: layout.chainId,
    genesisHash: layout.genesisHash,
    nodes: layout.nodes.map((n) => ({ name: n.name, role: n.role, host: n.host, home: n.home, p2p: n.p2p, rpcPort: n.rpcPort, validator: n.validator })),
    accounts: layout.accounts,
  }
}

/** Who runs where, and what to do on each host. */
export function summaryLines(layout: TestnetLayout, output: string): string[] {
  const rows = [['node', 'role', 'host', 'p2p port', 'rpc port', 'validator'], ...layout.nodes.map((n) => [n.name, n.role, n.host, String(n.p2pPort), String(n.rpcPort), n.validator ?? '-'])]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const hosts = [...new Set(layout.nodes.map((n) => n.host))]
  return [
    `attrchain testnet: ${layout.chainId}, ${layout.nodes.filter((n) => n.role === 'validator').length} validator(s), ${layout.nodes.filter((n) => n.role === 'full').length} full node(s) on ${hosts.length} host(s)`,
    `Genesis hash  ${layout.genesisHash}`,
    `Files         ${output} (summary in testnet.json; funded account keys in accounts.json, keep it secret)`,
    '',
    ...rows.map((r) => '  ' + r.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd()),
    '',
    'On each host, copy its node dirs and run one process per dir:',
    ...hosts.map((h) => `  ${h}: ${layout.nodes.filter((n) => n.host === h).map((n) => `attrchain start --home ${n.name}`).join('; ')}`),
    `Open each node's p2p port to the other hosts. RPC listens on 127.0.0.1 (set rpcHost in config.json to expose it).`,
  ]
}

/** `--stakes 100000OPEN,50000OPEN` (or units) → bigints. */
export function parseStakes(arg: string): bigint[] {
  return arg.split(',').map((s, i) => parseHumanAmount(s.trim(), `--stakes[${i}]`))
}

/** `--params FILE` or inline JSON: an object of genesis params. */
export function readParamsArg(arg: string): Record<string, unknown> {
  let text = arg
  if (!arg.trimStart().startsWith('{')) {
    if (!existsSync(arg)) throw new TestnetError('TESTNET_ERROR_INVALID', `--params: no file ${arg} (give a JSON file or inline JSON)`, { field: 'params' })
    text = readFileSync(arg, 'utf8')
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new TestnetError('TESTNET_ERROR_INVALID', `--params is not valid JSON: ${(e as Error).message}`, { field: 'params' })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TestnetError('TESTNET_ERROR_INVALID', '--params must be a JSON object', { field: 'params' })
  return raw as Record<string, unknown>
}

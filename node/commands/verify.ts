import { existsSync } from 'node:fs'
import { formatOpen } from '../../core/amount.js'
import type { Hex } from '../../core/tx.js'
import { genesisHash, genesisTimeMs, type Genesis } from '../../genesis/genesis.js'
import { PROOF_KINDS, ProofSpecError, proofKey, type ProofKind } from '../../state/proofSpec.js'
import {
  AttrchainClient, LightClient, LightClientError, RpcLightProvider, genesisValidatorSet, verifyStateEntry, type TrustRoot, type VerifiedHeader,
} from '../../rpc/index.js'
import { homePaths, readGenesisFile } from '../home.js'
import { command, usage, homeOf, rpcUrlOf, RPC, HOME, JSON_OPT, HELP } from './command.js'
import { argHash, argHeight, argUint } from './args.js'

/**
 * `attrchain verify <what> <id>`: ask a node for something, and believe it
 * only once it is proven — the header by the light client (rpc/lightClient.ts)
 * from a trust root the user holds (a genesis file, or a checkpoint height
 * and hash), the value by its state proof against that header's stateRoot.
 * Exit 0 when everything checks out; 1 with a loud VERIFICATION FAILED on
 * stderr when the node's answer does not (a lying or broken node), or with
 * one error line when the node cannot be reached.
 */

/** What can be verified: `header` (ID a height or "latest") and every state_getProof kind (state/proofSpec.ts). */
export const VERIFY_KINDS = ['header', ...PROOF_KINDS] as const
export type VerifyKind = (typeof VERIFY_KINDS)[number]

/** Why ID does not fit WHAT (a usage error), or null. */
export function verifyIdProblem(what: VerifyKind, id: string): string | null {
  if (what === 'header') return id === 'latest' || (/^[1-9][0-9]*$/.test(id) && Number.isSafeInteger(Number(id))) ? null : `header ID must be a height or "latest", got "${id}"`
  try {
    proofKey(what, id)
    return null
  } catch (e) {
    if (e instanceof ProofSpecError) return e.reason
    throw e
  }
}

export interface VerifyOptions {
  what: VerifyKind
  id: string
  /** the height whose state is read; 'latest' = the node's head */
  height: number | 'latest'
  rpc: string
  /** a trusted checkpoint; without it the genesis is the root */
  checkpoint: { height: number; hash: Hex } | null
  /** the genesis trusted when there is no checkpoint */
  genesis: Genesis | null
  trustingPeriodMs?: number
  json: boolean
}

export interface VerifyIo {
  stdout(text: string): void
  stderr(text: string): void
  now(): number
}

/** The one-line account of what proved a header: who signed it, with how much power, from which root. */
export interface VerifiedSummary {
  verified: true
  what: VerifyKind
  id: string
  height: number
  blockHash: Hex
  stateRoot: Hex
  signedPower: string
  totalPower: string
  signers: number
  validators: number
  via: VerifiedHeader['via']
  root: { kind: 'genesis'; genesisHash: Hex } | { kind: 'checkpoint'; height: number; hash: Hex }
  lightBlocksFetched: number
  value: unknown
}

function percent(part: bigint, total: bigint): string {
  return total === 0n ? '0' : (Number((part * 10_000n) / total) / 100).toFixed(2)
}

async function trustRoot(o: VerifyOptions, client: AttrchainClient): Promise<{ root: TrustRoot; chainId: string; summary: VerifiedSummary['root'] }> {
  const status = await client.status()
  if (o.checkpoint) {
    // the chain id only has to be right: a header of another chain never hashes to the trusted hash
    return { root: { kind: 'checkpoint', ...o.checkpoint }, chainId: status.chainId, summary: { kind: 'checkpoint', ...o.checkpoint } }
  }
  const g = o.genesis
  if (g === null) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', 'nothing to trust: give --genesis FILE (or a home with genesis.json) or --trust-height H --trust-hash 0x…')
  const gh = genesisHash(g)
  if (status.chainId !== g.chainId || status.genesisHash !== gh) {
    throw new LightClientError('LIGHT_ERROR_GENESIS_MISMATCH', `the node serves chain "${status.chainId}" (genesis ${status.genesisHash}), not the trusted "${g.chainId}" (genesis ${gh})`)
  }
  return { root: { kind: 'genesis', timeMs: genesisTimeMs(g), validators: genesisValidatorSet(g.validators) }, chainId: g.chainId, summary: { kind: 'genesis', genesisHash: gh } }
}

function headerHeight(id: string): number | 'latest' {
  if (id === 'latest') return id
  if (!/^[1-9][0-9]*$/.test(id) || !Number.isSafeInteger(Number(id))) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', `header ID must be a height or "latest", got "${id}"`)
  return Number(id)
}

/** Run the verification; returns the summary or throws (LightClientError on any mismatch). */
export async function verifyOnce(o: VerifyOptions, now: () => number): Promise<VerifiedSummary> {
  const client = new AttrchainClient(o.rpc)
  const { root, chainId, summary } = await trustRoot(o, client)
  const lc = new LightClient({ chainId, ...(o.trustingPeriodMs !== undefined ? { trustingPeriodMs: o.trustingPeriodMs } : {}) }, root, { provider: new RpcLightProvider(client), now })
  let v: VerifiedHeader
  let value: unknown
  if (o.what === 'header') {
    v = await lc.verifyHeight(headerHeight(o.id))
    value = v.header
  } else {
    const entry = await verifyStateEntry(lc, client, o.what as ProofKind, o.id, o.height)
    v = entry.header
    value = entry.value
  }
  return {
    verified: true, what: o.what, id: o.id, height: v.header.height, blockHash: v.hash, stateRoot: v.header.stateRoot,
    signedPower: v.signedPower.toString(), totalPower: v.validators.totalPower.toString(),
    signers: v.signers, validators: v.validators.size, via: v.via, root: summary, lightBlocksFetched: lc.fetched.length,
    value,
  }
}

function fieldLines(o: Record<string, unknown>, indent: string): string[] {
  const width = Math.max(0, ...Object.keys(o).map((k) => k.length))
  return Object.entries(o).map(([k, v]) => `${indent}${k.padEnd(width)}  ${typeof v === 'string' ? v : JSON.stringify(v)}`)
}

function humanLines(s: VerifiedSummary): string[] {
  const rootLine = s.root.kind === 'genesis' ? `genesis ${s.root.genesisHash}` : `checkpoint ${s.root.height} ${s.root.hash}`
  return [
    `VERIFIED ${s.what} ${s.id} at height ${s.height}`,
    `  block       ${s.blockHash}`,
    `  state root  ${s.stateRoot}`,
    `  signed by   ${formatOpen(BigInt(s.signedPower))} of ${formatOpen(BigInt(s.totalPower))} power (${percent(BigInt(s.signedPower), BigInt(s.totalPower))} %), ${s.signers} of ${s.validators} validators`,
    `  trusted     from ${rootLine}, last step ${s.via}, ${s.lightBlocksFetched} light block${s.lightBlocksFetched === 1 ? '' : 's'} fetched`,
    ...(s.value === null
      ? [`  value       ABSENT: the proof shows no ${s.what} ${s.id} in the state at height ${s.height}`]
      : [s.what === 'header' ? '  header (verified):' : '  value (proven, amounts in units):', ...fieldLines(s.value as Record<string, unknown>, '    ')]),
  ]
}

function failureHeadline(e: LightClientError, rpc: string): string {
  if (e.code === 'LIGHT_ERROR_EXPIRED') {
    return 'the trusted root is older than the trusting period, so nothing can be verified from it: give --trust-height/--trust-hash of a recent block you trust '
      + '(or a longer --trusting-period if you accept that the validators who signed the root may have unbonded)'
  }
  if (e.code === 'LIGHT_ERROR_NOT_FOUND') return `the node at ${rpc} does not hold the data needed (a pruned or lagging node?); nothing was verified`
  return `the node at ${rpc} gave an answer that does not check out; do not trust it`
}

/**
 * The command: prints the summary (human or one JSON document) and returns
 * the exit code. A verification failure is printed loudly on stderr, with
 * the code of what failed; nothing the node said is printed as if verified.
 */
export async function runVerify(o: VerifyOptions, io: VerifyIo): Promise<number> {
  let s: VerifiedSummary
  try {
    s = await verifyOnce(o, io.now)
  } catch (e) {
    if (!(e instanceof LightClientError) || e.code === 'LIGHT_ERROR_BAD_OPTIONS') throw e
    const lines = ['', '!!! VERIFICATION FAILED !!!', `!!! ${o.what} ${o.id}: ${failureHeadline(e, o.rpc)}`, `!!! ${e.code}: ${e.reason}`, '']
    io.stderr(lines.join('\n'))
    if (o.json) io.stdout(JSON.stringify({ verified: false, what: o.what, id: o.id, error: { code: e.code, message: e.reason } }) + '\n')
    return 1
  }
  io.stdout((o.json ? JSON.stringify(s) : humanLines(s).join('\n')) + '\n')
  return 0
}

const isVerifyKind = (s: string): s is VerifyKind => (VERIFY_KINDS as readonly string[]).includes(s)

/** The command line of `attrchain verify WHAT ID`: checks the arguments, picks the trust root, runs runVerify. */
export const verifyCommand = command({
  name: 'verify', args: 'WHAT ID', minArgs: 2, maxArgs: 2,
  summary: 'Read something from --rpc and prove it: the header by the light client from a trusted genesis or checkpoint, the value by its state proof',
  details: 'WHAT: header (ID a height or latest); account, validator, ledger (ID an address; ledger = attribution totals by role); datanet, datanetTerms, '
    + 'contribution, contributionTotals, model, modelLineage (ID a 32-byte id). Trusted root: --trust-height H --trust-hash 0x… (a block hash you trust), else --genesis FILE, else HOME/genesis.json. '
    + 'Exit 0 when everything checks out; 1 with VERIFICATION FAILED on stderr when the node\'s answer does not.',
  options: {
    ...RPC, ...HOME,
    height: { type: 'string', arg: 'N', desc: 'the height whose state is read (default: the node\'s latest)' },
    'trust-height': { type: 'string', arg: 'H', desc: 'height of a trusted checkpoint' },
    'trust-hash': { type: 'string', arg: '0xHASH', desc: 'block hash of the trusted checkpoint' },
    genesis: { type: 'string', arg: 'FILE', desc: 'the trusted genesis file (default HOME/genesis.json)' },
    'trusting-period': { type: 'string', arg: 'HOURS', desc: 'how long a verified header may serve as a base (default 168)' },
    ...JSON_OPT, ...HELP,
  },
  async run(ctx) {
    const v = ctx.values
    const [what, id] = ctx.args
    if (!isVerifyKind(what)) usage(`WHAT must be one of ${VERIFY_KINDS.join(', ')}, got "${what}"`)
    const idProblem = verifyIdProblem(what, id)
    if (idProblem !== null) usage(idProblem)
    const th = argUint(v['trust-height'], '--trust-height')
    const tHash = v['trust-hash']
    if ((th === undefined) !== (tHash === undefined)) usage('--trust-height and --trust-hash go together')
    const genesisPath = v.genesis ?? homePaths(homeOf(ctx)).genesis
    const hours = argUint(v['trusting-period'], '--trusting-period')
    return runVerify({
      what, id,
      height: v.height === undefined ? 'latest' : argHeight(v.height, '--height'),
      rpc: rpcUrlOf(ctx),
      checkpoint: th === undefined || tHash === undefined ? null : { height: th, hash: argHash(tHash, '--trust-hash') },
      genesis: th !== undefined ? null : v.genesis !== undefined || existsSync(genesisPath) ? readGenesisFile(genesisPath) : null,
      ...(hours !== undefined ? { trustingPeriodMs: hours * 3_600_000 } : {}),
      json: Boolean(v.json),
    }, { stdout: ctx.io.stdout, stderr: ctx.io.stderr, now: () => Date.now() })
  },
})

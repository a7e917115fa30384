import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'
import { createRequire } from 'node:module'
import { KeyPair, ed25519Backend, verifySignatureNoble } from '../core/keys.js'
import { ed25519PreCheck, sodiumVerifierFrom, verifyNodeCryptoRaw, type RawVerifier } from '../core/ed25519.mjs'
import { sha256 } from '../core/hash.js'
import { decodeSignedTx, signTx } from '../core/tx.js'
import { devAccountKey } from '../genesis/devnet.js'
import { submitReceipts } from '../rpc/index.js'
import { benchTempDir } from './cluster.js'
import { log, nowMs, round } from './util.js'

/**
 * The physical ceilings the other figures are read against, each on one
 * core (this process's main thread): Ed25519 verification under the chain's
 * rule (core/ed25519.mjs pre-check included) with sodium-native, node:crypto
 * (cached public KeyObjects) and noble, SHA-256,
 * LevelDB batch writes, and the node's per-tx admission work (decode +
 * verify of a one-receipt tx).
 */

/** Calls `f(i)` in a loop for `seconds`; returns calls per second. */
function rate(seconds: number, f: (i: number) => void): number {
  const until = nowMs() + seconds * 1000
  let n = 0
  let t = nowMs()
  while (t < until) {
    for (let j = 0; j < 64; j++) f(n++)
    t = nowMs()
  }
  return n / (seconds + (t - until) / 1000)
}

async function levelPuts(seconds: number, sync: boolean): Promise<{ putsPerSec: number; batchesPerSec: number; batchSize: number; valueBytes: number; sync: boolean }> {
  const dir = benchTempDir()
  const db = new Level<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const batchSize = 1000
  const valueBytes = 100
  const value = randomBytes(valueBytes)
  let batches = 0
  let counter = 0
  const start = nowMs()
  try {
    while (nowMs() - start < seconds * 1000) {
      const ops = []
      for (let i = 0; i < batchSize; i++) ops.push({ type: 'put' as const, key: sha256(String(counter++)), value })
      await db.batch(ops, { sync })
      batches++
    }
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const s = (nowMs() - start) / 1000
  return { putsPerSec: round((batches * batchSize) / s), batchesPerSec: round(batches / s), batchSize, valueBytes, sync }
}

export async function runLimits(seconds: number): Promise<Record<string, unknown>> {
  const keys = Array.from({ length: 8 }, (_, i) => new KeyPair(sha256(`bench/limits/${i}`)))
  const messages = Array.from({ length: 1024 }, () => randomBytes(32))
  const signed = messages.map((m, i) => ({ key: keys[i % keys.length], message: m, signature: keys[i % keys.length].sign(m) }))
  const verify = (f: RawVerifier) => (i: number): void => {
    const s = signed[i & 1023]
    if (!f(s.key.publicKey, s.message, s.signature)) throw new Error('signature did not verify')
  }
  const withPreCheck = (raw: RawVerifier): RawVerifier => (pk, m, sig) => ed25519PreCheck(pk, sig) && raw(pk, m, sig)
  log('limits: Ed25519 sodium-native')
  const sodium = rate(seconds, verify(withPreCheck(sodiumVerifierFrom(() => createRequire(import.meta.url)('sodium-native')))))
  log('limits: Ed25519 node:crypto')
  const nodeCrypto = rate(seconds, verify(withPreCheck(verifyNodeCryptoRaw)))
  log('limits: Ed25519 noble')
  const noble = rate(seconds, verify(verifySignatureNoble))
  const preCheck = rate(seconds, (i) => {
    const s = signed[i & 1023]
    if (!ed25519PreCheck(s.key.publicKey, s.signature)) throw new Error('pre-check refused')
  })
  log('limits: SHA-256')
  const small = randomBytes(32)
  const kib = randomBytes(1024)
  const sha32 = rate(seconds, () => sha256(small))
  const sha1k = rate(seconds, () => sha256(kib))
  log('limits: tx decode + verify')
  const op = devAccountKey(3)
  const receipt = { modelId: randomBytes(32), payer: op.address, fee: 1000n, inputHash: randomBytes(32), outputHash: randomBytes(32), attribution: [[randomBytes(32), 1], [randomBytes(32), 3]] as [Uint8Array, number][] }
  const txs = Array.from({ length: 256 }, (_, nonce) => signTx({ chainId: 'attrchain-bench', nonce, fee: 10n ** 15n, call: submitReceipts([receipt]) }, op).bytes)
  const decodeVerify = rate(seconds, (i) => decodeSignedTx(txs[i & 255]))
  const decodeOnly = rate(seconds, (i) => decodeSignedTx(txs[i & 255], undefined, { verify: false }))
  const signRate = rate(seconds, (i) => signTx({ chainId: 'attrchain-bench', nonce: i, fee: 10n ** 15n, call: submitReceipts([receipt]) }, op))
  log('limits: LevelDB batches')
  const levelNoSync = await levelPuts(seconds, false)
  const levelSync = await levelPuts(seconds, true)
  return {
    secondsPerFigure: seconds,
    ed25519VerifyPerSec: {
      sodiumNative: round(sodium), nodeCrypto: round(nodeCrypto), noble: round(noble), preCheckOnly: round(preCheck), nodeUses: ed25519Backend.name,
      note: 'one core, 32-byte messages, each with the validity pre-check of core/ed25519.mjs; node:crypto with cached public KeyObjects; noble = core/keys.ts verifySignatureNoble (cofactorless, noble point arithmetic)',
    },
    sha256PerSec: { bytes32: round(sha32), bytes1024: round(sha1k), note: 'core/hash.ts sha256 (node:crypto createHash per call)' },
    oneReceiptTx: {
      bytes: txs[0].length,
      decodeAndVerifyPerSec: round(decodeVerify), decodeOnlyPerSec: round(decodeOnly), clientSignPerSec: round(signRate),
      note: 'core/tx.ts decodeSignedTx of a submitReceipts tx with 1 receipt and 2 attribution entries (the mempool admission ceiling per core); clientSign = signTx incl. building',
    },
    levelDbBatchPuts: [levelNoSync, levelSync],
  }
}

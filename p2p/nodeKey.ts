import { existsSync, readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { P2PError } from './errors.js'

/**
 * The node's libp2p identity, kept in the home dir so its peer id (and so
 * the multiaddrs other nodes bootstrap from) survives restarts:
 *   {"type": "Ed25519", "peerId": "12D3…", "privateKey": "<base64 libp2p protobuf>"}
 * `peerId` is informative; the key is the source of truth and must match it.
 */
interface NodeKeyFile {
  type: 'Ed25519'
  peerId: string
  privateKey: string
}

export async function loadOrCreateNodeKey(path: string): Promise<{ key: PrivateKey; created: boolean }> {
  if (existsSync(path)) return { key: readNodeKey(path), created: false }
  const key = await generateKeyPair('Ed25519')
  const file: NodeKeyFile = {
    type: 'Ed25519',
    peerId: peerIdFromPrivateKey(key).toString(),
    privateKey: Buffer.from(privateKeyToProtobuf(key)).toString('base64'),
  }
  mkdirSync(dirname(path), { recursive: true })
  // Write then rename, so a crash never leaves a half-written identity behind.
  const tmp = `${path}.tmp`
  writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 })
  renameSync(tmp, path)
  return { key, created: true }
}

function readNodeKey(path: string): PrivateKey {
  let file: Partial<NodeKeyFile>
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as Partial<NodeKeyFile>
  } catch (e) {
    throw new P2PError('P2P_ERROR_BAD_NODE_KEY', `node key ${path} is not readable JSON: ${(e as Error).message}`, { path })
  }
  if (file.type !== 'Ed25519' || typeof file.privateKey !== 'string') {
    throw new P2PError('P2P_ERROR_BAD_NODE_KEY', `node key ${path} must hold an Ed25519 privateKey`, { path })
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(Buffer.from(file.privateKey, 'base64'))
  } catch (e) {
    throw new P2PError('P2P_ERROR_BAD_NODE_KEY', `node key ${path} does not decode: ${(e as Error).message}`, { path })
  }
  if (key.type !== 'Ed25519') throw new P2PError('P2P_ERROR_BAD_NODE_KEY', `node key ${path} is ${key.type}, not Ed25519`, { path })
  const peerId = peerIdFromPrivateKey(key).toString()
  if (file.peerId !== undefined && file.peerId !== peerId) {
    throw new P2PError('P2P_ERROR_BAD_NODE_KEY', `node key ${path} names peer ${file.peerId} but its key is ${peerId}`, { path })
  }
  return key
}

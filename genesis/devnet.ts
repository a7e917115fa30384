import { sha256 } from '../core/hash.js'
import { KeyPair } from '../core/keys.js'
import { CheckpointKey } from '../core/checkpointKey.js'
import { UNITS_PER_OPEN } from '../core/amount.js'
import { defaultParams, type Params } from './params.js'
import { DEFAULT_COMMISSION_BPS, type Genesis } from './genesis.js'

/** DESIGN §7: dev keys are deterministic and public, like Hardhat's. */
export const DEVNET_CHAIN_ID = 'attrchain-devnet'
export const DEVNET_ACCOUNT_BALANCE = 1_000_000n * UNITS_PER_OPEN
export const DEVNET_VALIDATOR_STAKE = 100_000n * UNITS_PER_OPEN
export const DEVNET_VALIDATOR_LIQUID = 10_000n * UNITS_PER_OPEN
/** Fixed so that every devnet of the same shape has the same genesis hash. */
export const DEVNET_GENESIS_TIME = '2026-01-01T00:00:00.000Z'

export function devAccountKey(k: number): KeyPair {
  return new KeyPair(sha256(`attrchain/devnet/account/${k}`))
}

export function devValidatorKey(i: number): KeyPair {
  return new KeyPair(sha256(`attrchain/devnet/validator/${i}`))
}

export interface DevnetGenesisOptions {
  validators: number
  accounts: number
  params?: Partial<Params>
  /** per-validator stake override (unequal stakes in tests) */
  stakes?: bigint[]
  genesisTime?: string
}

export function buildDevnetGenesis(opts: DevnetGenesisOptions): Genesis {
  const validators = Array.from({ length: opts.validators }, (_, i) => {
    const key = devValidatorKey(i)
    return {
      address: key.address, pubKey: key.publicKey, stake: opts.stakes?.[i] ?? DEVNET_VALIDATOR_STAKE, moniker: `validator-${i}`, commissionBps: DEFAULT_COMMISSION_BPS,
      // the key `attrchain init` writes to the validator's home (node/checkpointKeyFile.ts)
      checkpointAddress: CheckpointKey.derivedFrom(key.seed).address,
    }
  })
  const accounts = [
    ...Array.from({ length: opts.accounts }, (_, k) => ({ address: devAccountKey(k).address, balance: DEVNET_ACCOUNT_BALANCE })),
    ...validators.map((v) => ({ address: v.address, balance: DEVNET_VALIDATOR_LIQUID })),
  ]
  return {
    chainId: DEVNET_CHAIN_ID,
    genesisTime: opts.genesisTime ?? DEVNET_GENESIS_TIME,
    params: { ...defaultParams(), ...opts.params },
    accounts,
    validators,
  }
}

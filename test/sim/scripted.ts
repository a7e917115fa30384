import { sha256 } from '../../core/hash.js'
import {
  ValidatorSet,
  proposalSignBytes,
  voteSignBytes,
  type UnsignedProposal,
  type UnsignedVote,
} from '../../consensus/index.js'
import type { Message, SimNode } from './node.js'
import type { Behaviour, Scenario, ValidatorSpec } from './scenario.js'
import { simKey, type World } from './world.js'

/**
 * Scripted adversarial scenarios (issue 11): message schedules that random
 * seeds do not find (3,000 random seeds missed a removed lock check). Each
 * is a Scenario run by the same World, with every invariant checked.
 */

const POWER = 10n

function base(seed: number, validators: ValidatorSpec[], heights: number, extra: Partial<Scenario> = {}): Scenario {
  return {
    seed,
    validators,
    heights,
    gstMs: 0,
    dropRate: 0,
    duplicateRate: 0,
    maxDelayMs: 10,
    stableMaxDelayMs: 10,
    partitions: [],
    crashes: [],
    slowLinks: [],
    powerChanges: [],
    gossipMs: 300,
    blockTimeMs: 200,
    ...extra,
  }
}

function equal(n: number, behaviour: (i: number) => Behaviour = () => 'honest'): ValidatorSpec[] {
  return Array.from({ length: n }, (_, i) => ({ power: POWER, behaviour: behaviour(i), joinsAt: 1 }))
}

/** Until this time the attack schedules the network; after it everything arrives (GST). */
const ATTACK_END_MS = 6000

/**
 * The lock attack (Tendermint's classic, with n = 4, f = 1): height 1,
 * round 0, the honest proposer's block X gets a polka that only N1 and N2
 * see; they lock on X and precommit it. The byzantine B (silent; the script
 * signs for it) adds its precommit for X at N1 only, so N1 decides X, and
 * sends nil to N2 and N3, which time out into round 1. B proposes round 1:
 * a new block Y, with validRound −1 (`lock`) or with a validRound of 0 it
 * has no polka for (`validRound`), and prevotes and precommits Y.
 *
 * Correct validators: N2 is locked on X and prevotes nil (`lock`), or no
 * honest node sees a polka for Y in round 0 and nobody prevotes Y
 * (`validRound`); Y never gets a polka, and X is decided later (or synced).
 * A validator that ignores its lock (or accepts a validRound without its
 * polka) prevotes Y with N3 and B: N2 and N3 decide Y while N1 decided X.
 */
export function lockAttack(kind: 'lock' | 'validRound', seed = 1): Scenario {
  const n = 4
  const infos = Array.from({ length: n }, (_, i) => ({ address: simKey(i).address, pubKey: simKey(i).publicKey, power: POWER }))
  const set = ValidatorSet.create(infos)
  const indexOf = (a: string): number => infos.findIndex((x) => x.address === a)
  const p0 = indexOf(set.proposer.address)
  const b = indexOf(set.proposersOfRounds(1)[0]!)
  const [n2, n3] = [0, 1, 2, 3].filter((i) => i !== p0 && i !== b) as [number, number]
  const n1 = p0
  const validators = equal(n, (i) => (i === b ? 'silent' : 'honest'))
  return base(seed, validators, 4, {
    gstMs: ATTACK_END_MS,
    script: {
      name: `${kind} attack`,
      route(from: SimNode, to: SimNode, msg: Message, now: number) {
        if (now >= ATTACK_END_MS) return undefined
        if (msg.kind === 'status' || msg.kind === 'blockRequest' || msg.kind === 'sync') return null
        const height = msg.kind === 'vote' ? msg.vote.height : msg.proposal.height
        if (height !== 1) return null
        // N3 must not see the round-0 polka for X: N2's prevote never reaches it
        if (msg.kind === 'vote' && msg.vote.type === 'prevote' && msg.vote.round === 0 && from.id === n2 && to.id === n3) return null
        return 2
      },
      setup(world: World) {
        const key = simKey(b)
        const by = world.nodes[b]!
        const x = sha256(world.makeBlock(1, 0, simKey(n1).address, false, null))
        const yBytes = world.makeBlock(1, 1, key.address, false, null)
        const y = sha256(yBytes)
        const vote = (type: 'prevote' | 'precommit', round: number, blockHash: Uint8Array | null): Message => {
          const u: UnsignedVote = { type, height: 1, round, blockHash, validator: key.address }
          return { kind: 'vote', vote: { ...u, signature: key.sign(voteSignBytes(world.chainId, u)) } }
        }
        const to = (i: number): SimNode => world.nodes[i]!
        world.inject(by, to(n3), vote('prevote', 0, null), 50)
        world.inject(by, to(n1), vote('prevote', 0, x), 50)
        world.inject(by, to(n2), vote('prevote', 0, x), 50)
        world.inject(by, to(n1), vote('precommit', 0, x), 50)
        world.inject(by, to(n2), vote('precommit', 0, null), 50)
        world.inject(by, to(n3), vote('precommit', 0, null), 50)
        const u: UnsignedProposal = { height: 1, round: 1, validRound: kind === 'lock' ? -1 : 0, blockHash: y, proposer: key.address }
        const proposal: Message = { kind: 'proposal', proposal: { ...u, signature: key.sign(proposalSignBytes(world.chainId, u)) }, bytes: yBytes }
        for (const i of [n2, n3]) {
          world.inject(by, to(i), proposal, 100)
          world.inject(by, to(i), vote('prevote', 1, y), 100)
          world.inject(by, to(i), vote('precommit', 1, y), 100)
        }
      },
    },
  })
}

/** The roles of the lock attack, for assertions: N1 decides X in round 0. */
export function lockAttackRoles(): { n1: number; b: number } {
  const infos = Array.from({ length: 4 }, (_, i) => ({ address: simKey(i).address, pubKey: simKey(i).publicKey, power: POWER }))
  const set = ValidatorSet.create(infos)
  return { n1: infos.findIndex((x) => x.address === set.proposer.address), b: infos.findIndex((x) => x.address === set.proposersOfRounds(1)[0]) }
}

/**
 * A lying sync peer (issue 11 item 2): a full node with the right chain
 * that claims height 1,000,000 in every status and answers every block
 * request with a block whose commit it signed itself. Validator 3 is down
 * for a while and catches up by block sync from the honest peers meanwhile.
 */
export function lyingPeer(seed = 1): Scenario {
  return base(seed, equal(4), 8, { extraNodes: ['liar'], crashes: [{ node: 3, atMs: 500, restartAtMs: 4000 }], gossipMs: 250 })
}

/** The slow validator of `slowValidators`. */
export const SLOW = 3
const SLOW_DELAY_MS = 150

/**
 * Slow validators (issue 11 item 1): everything validator 3 sends arrives
 * 150 ms after everyone else's (others: 3 ms), so the others always decide
 * with the first +2/3 before its precommit arrives. Its precommit comes
 * during their commit pause (400 ms) and must be in the next block's
 * lastCommit at every height: it is never counted absent.
 */
export function slowValidators(seed = 1): Scenario {
  return base(seed, equal(4), 10, {
    blockTimeMs: 400,
    script: {
      name: 'slow validator',
      route: (from) => (from.validatorIndex === SLOW ? SLOW_DELAY_MS : 3),
      maxDelayAfterGstMs: SLOW_DELAY_MS,
    },
  })
}

/** Four validators leave one by one (power 0 at heights 1, 2, 3: out of the set at 3, 4, 5) until one is left. */
export function shrinkToOne(seed = 1): Scenario {
  return base(seed, equal(4), 10, {
    powerChanges: [
      { height: 1, validator: 1, power: 0n },
      { height: 2, validator: 2, power: 0n },
      { height: 3, validator: 3, power: 0n },
    ],
  })
}

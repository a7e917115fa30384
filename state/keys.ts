/**
 * State keys, one prefix per entity kind (ASCII, '/'-separated, so that
 * lexicographic order groups a kind together). A retired prefix is never
 * reused. Sequence numbers are zero-padded to keep insertion order.
 */
const seq = (n: number): string => n.toString().padStart(12, '0')

export const K = {
  meta: () => 'meta',
  account: (a: string) => `acct/${a}`,
  allowance: (payer: string, operator: string) => `allow/${payer}/${operator}`,
  validator: (a: string) => `val/${a}`,
  validatorIndex: () => 'vals',
  validatorSet: (height: number) => `valset/${seq(height)}`,
  delegation: (delegator: string, validator: string) => `deleg/${delegator}/${validator}`,
  delegationsOf: (delegator: string) => `delegs/${delegator}`,
  unbonding: (a: string) => `unbond/${a}`,
  unbondingQueue: (height: number) => `unbondq/${seq(height)}`,
  datanet: (id: string) => `dn/${id}`,
  datanetBySeq: (n: number) => `dnseq/${seq(n)}`,
  contribution: (id: string) => `ctb/${id}`,
  datanetContribution: (datanetId: string, n: number) => `dnctb/${datanetId}/${seq(n)}`,
  // `myctb/` (an id list per contributor that grew with every accepted contribution) is retired (issue 12)
  rewardPosition: (contributor: string, datanetId: string) => `rpos/${contributor}/${datanetId}`,
  rewardPositionBySeq: (contributor: string, n: number) => `rposseq/${contributor}/${seq(n)}`,
  rewardPositions: (contributor: string) => `rposn/${contributor}`,
  model: (id: string) => `model/${id}`,
  modelBySeq: (n: number) => `mseq/${seq(n)}`,
  ledger: (a: string) => `ledger/${a}`,
  missed: (a: string) => `missed/${a}`,
  evidence: (a: string, height: number) => `evid/${a}/${seq(height)}`,
  /** the bonded stake of the set of `height` (kept while evidence of `height` may arrive) */
  stakeSnapshot: (height: number) => `valstake/${seq(height)}`,
  /** DESIGN §4.1: a model's terms, parents, frozen royalty stack, child count and lineage totals */
  modelLineage: (id: string) => `mlin/${id}`,
  /** the n-th model (1-based) registered with `parent` among its parents */
  modelChild: (parent: string, n: number) => `mchild/${parent}/${seq(n)}`,
  /** a Datanet's terms (curatorBps) and curation total */
  datanetTerms: (id: string) => `dnterms/${id}`,
  /** a contribution's synthetic source (frozen synthBps) and its curation/synthetic totals */
  contributionExtra: (id: string) => `ctbx/${id}`,
  /** what a synthetic reward position stands for: its Datanet, source model and synthBps (state/lineage.ts SynthPosition) */
  synthPosition: (id: string) => `spos/${id}`,
} as const

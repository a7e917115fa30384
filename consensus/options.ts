/**
 * Timeouts of Algorithm 1 grow linearly with the round so that after GST
 * they eventually exceed the real message delay (DESIGN §5; the paper's
 * timeoutPropose(r) etc.). Milliseconds; genesis params may override them.
 */
export interface TimeoutOptions {
  readonly proposeMs: number
  readonly proposeDeltaMs: number
  readonly prevoteMs: number
  readonly prevoteDeltaMs: number
  readonly precommitMs: number
  readonly precommitDeltaMs: number
}

export const defaultTimeoutOptions: TimeoutOptions = {
  proposeMs: 1000,
  proposeDeltaMs: 500,
  prevoteMs: 500,
  prevoteDeltaMs: 250,
  precommitMs: 500,
  precommitDeltaMs: 250,
}

/**
 * Messages for rounds further ahead than this are refused: each round costs
 * memory and a proposer computation, and honest peers are never that far
 * ahead within one height.
 */
export const DEFAULT_MAX_ROUNDS_AHEAD = 1000

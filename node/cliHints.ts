/**
 * What to do next, for the errors a new user meets most on the command
 * line (issue 16 item 4). `errorLine` (node/cli.ts) appends the hint of the
 * error's code to its one line; codes without a hint keep their message,
 * which already says what was wrong.
 */
const HINTS: Record<string, string> = {
  RPC_TRANSPORT_ERROR_NETWORK: 'is a node running there? Start one with "attrchain devnet" (or "attrchain start --home DIR"), or point --rpc / ATTRCHAIN_RPC at one',
  RPC_ERROR_TIMEOUT: 'see whether it landed later with "attrchain query tx HASH"',
  TX_ERROR_BAD_NONCE: 'leave out --nonce and the CLI uses the account\'s next nonce (see it with "attrchain query account ADDRESS")',
  TX_ERROR_INSUFFICIENT_BALANCE: 'see the balance with "attrchain query account ADDRESS"; on a devnet the dev accounts are funded ("attrchain devnet" prints them)',
  TX_ERROR_FEE_TOO_LOW: 'raise --fee or leave it out (the CLI then pays minTxFee, see "attrchain query params")',
  TX_ERROR_FEE_BELOW_MODEL_MIN: 'each receipt\'s fee must reach the model\'s minFee (see "attrchain query model ID")',
  TX_ERROR_WRONG_CHAIN: 'leave out --chain-id, or give the node\'s ("attrchain status")',
  TX_ERROR_UNKNOWN_MODEL: 'list the models with "attrchain query models"',
  TX_ERROR_UNKNOWN_DATANET: 'list the Datanets with "attrchain query datanets"',
  TX_ERROR_UNKNOWN_CONTRIBUTION: 'list a Datanet\'s contributions with "attrchain query contributions DATANET"',
  TX_ERROR_UNKNOWN_VALIDATOR: 'list the validators with "attrchain query validators"',
  MEMPOOL_ERROR_FULL: 'the node is busy: retry in a few seconds',
}

/** The hint for an error code, with HASH filled in from the message when it names a tx; null when there is none. */
export function hintFor(code: string | undefined, message: string): string | null {
  const hint = code === undefined ? undefined : HINTS[code]
  if (hint === undefined) return null
  const hash = /0x[0-9a-f]{64}/i.exec(message)?.[0]
  return hash ? hint.replace('HASH', hash) : hint
}

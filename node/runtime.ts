/**
 * V8 flags every node process runs with. A larger young generation cuts
 * the garbage collector's share of a loaded node (22 % of busy time in the
 * batch profile): `npm run bench` single-node one-receipt-per-tx went from
 * about 5,700 to 6,900 receipts/s with it. The devnet, the tests and the
 * benchmark start nodes with these flags; `bin/attrchain.js` carries them
 * in its shebang for direct runs; `node bin/attrchain.js start` without
 * them works, only slower under load.
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=64']

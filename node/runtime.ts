/**
 * V8 flags every node process runs with. A larger young generation cuts
 * the garbage collector's share of a loaded node (it was 17–22 % of busy
 * time in the batch profiles): with 64 MiB semi-spaces `npm run bench`
 * single-node one-receipt-per-tx went from about 5,700 to 6,900 receipts/s;
 * 128 MiB took block sync from about 112,000 to 128,000 receipts/s (blocks
 * are decoded one ahead, so more young objects live across a scavenge) for
 * about 60 MiB more peak RSS. The devnet, the tests and the benchmark start
 * nodes with these flags; `bin/attrchain.js` carries them in its shebang
 * for direct runs; `node bin/attrchain.js start` without them works, only
 * slower under load.
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=128']

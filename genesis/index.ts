export * from './params.js'
export * from './genesis.js'
export * from './devnet.js'

export * from './errors.js'
export * from './methodTable.js'
export * from './server.js'
export * from './transport.js'

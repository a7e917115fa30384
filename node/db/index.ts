export { ChainDb, type ChainDbOptions, type ChainDbModules, type BlockCommit, type MetaEntry, type StoredBlock } from './chainDb.js'
export { Bucket, SCHEMA_VERSION, nodeMetaKeys, type Head, type TxLocation, type ChainInfo } from './buckets.js'
export { DbError, type DbErrorCode } from './errors.js'

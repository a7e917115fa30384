#!/usr/bin/env -S node --max-semi-space-size=128
// The `attrchain` executable: the CLI is TypeScript, run through tsx's loader
// so that no build step stands between a checkout and a running node.
import { register } from 'tsx/esm/api'

// Stack traces point at the
// TypeScript lines rather than tsx's output.
process.setSourceMapsEnabled(true)
register()
const { main } = await import('../node/cli.ts')
process.exit(await main(process.argv.slice(2)))

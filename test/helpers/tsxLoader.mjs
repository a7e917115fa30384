// The TypeScript loader of the test processes (package.json "tap":
// "node-arg"), in place of tap's default plugin @tapjs/typescript.
//
// Why: @tapjs/typescript compiles through ts-node, per process and without a
// cache; a unit test importing the node spent about 3.5 s of its start-up
// there (localTx.test.ts: 9.3 s with ts-node against 5.8 s with tsx, tap's
// coverage hook loaded in both). tsx transforms with esbuild and keeps its
// transforms in a cache that all test processes share. tap's plugin for tsx
// (@tapjs/tsx) pins an older @tapjs/core than tap's own, so npm refuses it;
// what that plugin does is load tsx, which this file does.
//
// The first registration is ./tsxLoaderHooks.mjs: it runs in the loader
// thread, where tsx's loader runs, and makes tsx keep the original source
// in its source maps, which tap's coverage report needs (see that file).
import { register } from 'node:module'

register('./tsxLoaderHooks.mjs', import.meta.url)
const { register: registerTsx } = await import('tsx/esm/api')
registerTsx()

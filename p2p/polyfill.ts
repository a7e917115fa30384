/**
 * js-libp2p 3 and its helpers (it-queue, mortice, yamux, @libp2p/utils) call
 * `Promise.withResolvers`, which Node only ships from 22 on; our floor is
 * Node 20 (package.json engines). Without it the host throws
 * `Promise.withResolvers is not a function` on its first peer-store write.
 * This module must be evaluated before any libp2p code runs, so every p2p
 * module that imports libp2p imports it first.
 */
interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const P = Promise as PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> }

if (typeof P.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve']
      let reject!: Resolvers<T>['reject']
      const promise = new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
  })
}

export {}

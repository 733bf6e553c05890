'use strict'
// js-ipfs 0.66.1 (through its dependencies) calls Promise.withResolvers, which Node only
// has from 22. Loaded with NODE_OPTIONS=--require <this file> (see docs/ipfs.md).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve
    let reject
    const promise = new Promise((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

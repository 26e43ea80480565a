/**
 * Which JavaScript runtime runs proxy-aware, for the messages of startup
 * errors about a runtime: Bun and Deno run Node's APIs (`node:http`,
 * `node:net`, `node:tls`) through their own implementations, and report a
 * Node version in `process.version`.
 */
import { ProxyAwareConfigError } from './errors.js'

/** The version fields read (`process.versions` has them on each runtime). @internal */
export interface Versions {
  readonly [name: string]: string | undefined
  readonly bun?: string
  readonly deno?: string
}

/**
 * "Bun 1.4.5", "Deno 2.9.6" or "Node v22.3.0". @internal
 */
export const runtimeName = (versions: Versions = process.versions, node: string = process.version): string => {
  if (versions.bun !== undefined) return `Bun ${versions.bun}`
  if (versions.deno !== undefined) return `Deno ${versions.deno}`
  return `Node ${node}`
}

/**
 * Throws, naming the runtime, where a client certificate that the app's own
 * TLS server received cannot be verified as on Node: Bun 1.4.5's node:tls
 * server keeps `requestCert` and `ca` under an internal symbol, Deno
 * 2.9.6's keeps no `ca` on the server (read 2026-12-06, test/runtimes),
 * and proxy-aware verifies the chain again against the server's `ca`.
 * `option` is the option needing it. @internal
 */
export const checkTlsRuntime = (option: string, versions: Versions = process.versions): void => {
  if (versions.bun === undefined && versions.deno === undefined) return
  // forwarded certificates cannot be verified on Deno either (checkX509Runtime)
  const instead =
    versions.bun === undefined
      ? 'Run on Node'
      : 'Terminate mTLS in a proxy and use clientCert.forwarded, or run on Node'
  throw new ProxyAwareConfigError(
    option,
    `cannot verify client certificates received by the app's own TLS server on ${runtimeName(versions)}: its node:tls server does not expose the ca and requestCert proxy-aware verifies against, so the configuration cannot be checked. ${instead}`,
  )
}

/**
 * Throws on Deno, naming it: Deno 2.9.6's `X509Certificate.keyUsage`
 * reports the key usage bits (`KeyCertSign`, `CRLSign`, ...) where Node
 * and Bun report the extended key usage OIDs, so proxy-aware's
 * `clientAuth` checks would refuse every forwarded certificate as
 * `wrong_purpose` (tested 2026-12-06, test/runtimes/client-cert.mjs).
 * @internal
 */
export const checkX509Runtime = (option: string, versions: Versions = process.versions): void => {
  if (versions.deno === undefined) return
  throw new ProxyAwareConfigError(
    option,
    `cannot verify client certificates on ${runtimeName(versions)}: its node:crypto X509Certificate.keyUsage reports key usage where Node reports extended key usage, so every certificate would be refused. Run on Node or Bun`,
  )
}

/**
 * Whether an object whose prototype was changed by `Object.setPrototypeOf`
 * gets a hidden class of its own, so that every property added to it
 * afterwards allocates a new hidden class (about 1.3 kB and a call into
 * V8's runtime per property). Express changes the prototype of every
 * request and response, so state kept on them is dear there: proxy-aware
 * keeps it in WeakMaps instead. Seen with `%HaveSameMap` on V8 11.3 (Node
 * 20.20.2) and 12.4 (Node 22.23.5), not on V8 13.6 (Node 24.22.3) nor 14.6
 * (Node 26.12.1), 2026-12-07 (docs/benchmarks.md#an-express-route). Bun
 * (JavaScriptCore) and Deno (V8 14) are not affected. @internal
 */
export const ownShapeAfterSetPrototype = (versions: Versions = process.versions): boolean =>
  versions.bun === undefined && versions.deno === undefined && Number(versions.v8?.split('.')[0]) < 13

/** A set of objects. @internal */
export interface ObjectSet {
  add(o: object): void
  has(o: object): boolean
}

/**
 * A set of objects: a WeakSet where marking the objects would be dear
 * (`weak`, see ownShapeAfterSetPrototype), else a mark on each object
 * under a symbol (cheaper than a WeakSet where hidden classes are shared).
 * @internal
 */
export const objectSet = (name: string, weak: boolean): ObjectSet => {
  if (weak) return new WeakSet()
  const mark = Symbol(name)
  return {
    add: o => {
      ;(o as Record<symbol, true>)[mark] = true
    },
    has: o => (o as Record<symbol, true | undefined>)[mark] === true,
  }
}

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
  throw new ProxyAwareConfigError(
    option,
    `cannot verify client certificates received by the app's own TLS server on ${runtimeName(versions)}: its node:tls server does not expose the ca and requestCert proxy-aware verifies against, so the configuration cannot be checked. Terminate mTLS in a proxy and use clientCert.forwarded, or run on Node`,
  )
}

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

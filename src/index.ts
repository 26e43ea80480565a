/**
 * proxy-aware: the framework-free core. Imports no framework.
 * @module
 */
import { compileEngine, publicFace, type TrustProxy } from './engine/index.js'
import type { TrustProxyOptions } from './engine/options.js'
import { DEFAULT_FEATURES } from './features/index.js'

export { ProxyAwareConfigError } from './core/errors.js'
export type { Logger } from './core/options.js'
export { canonicalIp } from './parse/ip.js'
export type { TrustProxy } from './engine/index.js'
export type { TrustCertificateOptions } from './engine/identity.js'
export type { HeaderConvention, TrustProxyOptions } from './engine/options.js'
export {
  type PresetsFile,
  type PresetsFileEntry,
  refreshPresets,
  type RefreshPresetsOptions,
  type RefreshResult,
} from './vendors/index.js'
export type { RequestLike, Resolution, StopReason } from './engine/resolution.js'
export { PRESETS, type TrustFunction, type TrustMatch, type TrustOption } from './engine/trust.js'
export type { ExplainedHop, Explanation, ValueOrigin } from './engine/explain.js'
export { type FormatOptions, formatExplanation } from './engine/format.js'
export type { ClientIpHeader } from './vendors/index.js'
export type { Answer } from './features/feature.js'
export type { HttpsOptions } from './features/index.js'
export type { ExemptOption, HttpsRedirectOptions } from './features/https-redirect.js'
export type { HstsOptions } from './features/hsts.js'
export type { SecureCookiesOptions } from './features/secure-cookies.js'
export {
  assertClientCertServer,
  type ClientCertAllow,
  type ClientCertError,
  type ClientCertFailure,
  type ClientCertificate,
  clientCertErrorOf,
  clientCertOf,
  type ClientCertOptions,
  type ClientCertPolicy,
  type ClientCertRoutePolicy,
  type ForwardedCertSource,
  type ForwardedClientCertOptions,
  type SubjectAltNames,
} from './features/client-cert/index.js'

/**
 * Compile the options into a trust engine. Throws `ProxyAwareConfigError`
 * for anything doubtful.
 *
 * @example
 * const proxy = createTrustProxy({ trust: ['loopback', '10.0.0.0/8'] })
 * http.createServer((req, res) => {
 *   const { ip, protocol } = proxy.resolve(req)
 * })
 * @public
 */
export function createTrustProxy(options: TrustProxyOptions): TrustProxy {
  return publicFace(compileEngine(options, [], DEFAULT_FEATURES))
}

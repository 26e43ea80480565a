/**
 * proxy-aware: the framework-free core. Imports no framework.
 * @module
 */
export { ProxyAwareConfigError } from './errors.js'
export { canonicalIp } from './ip.js'
export {
  createTrustProxy,
  type HeaderConvention,
  type RequestLike,
  type Resolution,
  type StopReason,
  type TrustProxy,
  type TrustProxyOptions,
} from './resolve.js'
export { PRESETS, type TrustFunction, type TrustOption } from './trust.js'
export type { Answer, Logger } from './features.js'
export type { ExemptOption, HstsOptions, HttpsOptions, HttpsRedirectOptions } from './https.js'
export type { SecureCookiesOptions } from './cookies.js'
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
} from './mtls.js'

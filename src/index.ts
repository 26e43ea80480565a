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

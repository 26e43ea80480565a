/**
 * proxy-aware/tls: the app as TLS terminator. Secure server options
 * (`tlsOptions`), reloading of certificates, CAs and CRLs from files
 * without a restart (`watchTls`), and of the CA and CRLs that verify
 * forwarded client certificates (`watchForwardedCa`). Imports no framework.
 * @module
 */
export {
  type ClientCertMode,
  MOZILLA_INTERMEDIATE,
  type SecureServerOptions,
  type TlsMaterial,
  tlsOptions,
  type TlsOptionsInput,
} from './options.js'
export { type ForwardedCaWatcher, watchForwardedCa, type WatchForwardedCaOptions } from './forwarded.js'
export { type TlsReloadResult, type TlsServerLike, type TlsWatcher, watchTls, type WatchTlsOptions } from './watch.js'
export { ProxyAwareConfigError } from '../core/errors.js'
export type { Logger } from '../core/options.js'

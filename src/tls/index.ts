/**
 * proxy-aware/tls: the app as TLS terminator. Secure server options
 * (`tlsOptions`) and reloading of certificates, CAs and CRLs from files
 * without a restart (`watchTls`). Imports no framework.
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
export { type TlsReloadResult, type TlsServerLike, type TlsWatcher, watchTls, type WatchTlsOptions } from './watch.js'
export { ProxyAwareConfigError } from '../core/errors.js'
export type { Logger } from '../core/options.js'

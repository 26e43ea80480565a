/**
 * proxy-aware/proxy-protocol: the HAProxy PROXY protocol (v1 and v2) in
 * front of `net`, `http`, `https`, `tls` and `http2` servers, for apps
 * behind layer-4 load balancers (AWS NLB, HAProxy `mode tcp`, nginx
 * `stream`, GCP TCP proxy), including apps that terminate (m)TLS.
 * @module
 */
export { proxyProtocol, type ProxyProtocolOptions } from './server.js'
export { proxyProtocolOf, type ProxyProtocolInfo } from './info.js'
export type { ProxyProtocolTls } from './balancer-tls.js'
export { parseProxyHeader } from './parse.js'
export type { ParseResult } from './result.js'
export type {
  ProxyEndpoint,
  ProxyHeader,
  ProxyProtocolRejection,
  ProxyRawTlv,
  ProxySslInfo,
  ProxyTlvs,
} from './types.js'
export { ProxyAwareConfigError } from '../core/errors.js'

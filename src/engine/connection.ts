/**
 * The protocol of the connection a request came over, before any forwarded
 * header: `https` when the app's own socket is TLS, or when a trusted layer-4
 * load balancer said, in the PROXY protocol header that `proxyProtocol()`
 * accepted from it, that its client used TLS (it terminated TLS and relays
 * plain bytes). `proxyProtocol()` records that word on the socket under a
 * registry symbol, so that a second copy of the package (the ESM and the
 * CommonJS build) reads the same mark.
 */
import type { RequestLike } from './resolution.js'

/** What a trusted load balancer said about its client's TLS. @internal */
export interface BalancerTls {
  /**
   * `'ssl-tlv'`: the v2 header's PP2_TYPE_SSL TLV had PP2_CLIENT_SSL set;
   * `'listener'`: the header said nothing about TLS and the listener was
   * declared TLS-terminating (`proxyProtocol({ tls: 'terminated' })`)
   */
  by: 'ssl-tlv' | 'listener'
  /** the load balancer's address (the real socket peer) */
  balancer: string
}

/** @internal */
export const kBalancerTls = Symbol.for('proxy-aware.proxyProtocol.balancerTls')

type Marked = NonNullable<RequestLike['socket']> & { [kBalancerTls]?: BalancerTls }

/**
 * The load balancer's word that the client used TLS, when the app's socket
 * is not TLS itself (a TLS socket speaks for itself).
 */
export const balancerTlsOf = (socket: RequestLike['socket']): BalancerTls | undefined =>
  socket == null || socket.encrypted === true ? undefined : (socket as Marked)[kBalancerTls]

/** `https` when the socket is TLS or a trusted load balancer terminated TLS for it. */
export const connectionProtocol = (socket: RequestLike['socket']): 'http' | 'https' =>
  socket == null
    ? 'http'
    : socket.encrypted === true || (socket as Marked)[kBalancerTls] !== undefined
      ? 'https'
      : 'http'

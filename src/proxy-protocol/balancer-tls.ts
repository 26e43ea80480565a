/**
 * Load balancers that terminate TLS and send the PROXY protocol (hitch,
 * stunnel, HAProxy `mode tcp` with `ssl` on the bind, an AWS NLB TLS
 * listener) relay plain bytes: the app's socket is not TLS, yet the client
 * used https. The balancer's word is recorded on the socket for the trust
 * engine (engine/connection.ts), from either:
 *
 * - the v2 PP2_TYPE_SSL TLV with PP2_CLIENT_SSL set, "the client connected
 *   over SSL/TLS" (haproxy/haproxy doc/proxy-protocol.txt section 2.2.6, at
 *   commit 6e9b9196bd092d1d115a344e917f72b7dd7249cb of 2026-05-13, read
 *   2026-12-06); present, it decides, PP2_CLIENT_SSL unset meaning http;
 * - absent, the listener's `tls: 'terminated'` option, for senders that
 *   cannot say it: v1 has no room for it (stunnel `protocol = proxy`), and
 *   AWS documents one TLV only for its NLB, PP2_TYPE_AWS (0xEA) with the VPC
 *   endpoint id (Network Load Balancers guide, "Edit target group attributes",
 *   section "Proxy protocol",
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#proxy-protocol,
 *   read 2026-12-06), none for TLS.
 *
 * Only a relayed client (command PROXY) is marked: a LOCAL header is the
 * balancer's own connection (a health check), not a client's.
 */
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { type BalancerTls, kBalancerTls } from '../engine/connection.js'
import type { ProxyProtocolInfo } from './info.js'

/** The `tls` option of `proxyProtocol()`. @public */
export type ProxyProtocolTls = 'header' | 'terminated'

/** Check the `tls` option; true for `'terminated'`. */
export const compileBalancerTls = (value: unknown): boolean => {
  if (value === undefined || value === 'header') return false
  if (value === 'terminated') return true
  throw new ProxyAwareConfigError(
    'tls',
    `must be 'header' (https only when the v2 header's SSL TLV says the client used TLS) or 'terminated' (the load balancer terminates TLS for every client it relays), got ${show(value)}`,
  )
}

/** Record on `socket` that its client used TLS, when the balancer says so (or the listener is declared so). */
export const markBalancerTls = (socket: object, info: ProxyProtocolInfo, terminated: boolean): void => {
  if (info.command !== 'PROXY') return
  const ssl = info.tlvs.ssl
  // the TLV, when present, decides: PP2_CLIENT_SSL unset is a plain client
  const by = ssl !== undefined ? (ssl.ssl ? 'ssl-tlv' : undefined) : terminated ? 'listener' : undefined
  if (by === undefined) return
  ;(socket as { [kBalancerTls]?: BalancerTls })[kBalancerTls] = { by, balancer: info.peer.address }
}

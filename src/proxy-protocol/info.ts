/**
 * Where a connection's PROXY protocol header is kept: a symbol-keyed
 * property of the socket (and of the TLS socket over it), so that it is
 * found through `req.socket`, through HTTP/2's socket proxy, and by a
 * second copy of the package (ESM and CommonJS) alike.
 */
import type { ProxyEndpoint, ProxyHeader } from './types.js'

/**
 * A connection's PROXY protocol header, with the load balancer's own
 * address. @public
 */
export interface ProxyProtocolInfo extends ProxyHeader {
  /** the real socket peer: the load balancer that sent the header */
  peer: ProxyEndpoint
}

/** @internal */
export const kInfo = Symbol.for('proxy-aware.proxyProtocol')

type Carrier = { [kInfo]?: ProxyProtocolInfo; socket?: unknown }

/**
 * The PROXY protocol header of the connection `target` came over: a
 * request (Node's `IncomingMessage`, HTTP/2's compatibility request,
 * Fastify's `request.raw`, Express's `req`) or a socket. Undefined when
 * the connection carried none (a peer outside `trust` served as it is).
 * @public
 */
export function proxyProtocolOf(target: object | null | undefined): ProxyProtocolInfo | undefined {
  if (target == null) return undefined
  const t = target as Carrier
  const own = t[kInfo]
  if (own !== undefined) return own
  const socket = t.socket as Carrier | null | undefined
  return socket == null ? undefined : socket[kInfo]
}

/**
 * Whether the header names a relayed IP client, whose address then
 * replaces the socket's (not LOCAL, UNSPEC, UNIX). @internal
 */
export const relaysClient = (info: ProxyHeader | undefined): boolean =>
  info !== undefined && info.command === 'PROXY' && (info.family === 'IPv4' || info.family === 'IPv6')

/**
 * What the engine decides about one request, the request view it reads,
 * and building the decision.
 */
import type { HostParts } from '../parse/host.js'

/** Why the walk along the chain stopped. @public */
export type StopReason =
  /** the socket peer is not trusted: no forwarded header was read */
  | 'untrusted-peer'
  /**
   * the socket has no address (Unix socket, destroyed) and is not trusted,
   * or its address is unreadable: not an IP, or the unspecified `0.0.0.0` /
   * `::` (never trusted, whatever `trust` and `trustUnixSocket` say)
   */
  | 'no-peer'
  /** reached an address that is not trusted: that is the client */
  | 'untrusted-hop'
  /** reached an entry that is not an IP: the last address before it is the client */
  | 'invalid-entry'
  /** walked `maxHops` trusted entries */
  | 'hop-limit'
  /** every address was trusted: the leftmost one is the client */
  | 'end-of-chain'

/** What proxy-aware decided about one request. A plain object. @public */
export interface Resolution {
  /**
   * canonical client IP (no port, no zone id, never `0.0.0.0` or `::`);
   * `undefined` exactly when no IP address was reached: the peer is a Unix
   * socket and `trustUnixSocket` is off; the peer's address is unreadable
   * (`reason: 'no-peer'`: no socket, not an IP, or unspecified); or the peer
   * is a trusted Unix socket whose proxy sent no valid address (no header,
   * or junk as its nearest entry)
   */
  ip: string | undefined
  /**
   * the addresses walked, nearest first: the peer (absent for a Unix
   * socket), trusted proxies, then the client
   */
  ips: string[]
  /**
   * canonical socket peer address, without its zone id (`fe80::1%eth0` is
   * `fe80::1`); `undefined` on a Unix socket or when unreadable
   */
  peer: string | undefined
  /**
   * set when the socket peer was trusted by its TLS client certificate
   * (`trustCertificate`): the entry it matched, `uri:<SPIFFE ID>`,
   * `dns:<name>` or `fingerprint256:<AB:CD:...>`
   */
  peerIdentity?: string
  /**
   * set when `protocol` is the word of the trusted load balancer that sent
   * the connection's PROXY protocol header (its SSL TLV, or
   * `proxyProtocol({ tls: 'terminated' })`), rather than the app's own
   * socket or a forwarded header; `explain(req).protocol` names the
   * balancer and what it said
   */
  protocolFrom?: 'proxy-protocol'
  /** how many trusted proxies were walked past to reach the client */
  hops: number
  /**
   * where `ip` came from: the socket peer, a forwarded header's entry, or
   * the `clientIpHeader` (then `reason` is why the walk that reached the
   * header's writer stopped)
   */
  source: 'socket' | 'x-forwarded-for' | 'forwarded' | 'header'
  /** why the walk stopped */
  reason: StopReason
  /**
   * `https` when a trusted proxy's word says so, or, without one, the
   * connection: TLS on the app's socket, or a trusted load balancer's PROXY
   * protocol header (its SSL TLV, or `proxyProtocol({ tls: 'terminated' })`)
   */
  protocol: 'http' | 'https'
  /** `protocol === 'https'` */
  secure: boolean
  /** validated, lower-cased `hostname[:port]`; `undefined` when missing or malformed */
  host: string | undefined
  /** `host` without the port (IPv6 keeps its brackets) */
  hostname: string | undefined
  /** the port written in `host`, or `null` */
  port: number | null
}

/** The request view the core needs: a Node `IncomingMessage` fits. @public */
export interface RequestLike {
  headers: Record<string, string | string[] | undefined>
  socket?: { remoteAddress?: string | undefined; encrypted?: boolean } | null
}

/** How a request was resolved: where its IP came from, why the walk stopped, its protocol. */
export interface Verdict {
  source: Resolution['source']
  reason: StopReason
  protocol: 'http' | 'https'
}

const socketVerdicts = (reason: StopReason) => ({
  http: Object.freeze<Verdict>({ source: 'socket', reason, protocol: 'http' }),
  https: Object.freeze<Verdict>({ source: 'socket', reason, protocol: 'https' }),
})
const SOCKET_VERDICTS = {
  'no-peer': socketVerdicts('no-peer'),
  'untrusted-peer': socketVerdicts('untrusted-peer'),
  'end-of-chain': socketVerdicts('end-of-chain'),
}

/** The verdict for a request decided by its socket alone (no header read). */
export const socketVerdict = (reason: keyof typeof SOCKET_VERDICTS, protocol: 'http' | 'https'): Verdict =>
  SOCKET_VERDICTS[reason][protocol]

/**
 * The resolution: `ips` are the addresses reached (peer first when there is
 * one, the client last), `host` the host parsed from the proxy's word or the
 * request's own Host header.
 */
export const resolutionOf = (
  ips: string[],
  peer: string | undefined,
  verdict: Verdict,
  host: HostParts | undefined,
): Resolution => ({
  ip: ips.length === 0 ? undefined : ips[ips.length - 1],
  ips,
  peer,
  // proxies walked past: the peer (or a trusted Unix socket) and the
  // trusted entries before the client
  hops: peer === undefined ? ips.length : ips.length - 1,
  source: verdict.source,
  reason: verdict.reason,
  protocol: verdict.protocol,
  secure: verdict.protocol === 'https',
  host: host?.host,
  hostname: host?.hostname,
  port: host === undefined ? null : host.port,
})

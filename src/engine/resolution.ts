/**
 * What the engine decides about one request, and the request view it reads.
 */

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
  /** how many trusted proxies were walked past to reach the client */
  hops: number
  /** where `ip` came from */
  source: 'socket' | 'x-forwarded-for' | 'forwarded'
  /** why the walk stopped */
  reason: StopReason
  /** `https` when the connection, or a trusted proxy's word for it, says so */
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
  socket?: { remoteAddress?: string | undefined, encrypted?: boolean } | null
}

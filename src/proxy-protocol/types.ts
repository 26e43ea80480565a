/**
 * What a PROXY protocol header says, as proxy-aware exposes it. Field names
 * follow haproxy doc/proxy-protocol.txt (revision 2020/03/05, read
 * 2026-11-29), cited below by section.
 */

/** One end of the proxied connection. @public */
export interface ProxyEndpoint {
  /** canonical IP address (IPv4-mapped IPv6 reported as IPv4), or the UNIX socket path */
  address: string
  /** the port; undefined for UNIX sockets */
  port: number | undefined
}

/**
 * The PP2_TYPE_SSL TLV (section 2.2.6): what the load balancer saw of the
 * client's TLS connection when the balancer terminated TLS.
 * @public
 */
export interface ProxySslInfo {
  /** PP2_CLIENT_SSL: the client connected over TLS */
  ssl: boolean
  /** PP2_CLIENT_CERT_CONN: the client presented a certificate on this connection */
  certInConnection: boolean
  /** PP2_CLIENT_CERT_SESS: the client presented a certificate at least once in this TLS session */
  certInSession: boolean
  /**
   * The raw `verify` field: 0 if the client presented a certificate and it
   * was verified, non-zero otherwise.
   */
  verify: number
  /** a certificate was presented (connection or session) and `verify` is 0 */
  verified: boolean
  /** PP2_SUBTYPE_SSL_VERSION (0x21), e.g. "TLSv1.3" */
  version?: string
  /** PP2_SUBTYPE_SSL_CN (0x22): the client certificate's subject Common Name */
  cn?: string
  /** PP2_SUBTYPE_SSL_CIPHER (0x23) */
  cipher?: string
  /** PP2_SUBTYPE_SSL_SIG_ALG (0x24): signature algorithm of the frontend's certificate */
  sigAlg?: string
  /** PP2_SUBTYPE_SSL_KEY_ALG (0x25): key algorithm of the frontend's certificate */
  keyAlg?: string
}

/** A TLV proxy-aware does not decode itself. @public */
export interface ProxyRawTlv {
  type: number
  value: Buffer
}

/** The TLVs of a version 2 header (section 2.2). @public */
export interface ProxyTlvs {
  /** PP2_TYPE_ALPN (0x01), e.g. "h2" */
  alpn?: string
  /** PP2_TYPE_AUTHORITY (0x02): the host name the client asked for (TLS SNI) */
  authority?: string
  /** PP2_TYPE_CRC32C (0x03), present only when it was verified */
  crc32c?: number
  /** PP2_TYPE_UNIQUE_ID (0x05): an opaque id (at most 128 bytes) the balancer gave the connection */
  uniqueId?: Buffer
  /** PP2_TYPE_SSL (0x20) and its sub-TLVs */
  ssl?: ProxySslInfo
  /** PP2_TYPE_NETNS (0x30): the network namespace's name */
  netns?: string
  /**
   * PP2_TYPE_AWS (0xEA) with subtype PP2_SUBTYPE_AWS_VPCE_ID (0x01): the
   * AWS PrivateLink VPC endpoint id (AWS Network Load Balancer guide,
   * "Target groups", section "Proxy protocol", read 2026-11-29).
   */
  awsVpceId?: string
  /** every other TLV (custom 0xE0-0xEF, experimental, AWS subtypes other than 0x01), in order; NOOP (0x04) is dropped */
  raw: ProxyRawTlv[]
}

/** A parsed PROXY protocol header. @public */
export interface ProxyHeader {
  version: 1 | 2
  /**
   * `PROXY`: the balancer relayed a client, whose address is `source`.
   * `LOCAL` (v2 only): the balancer's own connection, e.g. a health check;
   * the real socket peer stays the peer.
   */
  command: 'PROXY' | 'LOCAL'
  /**
   * The address family. `UNSPEC` (v1 `UNKNOWN`, v2 0x00): no usable address,
   * the real socket peer stays the peer. `UNIX` addresses are paths and do
   * not replace the peer either.
   */
  family: 'IPv4' | 'IPv6' | 'UNIX' | 'UNSPEC'
  /** v2's transport (v1 is always TCP: `STREAM`) */
  transport: 'STREAM' | 'DGRAM' | 'UNSPEC'
  /** the client (absent for LOCAL and UNSPEC) */
  source: ProxyEndpoint | undefined
  /** the address the client connected to, on the balancer */
  destination: ProxyEndpoint | undefined
  /** v2 TLVs (empty for v1, and for LOCAL, whose TLVs are not read) */
  tlvs: ProxyTlvs
  /** the header's length in bytes */
  length: number
}

/**
 * Why a connection was closed before the server saw it. Each is logged
 * with the peer's address.
 * @public
 */
export type ProxyProtocolRejection =
  /** the first bytes are neither a v1 nor a v2 signature (a trusted peer must send a header) */
  | 'missing-header'
  /** v1: no CRLF within 107 bytes (section 2.1) */
  | 'v1-too-long'
  /** v1: anything not exactly `PROXY TCP4|TCP6|UNKNOWN ...\r\n`, a lone CR or LF */
  | 'v1-syntax'
  /** v1: an address that is not valid for its family (IPv4 with leading zeros, a zone id; any valid IPv6 spelling is accepted, as HAProxy does) */
  | 'v1-address'
  /** v1: a port outside 0-65535 or with leading zeros */
  | 'v1-port'
  /** v2: version nibble other than 2 */
  | 'v2-version'
  /** v2: command other than LOCAL (0) or PROXY (1) */
  | 'v2-command'
  /** v2: family/transport byte not one of 0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32 */
  | 'v2-family'
  /** v2: the announced length exceeds `maxHeaderBytes` */
  | 'v2-too-large'
  /** v2: the length is shorter than the family's address block */
  | 'v2-address-length'
  /** v2: a truncated, oversized or repeated TLV */
  | 'v2-tlv'
  /** v2: the CRC32C TLV does not match the header */
  | 'v2-crc32c'
  /** the peer closed the connection in the middle of the header */
  | 'incomplete'
  /** no complete header within `headerTimeout` */
  | 'timeout'
  /** a peer that is not trusted sent a PROXY signature (`untrusted: 'close'`) */
  | 'untrusted-header'
  /** the socket failed while the header was read */
  | 'socket-error'

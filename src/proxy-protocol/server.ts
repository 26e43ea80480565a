/**
 * Reading the PROXY protocol header in front of any Node server: `net`,
 * `http`, `https`, `tls` and `http2` servers all receive their sockets
 * through `server.emit('connection', socket)`. `proxyProtocol()` takes over
 * that one event on the given server: it reads the header from the raw
 * socket, puts back (`unshift`) whatever followed it, sets the socket's
 * remote address to the header's source, and only then emits
 * `connection` for the server's own listeners (HTTP parser, TLS
 * handshake). Nothing of the connection is processed before the header is
 * complete and valid (haproxy doc/proxy-protocol.txt, 2020/03/05, section 2).
 */
import type { Server, Socket } from 'node:net'
import { ProxyAwareConfigError, checkOptionNames, show } from '../core/errors.js'
import { checkLogger, emitWarning, type Logger, type Warn } from '../core/options.js'
import { compileEngine } from '../engine/index.js'
import { STARTUP_CODES } from '../engine/startup-checks.js'
import type { TrustOption } from '../engine/trust.js'
import { isUnixSocket } from '../engine/unix-socket.js'
import { compileBalancerTls, markBalancerTls, type ProxyProtocolTls } from './balancer-tls.js'
import { kInfo, type ProxyProtocolInfo, relaysClient } from './info.js'
import { proxyProtocolTrust } from './presets.js'
import { checkRuntime } from './runtime.js'
import { DEFAULT_MAX_HEADER, LARGEST_HEADER, parseProxyHeader, signatureMatch } from './parse.js'
import type { ProxyHeader, ProxyProtocolRejection } from './types.js'

/** Options of `proxyProtocol()`. @public */
export interface ProxyProtocolOptions {
  /**
   * The load balancers that send the header, in the forms of the `trust`
   * option (addresses, CIDR ranges, presets, a function), or `true` when
   * every peer is one (a listener reachable only through the balancer).
   * A peer in this list must send a header: a connection from it without
   * one is closed. A hop count is meaningless here and refused, and so are
   * presets whose vendor sends no PROXY header (only `gcp-lb` and
   * `cloudflare` do: docs/proxy-protocol.md, "Vendor presets").
   */
  trust: Exclude<TrustOption, number>
  /**
   * Whether a peer on a Unix socket (which has no address) is a load
   * balancer. @default false
   */
  trustUnixSocket?: boolean
  /**
   * Peers outside `trust`: their bytes are never read as a PROXY header.
   * `'close'` closes the connection of one whose first bytes are a PROXY
   * signature (a spoofing attempt or a misconfiguration), and serves the
   * others; `'serve'` serves them all unread, as if there were no
   * `proxyProtocol()` (a stray header then fails as bad HTTP or TLS).
   * @default 'close'
   */
  untrusted?: 'close' | 'serve'
  /**
   * Milliseconds a connection may take to deliver its complete header
   * (with `untrusted: 'close'`, an untrusted peer its first bytes) before
   * it is closed. The specification asks for at least 3 s (a TCP
   * retransmission). @default 5000
   */
  headerTimeout?: number
  /**
   * The largest header accepted, in bytes (v2 headers announce up to
   * 16 + 65535 bytes of TLVs). At least 232 (a v2 UNIX-socket header).
   * @default 4096
   */
  maxHeaderBytes?: number
  /** Where refused connections are reported (pino-compatible: warn and info). @default silent */
  logger?: Logger
  /**
   * Whether the balancers terminate TLS: `'header'` believes only the
   * header (a v2 SSL TLV with PP2_CLIENT_SSL: the client used https);
   * `'terminated'` declares that every client they relay used TLS, for
   * senders whose header cannot say it (v1: stunnel `protocol = proxy`; an
   * AWS NLB TLS listener). An SSL TLV, when present, still decides. The
   * trust engine then reports such requests as `https`.
   * @default 'header'
   */
  tls?: ProxyProtocolTls
}

const OPTIONS = ['trust', 'trustUnixSocket', 'untrusted', 'headerTimeout', 'maxHeaderBytes', 'logger', 'tls']
// registered (Symbol.for): the ESM and the CommonJS build must both see the
// other's wrap of a server, or a second wrapper would read the client's own
// second header as the balancer's
const kWrapped = Symbol.for('proxy-aware.proxyProtocol.wrapped')

/** The overridable socket properties: the header's source replaces them. */
type Addressed = Socket & { [kInfo]?: ProxyProtocolInfo; _parent?: unknown; _peername?: object }

/**
 * Read the PROXY protocol header (v1 and v2) on every connection of
 * `server` from a trusted load balancer; returns `server`. Call it before
 * `listen()`. Throws `ProxyAwareConfigError` on bad options.
 *
 * @example
 * const server = proxyProtocol(http.createServer(app), { trust: '10.0.0.0/8' })
 * server.listen(8080)
 * @public
 */
export function proxyProtocol<S extends Server>(server: S, options: ProxyProtocolOptions): S {
  const cfg = compile(options)
  const s = server as S & { [kWrapped]?: true }
  if (typeof s?.emit !== 'function' || typeof s.listen !== 'function') {
    throw new ProxyAwareConfigError('server', `must be a net, http, https, tls or http2 server, got ${show(server)}`)
  }
  if (s[kWrapped])
    throw new ProxyAwareConfigError(
      'server',
      'already reads the PROXY protocol: proxyProtocol() was called twice on it',
    )
  checkRuntime(s)
  s[kWrapped] = true
  const emit = s.emit as (this: S, event: string | symbol, ...args: unknown[]) => boolean
  const handOver = (socket: Socket) => emit.call(s, 'connection', socket)
  // every event of the server passes here (a request's too): no rest array,
  // no Set lookup, the arguments passed on as they came
  s.emit = function proxyProtocolEmit(this: S, event: string | symbol): boolean {
    const args = arguments
    if (event === 'connection') {
      accept(args[1] as Addressed, cfg, handOver)
      return true
    }
    // a TLS socket asks its TCP handle for the peer address: give it the
    // header's (its `_parent` is the socket we read the header from), on
    // every event that hands the TLS socket out, a failed handshake too
    const tls = (
      event === 'secureConnection' ? args[1] : event === 'tlsClientError' || event === 'keylog' ? args[2] : undefined
    ) as Addressed | undefined
    /* c8 ignore next -- labelTls refuses only where Node sets no _parent (see there) */
    if (tls !== undefined && !labelTls(tls, cfg)) return true
    return emit.apply(this, args as unknown as [string | symbol, ...unknown[]])
  } as S['emit']
  return server
}

/** Give a TLS socket its TCP socket's header; false (socket destroyed) if that cannot be found. */
const labelTls = (tls: Addressed, cfg: Config): boolean => {
  const parent = tls._parent as Addressed | null | undefined
  /* c8 ignore start: Node sets _parent on every server-side TLS socket (tested); if a
     future Node did not, the TLS socket would report the balancer as its peer: refuse */
  if (parent == null) {
    cfg.log.warn(
      { proxyProtocol: { reason: 'socket-error' } },
      'proxy-aware: PROXY protocol: this Node version gives no way to reach the TCP socket under a TLS socket; connection refused',
    )
    tls.destroy()
    return false
  }
  /* c8 ignore stop */
  const info = parent[kInfo]
  if (info !== undefined) label(tls, info)
  return true
}

interface Config {
  trust: (address: string, hop: number) => boolean
  trustUnixSocket: boolean
  serve: boolean
  timeout: number
  max: number
  log: Logger
  /** `tls: 'terminated'` */
  terminated: boolean
}

const compile = (options: ProxyProtocolOptions): Config => {
  if (typeof options !== 'object' || options === null) {
    throw new ProxyAwareConfigError('trust', 'is required: proxyProtocol(server, { trust: [your load balancers] })')
  }
  checkOptionNames(options, OPTIONS)
  if (typeof options.trust === 'number') {
    throw new ProxyAwareConfigError(
      'trust',
      `is a hop count (${options.trust}): PROXY protocol senders are one hop away; list their addresses or ranges`,
    )
  }
  // the trust predicate alone: no feature runs on a connection
  // presets: those whose vendor sends no PROXY header are refused
  const trust = proxyProtocolTrust(options.trust)
  // (the engine's own warnings about trust's scope speak of forwarded
  // headers; warnIfEveryone says what it means for a PROXY listener)
  const engine = compileEngine({ trust, trustUnixSocket: options.trustUnixSocket }, [], [], listenerWarn)
  warnIfEveryone(engine.trust, options.trust)
  const untrusted = options.untrusted ?? 'close'
  if (untrusted !== 'close' && untrusted !== 'serve') {
    throw new ProxyAwareConfigError('untrusted', `must be 'close' or 'serve', got ${show(untrusted)}`)
  }
  const timeout = options.headerTimeout ?? 5000
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 2 ** 31 - 1) {
    throw new ProxyAwareConfigError(
      'headerTimeout',
      `must be a whole number of milliseconds (at least 1; the specification asks for 3000 or more), got ${show(timeout)}`,
    )
  }
  const max = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 232 || max > LARGEST_HEADER) {
    throw new ProxyAwareConfigError(
      'maxHeaderBytes',
      `must be a whole number from 232 to ${LARGEST_HEADER}, got ${show(max)}`,
    )
  }
  return {
    trust: engine.trust,
    trustUnixSocket: engine.options.trustUnixSocket,
    serve: untrusted === 'serve',
    timeout,
    max,
    log: checkLogger('logger', options.logger),
    terminated: compileBalancerTls(options.tls),
  }
}

/** Addresses spread over each family's whole space (both halves of each). */
const PROBES = [
  ['0.0.0.1', '64.0.0.1', '127.0.0.1', '128.0.0.1', '192.0.2.1', '255.255.255.254'],
  ['::2', '2001:db8::1', '7fff::1', '8000::1', 'fe80::1', 'ffff::1'],
]

/** The engine's startup warnings, but those about trust's scope (replaced by warnIfEveryone here). */
const listenerWarn: Warn = (code, message, facts) => {
  if (code !== STARTUP_CODES.trustAll && code !== STARTUP_CODES.trustWide) emitWarning(code, message, facts)
}

/**
 * Warn at startup (as the plugin warns for `trust: true`) when `trust`
 * believes every address of a family: `true`, `() => true`, a hop
 * function such as `(a, i) => i < 1`, ranges covering everything. Every
 * client could then send a header and choose its address. A trust
 * function is called here with the probe addresses.
 */
const warnIfEveryone = (trust: (address: string, hop: number) => boolean, option: unknown): void => {
  if (!PROBES.some(family => family.every(address => trust(address, 0)))) return
  emitWarning(
    'PROXY_AWARE_PROXY_PROTOCOL_TRUST_ALL',
    `proxy-aware: proxyProtocol trust: ${show(option)} trusts every address, so any client that reaches this listener can send a PROXY header and choose its address. Unless only the balancer can reach it, list the balancers' addresses.`,
    { option: 'proxyProtocol trust' },
  )
}

/** Read the header (or the first bytes of an untrusted peer), then hand the socket over. */
const accept = (socket: Addressed, cfg: Config, handOver: (socket: Socket) => void): void => {
  const peerAddress = socket.remoteAddress
  let trusted: boolean
  if (peerAddress !== undefined) trusted = cfg.trust(peerAddress, 0)
  else if (isUnixSocket(socket)) trusted = cfg.trustUnixSocket
  else {
    // a TCP peer that reset before the connection was accepted (a health
    // check, or someone hoping to pass for a Unix socket): nobody to
    // answer, nothing to trust, nothing worth a warning
    socket.destroy()
    return
  }
  if (!trusted && cfg.serve) {
    handOver(socket)
    return
  }
  let buf: Buffer | undefined
  const done = () => {
    clearTimeout(timer)
    socket.removeListener('data', onData)
    socket.removeListener('error', onError)
    socket.removeListener('end', onEnd)
  }
  const refuse = (reason: ProxyProtocolRejection, detail: string) => {
    done()
    socket.destroy()
    cfg.log.warn(
      { proxyProtocol: { reason, detail }, peer: peerAddress, peerPort: socket.remotePort },
      `proxy-aware: PROXY protocol connection refused (${reason}): ${detail}`,
    )
  }
  const onData = (chunk: Buffer) => {
    buf = buf === undefined ? chunk : Buffer.concat([buf, chunk])
    if (!trusted) {
      // untrusted: never parsed, only checked for a signature
      const match = signatureMatch(buf)
      if (match === 1)
        return refuse('untrusted-header', 'a peer outside the trust option sent a PROXY protocol signature')
      if (match === 0) return
      done()
      handOverWith(socket, buf, handOver)
      return
    }
    const result = parseProxyHeader(buf, cfg.max)
    if (result === undefined) return
    if (!result.ok) return refuse(result.reason, result.detail)
    done()
    const info = withPeer(result.header, peerAddress ?? '', socket.remotePort)
    label(socket, info)
    markBalancerTls(socket, info, cfg.terminated)
    handOverWith(socket, buf.subarray(result.header.length), handOver)
  }
  const onError = (err: Error) => refuse('socket-error', err.message)
  const onEnd = () => {
    // a bare connect-and-close (a port check) is not worth a warning
    if (buf === undefined) {
      done()
      socket.destroy()
      return
    }
    refuse('incomplete', `the peer closed the connection after ${buf.length} byte(s) of the header`)
  }
  const timer = setTimeout(
    () => refuse('timeout', `no complete header within ${cfg.timeout} ms (${buf?.length ?? 0} byte(s) received)`),
    cfg.timeout,
  )
  timer.unref()
  // flowing mode: each chunk as it arrives, without the paused mode's
  // buffering and its three ticks per connection (bench/proxy-protocol-
  // instructions.mjs)
  socket.on('data', onData)
  socket.on('error', onError)
  socket.on('end', onEnd)
}

/**
 * Hand the socket over with `rest` (what followed the header) as its first
 * bytes, reading as a socket nobody has read: the header was read in
 * flowing mode, which a fresh socket has not chosen yet. A consumer that
 * listens for 'data' from its connection listener (Node's HTTP server)
 * gets `rest` now, as the flowing stream would deliver it; one that reads
 * otherwise (TLS and HTTP/2 read the buffer themselves, a handler may
 * attach its listener later) finds `rest` buffered and the mode undecided,
 * as on a fresh socket; one that paused the socket or listens for
 * 'readable' has chosen its mode itself.
 */
const handOverWith = (socket: Socket, rest: Buffer, handOver: (socket: Socket) => void): void => {
  if (rest.length > 0) socket.unshift(rest)
  handOver(socket)
  if (socket.readableFlowing !== true) return
  if (socket.listenerCount('data') > 0) {
    // what Node's flow() does
    while (socket.readableFlowing === true && socket.readableLength > 0 && socket.read() !== null);
    return
  }
  // `_readableState.flowing = null` is "no mode chosen" (checked on Node 20,
  // 22, 24 and 26, Bun 1.4.5 and Deno 2.9.6, 2026-12-07)
  ;(socket as unknown as { _readableState: { flowing: boolean | null } })._readableState.flowing = null
}

// (the caller reads the socket's getters once each per connection: with
// sockets of many shapes, each read is a megamorphic lookup in Node's
// net.js, about 400 instructions; bench/proxy-protocol-instructions.mjs)
const withPeer = (header: ProxyHeader, address: string, port: number | undefined): ProxyProtocolInfo => {
  const info = header as ProxyProtocolInfo
  info.peer = { address, port }
  return info
}

/**
 * Record the header on the socket, and make its source the socket's remote
 * address when it names a relayed IP client (not for LOCAL, UNSPEC, UNIX).
 */
const label = (socket: Addressed, info: ProxyProtocolInfo): void => {
  socket[kInfo] = info
  const src = info.source
  if (src === undefined || !relaysClient(info)) return
  // the canonical form reports IPv4-mapped addresses as IPv4
  const peer = { address: src.address, port: src.port, family: src.address.includes(':') ? 'IPv6' : 'IPv4' }
  // Node's remoteAddress, remotePort and remoteFamily read the cached
  // `_peername`: setting it keeps the socket's shape (defining own
  // properties cost a connection about 2% of its CPU time, bench/
  // proxy-protocol-connection.mjs); a runtime whose getters do not read
  // it gets own properties. Whether they do is a property of the socket
  // class (the getters are on its prototype), checked on its first socket.
  socket._peername = peer
  const proto = Object.getPrototypeOf(socket) as object
  let honoured = PEERNAME_READ.get(proto)
  if (honoured === undefined) {
    honoured =
      socket.remoteAddress === peer.address && socket.remotePort === peer.port && socket.remoteFamily === peer.family
    PEERNAME_READ.set(proto, honoured)
  }
  if (honoured) return
  Object.defineProperties(socket, {
    remoteAddress: { value: peer.address, configurable: true },
    remotePort: { value: peer.port, configurable: true },
    remoteFamily: { value: peer.family, configurable: true },
  })
}

/** Per socket prototype: whether its address getters read `_peername`. */
const PEERNAME_READ = new WeakMap<object, boolean>()

/**
 * The trust engine: `createTrustProxy(options)` validates the options once
 * and returns `resolve(req)`, which decides client IP, protocol and host
 * for one request, and `trust(address, hop)`, the compiled predicate.
 */
import { checkOptionNames, ProxyAwareConfigError, show } from './errors.js'
import {
  countEntries,
  type ForwardedElement,
  type HostParts,
  headerString,
  ListCursor,
  parseForwarded,
  parseHost,
  protoOf,
} from './headers.js'
import { formatParsed, INVALID, parseRequestAddress } from './ip.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Answer, FEATURES, type Feature, type FeatureContext, type Logger, type Phase, sendAnswer, silentLogger } from './features.js'
import type { HttpsOptions } from './https.js'
import type { ClientCertOptions } from './mtls.js'
import { compileTrust, type Matcher, type TrustFunction, type TrustOption } from './trust.js'

/** A forwarding convention to read. @public */
export type HeaderConvention = 'x-forwarded' | 'forwarded'

/** Options of the trust engine, shared by the core and both adapters. @public */
export interface TrustProxyOptions extends HttpsOptions, ClientCertOptions {
  /**
   * Which peers are proxies whose forwarded headers are believed. Required.
   * IPs, CIDRs, `ip/netmask`, presets (`loopback`, `linklocal`,
   * `uniquelocal`, `private`), as a comma-separated string or an array; a
   * function `(address, hop) => boolean`; a hop count >= 1 (warns); or `true`
   * (trust every hop: the client then chooses its own IP).
   */
  trust: TrustOption
  /**
   * Forwarding conventions to read, in priority order: the first one whose
   * client-IP header is present on the request is used.
   * @default ['x-forwarded']
   */
  headers?: readonly HeaderConvention[]
  /**
   * Take the host from `X-Forwarded-Host` / `Forwarded: host=` when the
   * peer is trusted. Off by default: host injection poisons password-reset
   * links and redirects.
   * @default false
   */
  forwardedHost?: boolean
  /**
   * Which `X-Forwarded-Proto` value is believed when it holds several.
   * `'nearest'`: the rightmost, written by the nearest proxy that writes one.
   * `'hop'`: when it has as many values as `X-Forwarded-For` has entries, the
   * value paired with the client's entry (ASP.NET Core's rule); correct only
   * if every trusted proxy appends to both headers, since a proxy that passes
   * X-Forwarded-Proto through (nginx's default) lets the client's own value
   * be paired with the client.
   * @default 'nearest'
   */
  protoPairing?: 'nearest' | 'hop'
  /**
   * Most forwarded entries walked per request. Past it the walk stops and
   * the last address reached is the client.
   * @default 20
   */
  maxHops?: number
  /**
   * Trust a peer on a Unix domain socket (which has no address), e.g. an
   * nginx `proxy_pass http://unix:/run/app.sock`.
   * @default false
   */
  trustUnixSocket?: boolean
}

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

/** The compiled trust engine. @public */
export interface TrustProxy {
  /**
   * Decide client IP, protocol and host for `req`. The result is cached on
   * the request: calling again returns the same object.
   */
  resolve(req: RequestLike): Resolution
  /**
   * The compiled predicate, usable as Express's `trust proxy` setting or
   * Fastify's `trustProxy`. Accepts any address form proxy-aware accepts
   * (a port or a zone id is dropped); returns false for anything that is
   * not an IP, and for `0.0.0.0` / `::`.
   */
  trust: TrustFunction
  /** The normalised options. */
  readonly options: Readonly<Required<Omit<TrustProxyOptions, keyof HttpsOptions | keyof ClientCertOptions>>>
  /**
   * Run the configured policies (HTTPS redirect, HSTS, Secure cookies,
   * client certificates) for a plain Node `http`/`https` server. Returns
   * true when proxy-aware has answered the request itself (a redirect, a
   * 400 or a 403): the app must then not handle it.
   *
   * @example
   * http.createServer((req, res) => {
   *   if (proxy.handle(req, res)) return
   *   res.end(`hello ${proxy.resolve(req).ip}`)
   * })
   */
  handle(req: IncomingMessage, res: ServerResponse, log?: Logger): boolean
  /**
   * The policy checks alone, for adapters: the answer to send, if any.
   * Call `respond` afterwards when it returns undefined. @internal
   */
  check(ctx: FeatureContext, phase?: Phase): Answer | undefined
  /** Hook the response (HSTS, Secure cookies). @internal */
  respond(ctx: FeatureContext, phase?: Phase): void
  /** Whether any feature is configured (adapters skip their hooks if not). @internal */
  readonly hasFeatures: boolean
  /** Whether any feature of each phase is configured. @internal */
  readonly hasPhase: Readonly<Record<Phase, boolean>>
}

/** Option names the core understands; adapters add their own. @private */
export const CORE_OPTIONS = ['trust', 'headers', 'forwardedHost', 'protoPairing', 'maxHops', 'trustUnixSocket'] as const

const normalizeHeaders = (value: unknown): readonly HeaderConvention[] => {
  if (value === undefined) return ['x-forwarded']
  if (
    !Array.isArray(value) || value.length === 0 || value.length > 2 ||
    // Array.from visits holes too: [, 'forwarded'] is refused
    Array.from(value).some(v => v !== 'x-forwarded' && v !== 'forwarded') ||
    new Set(value).size !== value.length
  ) {
    throw new ProxyAwareConfigError(
      'headers',
      `must be ['x-forwarded'], ['forwarded'] or both in priority order, got ${show(value)}`,
    )
  }
  return Object.freeze([...value])
}

const bool = (name: string, value: unknown, fallback: boolean): boolean => {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new ProxyAwareConfigError(name, `must be a boolean, got ${show(value)}`)
  return value
}


/**
 * Compile the options into a trust engine. Throws `ProxyAwareConfigError`
 * for anything doubtful.
 *
 * @example
 * const proxy = createTrustProxy({ trust: ['loopback', '10.0.0.0/8'] })
 * http.createServer((req, res) => {
 *   const { ip, protocol } = proxy.resolve(req)
 * })
 * @public
 */
export function createTrustProxy(options: TrustProxyOptions): TrustProxy {
  return compileEngine(options, [])
}

/** All option names the core understands, features included. @private */
export const ENGINE_OPTIONS: readonly string[] = [...CORE_OPTIONS, ...FEATURES.flatMap(f => f.options)]

/**
 * `createTrustProxy` for adapters, which own a few options of their own
 * (`adapterOptions`, e.g. Express's `logger`). @private
 */
export function compileEngine(options: TrustProxyOptions, adapterOptions: readonly string[]): TrustProxy {
  if (options === null || typeof options !== 'object') {
    throw new ProxyAwareConfigError('trust', `is required; options must be an object, got ${show(options)}`)
  }
  checkOptionNames(options, [...ENGINE_OPTIONS, ...adapterOptions])
  const compiled = compileTrust(options.trust)
  const headers = normalizeHeaders(options.headers)
  const forwardedHost = bool('forwardedHost', options.forwardedHost, false)
  const trustUnixSocket = bool('trustUnixSocket', options.trustUnixSocket, false)
  const protoPairing = options.protoPairing === undefined ? 'nearest' : options.protoPairing
  if (protoPairing !== 'nearest' && protoPairing !== 'hop') {
    throw new ProxyAwareConfigError('protoPairing', `must be 'nearest' or 'hop', got ${show(protoPairing)}`)
  }
  const pairByHop = protoPairing === 'hop'
  const maxHops = options.maxHops ?? 20
  if (!Number.isInteger(maxHops) || maxHops < 1 || maxHops > 1000) {
    throw new ProxyAwareConfigError('maxHops', `must be a whole number from 1 to 1000, got ${show(maxHops)}`)
  }
  if (compiled.hopCount) {
    process.emitWarning(
      `proxy-aware: trust: ${show(options.trust)} is a hop count. Any client that reaches the app directly is believed (its X-Forwarded-* headers are read as if a proxy had sent them). List your proxies' addresses instead.`,
      { code: 'PROXY_AWARE_HOP_COUNT', type: 'SecurityWarning' },
    )
  }
  const normalized = Object.freeze({
    trust: options.trust,
    headers,
    forwardedHost,
    protoPairing,
    maxHops,
    trustUnixSocket,
  })
  const match: Matcher = compiled.match
  const readXff = headers[0] === 'x-forwarded' || headers[1] === 'x-forwarded'
  const readForwarded = headers[0] === 'forwarded' || headers[1] === 'forwarded'
  const forwardedFirst = headers[0] === 'forwarded'
  const cursor = new ListCursor()
  const pure = compiled.pure
  let lastRemote: string | undefined
  let lastPeer: string | undefined
  let lastTrusted = false

  const trust: TrustFunction = (address, hop) => {
    if (typeof address !== 'string') return trustUnixSocket && hop === 0 && address === undefined
    const kind = parseRequestAddress(address, 0, address.length, true, true)
    return kind !== INVALID && match(kind, hop, formatParsed(kind))
  }

  /** Host from the request's own Host header (or HTTP/2 :authority). */
  // Most requests carry one of a few Host values: remember the last one.
  let lastHost: string | undefined
  let lastHostParts: HostParts | undefined
  const ownHost = (req: RequestLike): HostParts | undefined => {
    const h = req.headers
    const value = h.host ?? h[':authority']
    if (typeof value !== 'string') return undefined
    if (value !== lastHost) {
      lastHostParts = parseHost(value)
      lastHost = value
    }
    return lastHostParts
  }

  const finish = (
    req: RequestLike,
    ips: string[],
    peer: string | undefined,
    source: Resolution['source'],
    reason: StopReason,
    protocol: 'http' | 'https',
    forwardedHostValue: string | undefined,
  ): Resolution => {
    // A forwarded host that is present but malformed is not replaced by
    // Host: the app asked for the proxy's word, and that word is unusable.
    const parts = forwardedHostValue !== undefined ? parseHost(forwardedHostValue) : ownHost(req)
    return {
      ip: ips.length === 0 ? undefined : ips[ips.length - 1],
      ips,
      peer,
      // proxies walked past: the peer (or a trusted Unix socket) and the
      // trusted entries before the client
      hops: peer === undefined ? ips.length : ips.length - 1,
      source,
      reason,
      protocol,
      secure: protocol === 'https',
      host: parts?.host,
      hostname: parts?.hostname,
      port: parts === undefined ? null : parts.port,
    }
  }

  const compute = (req: RequestLike): Resolution => {
    const socket = req.socket
    const socketProto = socket?.encrypted === true ? 'https' : 'http'
    const remote = socket?.remoteAddress
    const ips: string[] = []
    let peer: string | undefined
    if (typeof remote === 'string') {
      // Most requests come from the same few proxies: remember the last
      // peer's verdict (only when the matcher is pure, not a user function).
      let trusted: boolean
      if (remote === lastRemote) {
        peer = lastPeer
        trusted = lastTrusted
      } else {
        const kind = parseRequestAddress(remote, 0, remote.length, false, true)
        peer = kind === INVALID ? undefined : formatParsed(kind)
        trusted = peer !== undefined && match(kind, 0, peer)
        if (pure) {
          lastRemote = remote
          lastPeer = peer
          lastTrusted = trusted
        }
      }
      // an address we cannot read is no Unix socket: never trusted
      if (peer === undefined) return finish(req, ips, undefined, 'socket', 'no-peer', socketProto, undefined)
      ips.push(peer)
      if (!trusted) return finish(req, ips, peer, 'socket', 'untrusted-peer', socketProto, undefined)
    } else if (!trustUnixSocket) {
      return finish(req, ips, undefined, 'socket', 'no-peer', socketProto, undefined)
    }
    // The peer is trusted: read the configured convention.
    const h = req.headers
    const xff = readXff ? headerString(h['x-forwarded-for']) : undefined
    const fwd = readForwarded ? headerString(h.forwarded) : undefined
    if (fwd !== undefined && (forwardedFirst || xff === undefined)) {
      return walkForwarded(req, ips, peer, fwd, socketProto)
    }
    // X-Forwarded-Proto and -Host belong to the x-forwarded convention
    if (!readXff) return finish(req, ips, peer, 'socket', 'end-of-chain', socketProto, undefined)
    return walkXff(req, ips, peer, xff, socketProto)
  }

  const walkXff = (
    req: RequestLike,
    ips: string[],
    peer: string | undefined,
    xff: string | undefined,
    socketProto: 'http' | 'https',
  ): Resolution => {
    let reason: StopReason = 'end-of-chain'
    let clientEntry = -1 // index from the right of the XFF entry that is the client
    if (xff !== undefined) {
      const c = cursor.reset(xff)
      for (let hop = 1; ; hop++) {
        if (!c.prev()) break
        if (hop > maxHops) {
          reason = 'hop-limit'
          break
        }
        const kind = parseRequestAddress(xff, c.start, c.end, true, false)
        if (kind === INVALID) {
          reason = 'invalid-entry'
          break
        }
        const address = formatParsed(kind)
        ips.push(address)
        clientEntry = hop - 1
        if (!match(kind, hop, address)) {
          reason = 'untrusted-hop'
          break
        }
      }
    }
    const h = req.headers
    // Protocol: the rightmost value, written by the nearest trusted proxy
    // that writes one. Pairing values with XFF entries by hop (protoPairing
    // 'hop', when the counts match) cannot tell a proxy that appends from
    // one that passes the client's value through, so it is opt-in. A value
    // that is not http(s) is ignored.
    let protocol = socketProto
    const xfp = headerString(h['x-forwarded-proto'])
    if (xfp !== undefined) {
      const aligned = pairByHop && clientEntry > 0 && xfp.includes(',') && countEntries(xfp) === countEntries(xff!)
      const p = cursor.reset(xfp)
      let found = p.prev()
      for (let n = aligned ? clientEntry : 0; found && n > 0; n--) found = p.prev()
      if (found) protocol = protoOf(xfp, p.start, p.end) ?? socketProto
    }
    let forwardedHostValue: string | undefined
    if (forwardedHost) {
      const xfh = headerString(h['x-forwarded-host'])
      if (xfh !== undefined && cursor.reset(xfh).prev()) {
        forwardedHostValue = xfh.slice(cursor.start, cursor.end)
      }
    }
    return finish(req, ips, peer, clientEntry >= 0 ? 'x-forwarded-for' : 'socket', reason, protocol, forwardedHostValue)
  }

  const walkForwarded = (
    req: RequestLike,
    ips: string[],
    peer: string | undefined,
    fwd: string,
    socketProto: 'http' | 'https',
  ): Resolution => {
    // nearest first; one more than maxHops to tell when the limit cut the walk
    const elements = parseForwarded(fwd, maxHops + 1)
    let reason: StopReason = 'end-of-chain'
    let client: ForwardedElement | undefined
    for (let hop = 1; hop <= elements.length; hop++) {
      if (hop > maxHops) {
        reason = 'hop-limit'
        break
      }
      const el = elements[hop - 1]!
      const f = el.valid ? el.for : undefined
      const kind = f === undefined ? INVALID : parseRequestAddress(f, 0, f.length, true, false)
      if (kind === INVALID) {
        reason = 'invalid-entry'
        break
      }
      const address = formatParsed(kind)
      ips.push(address)
      client = el
      if (!match(kind, hop, address)) {
        reason = 'untrusted-hop'
        break
      }
    }
    // proto= and host= of the client's element, written by the trusted proxy
    // the client connected to; or of the nearest element when the client is
    // the peer itself. An element that broke the grammar gives neither, and
    // with forwardedHost no host at all, as a malformed host= does (an empty
    // host= counts as absent, as an empty X-Forwarded-Host does).
    const el = client ?? elements[0]
    const usable = el !== undefined && el.valid
    const proto = usable && el.proto !== undefined ? protoOf(el.proto, 0, el.proto.length) : undefined
    const hostValue = !forwardedHost || el === undefined ? undefined : !el.valid ? '' : el.host === '' ? undefined : el.host
    return finish(req, ips, peer, client ? 'forwarded' : 'socket', reason, proto ?? socketProto, hostValue)
  }

  // one cache slot per engine: two engines (an Express sub-app with its own
  // middleware) must not answer with each other's decision
  const kResolution = Symbol('proxy-aware.resolution')
  const resolve = (req: RequestLike): Resolution => {
    const cached = (req as { [kResolution]?: Resolution })[kResolution]
    if (cached !== undefined) return cached
    const result = compute(req)
    ;(req as { [kResolution]?: Resolution })[kResolution] = result
    return result
  }

  const features: Feature[] = []
  for (const f of FEATURES) {
    const feature = f.compile(options as unknown as Readonly<Record<string, unknown>>)
    if (feature !== undefined) features.push(feature)
  }
  // per phase (see Phase): all, before routing, once the route is known
  const select = (fs: Feature[]) => ({
    checks: fs.filter(f => f.check !== undefined),
    responders: fs.filter(f => f.onResponse !== undefined),
  })
  const all = select(features)
  const phases = { request: select(features.filter(f => f.route !== true)), route: select(features.filter(f => f.route === true)) }
  const check = (ctx: FeatureContext, phase?: Phase): Answer | undefined => {
    for (const f of (phase === undefined ? all : phases[phase]).checks) {
      const answer = f.check!(ctx)
      if (answer !== undefined) return answer
    }
    return undefined
  }
  const respond = (ctx: FeatureContext, phase?: Phase): void => {
    for (const f of (phase === undefined ? all : phases[phase]).responders) f.onResponse!(ctx)
  }
  const handle = (req: IncomingMessage, res: ServerResponse, log: Logger = silentLogger): boolean => {
    const ctx: FeatureContext = { req, res, resolution: resolve(req), log, route: undefined }
    const answer = check(ctx)
    if (answer !== undefined) {
      sendAnswer(req, res, answer)
      return true
    }
    respond(ctx)
    return false
  }

  const hasPhase = {
    request: features.some(f => f.route !== true),
    route: features.some(f => f.route === true),
  }
  return { resolve, trust, options: normalized, handle, check, respond, hasFeatures: features.length > 0, hasPhase }
}

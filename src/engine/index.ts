/**
 * The trust engine: `compileEngine(options, ...)` validates the options once
 * and returns `resolve(req)`, which decides client IP, protocol and host
 * for one request, and `trust(address, hop)`, the compiled predicate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkOptionNames, ProxyAwareConfigError, show } from '../core/errors.js'
import { bool, type Logger, silentLogger } from '../core/options.js'
import type { Answer, Feature, FeatureCompiler, FeatureContext, Phase } from '../features/feature.js'
import { sendAnswer } from '../features/feature.js'
import type { ClientCertOptions } from '../features/client-cert/options.js'
import type { HttpsOptions } from '../features/index.js'
import { type ForwardedElement, parseForwarded } from '../parse/forwarded.js'
import { type HostParts, parseHost } from '../parse/host.js'
import { formatParsed, INVALID, parseRequestAddress } from '../parse/ip.js'
import { countEntries, headerString, ListCursor, protoOf } from '../parse/list.js'
import { CORE_OPTIONS, normalizeHeaders, type TrustProxyOptions } from './options.js'
import type { RequestLike, Resolution, StopReason } from './resolution.js'
import { checkPlatform } from './presets.js'
import { compileTrust, type Matcher, type TrustFunction } from './trust.js'

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
  readonly options: Readonly<Required<Omit<TrustProxyOptions, keyof HttpsOptions | keyof ClientCertOptions | 'platform' | 'gcpForwardingRule'>>>
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

/**
 * Compile the options into a trust engine running `featureList`. Adapters
 * own a few options of their own (`adapterOptions`, e.g. Express's `logger`).
 * Throws `ProxyAwareConfigError` for anything doubtful.
 */
export function compileEngine(
  options: TrustProxyOptions,
  adapterOptions: readonly string[],
  featureList: readonly FeatureCompiler[],
): TrustProxy {
  if (options === null || typeof options !== 'object') {
    throw new ProxyAwareConfigError('trust', `is required; options must be an object, got ${show(options)}`)
  }
  checkOptionNames(options, [...CORE_OPTIONS, ...featureList.flatMap(f => f.options), ...adapterOptions])
  const compiled = compileTrust(options.trust, options)
  checkPlatform(options.platform)
  if (options.gcpForwardingRule !== undefined && !compiled.vendors.includes('gcp-lb')) {
    throw new ProxyAwareConfigError('gcpForwardingRule', `is set but trust has no "gcp-lb" preset, got trust: ${show(options.trust)}`)
  }
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
  for (const f of featureList) {
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

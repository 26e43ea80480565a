/**
 * Step 2 of compiling an engine: the per-request resolver (`resolve(req)`)
 * and the compiled trust predicate, specialised for one configuration.
 */
import { type HostParts, parseHost } from '../parse/host.js'
import { formatParsed, INVALID, parseRequestAddress, WITH_PORT, WITH_ZONE } from '../parse/ip.js'
import { headerString } from '../parse/list.js'
import { balancerTlsOf, connectionProtocol } from './connection.js'
import type { Watch } from './diagnostics.js'
import type { EngineConfig } from './options.js'
import { type RequestLike, type Resolution, resolutionOf, socketVerdict, type Verdict } from './resolution.js'
import type { TrustFunction } from './trust.js'
import { isUnixSocket } from './unix-socket.js'
import { AddressList, compileWalker, conventionOf, type Walk } from './walk.js'

/**
 * The slot where the first engine to resolve a request caches its result,
 * and which engine that was (its own slot's key). One pair of keys for every
 * engine: a property access whose key changed from engine to engine would
 * turn megamorphic (slow, for every request) once a second engine resolved.
 */
const kResolution = Symbol('proxy-aware.resolution')
const kResolvedBy = Symbol('proxy-aware.resolvedBy')
type Slots = { [kResolution]?: Resolution; [kResolvedBy]?: symbol }

/** What step 2 produces. */
interface Resolver {
  resolve(req: RequestLike): Resolution
  trust: TrustFunction
}

type Decide = (req: RequestLike) => Resolution

/**
 * Cache on the request: one cache slot per engine. Two engines (an Express
 * sub-app with its own middleware) must not answer with each other's
 * decision. The first engine to resolve a request takes the shared slot;
 * another engine resolving the same request uses its own.
 */
const cacheOnRequest = (decide: Decide): Decide => {
  const kOwnResolution = Symbol('proxy-aware.resolution')
  type Cached = Slots & { [kOwnResolution]?: Resolution }
  return req => {
    const r = req as Cached
    const by = r[kResolvedBy]
    const cached = by === kOwnResolution ? r[kResolution] : by === undefined ? undefined : r[kOwnResolution]
    if (cached !== undefined) return cached
    const result = decide(req)
    if (by === undefined) {
      r[kResolvedBy] = kOwnResolution
      r[kResolution] = result
    } else r[kOwnResolution] = result
    return result
  }
}

/**
 * Cache in a WeakMap of the engine: for requests that get a hidden class of
 * their own, where a property added allocates a new one (Express's requests
 * on Node 20 and 22: see ownShapeAfterSetPrototype in core/runtime.ts).
 */
const cacheInWeakMap = (decide: Decide): Decide => {
  const results = new WeakMap<RequestLike, Resolution>()
  return req => {
    let result = results.get(req)
    if (result === undefined) {
      result = decide(req)
      results.set(req, result)
    }
    return result
  }
}

/**
 * Compile the resolver for `config`; `watch` sees each decision
 * (misconfiguration warnings); results are cached in a WeakMap (`weak`)
 * or on the request.
 */
export function compileResolver(config: EngineConfig, watch?: Watch, weak = false): Resolver {
  const { match, pure, trustUnixSocket, readXForwarded, readForwarded, forwardedFirst, clientIpHeader, identity } =
    config
  const walker = compileWalker(config)
  /** With `clientIpHeader`, its value may replace the walk's client. */
  const decided = (h: RequestLike['headers'], ips: AddressList, peer: string | undefined, verdict: Verdict) =>
    clientIpHeader === undefined ? verdict : clientIpHeader.read(h, ips, peer !== undefined, verdict)

  /**
   * The compiled predicate, for the frameworks' `trust proxy` settings. It
   * sees an address only: a missing one may be a Unix socket or a TCP
   * socket whose peer reset before it was accepted, so it is never
   * trusted here; `resolve()`, which sees the socket, trusts Unix sockets.
   */
  const trust: TrustFunction = (address, hop) => {
    if (typeof address !== 'string') return false
    const kind = parseRequestAddress(address, 0, address.length, WITH_PORT | WITH_ZONE)
    return kind !== INVALID && match(kind, hop, formatParsed(kind))
  }

  // Most requests carry one of a few Host values: remember the last one.
  let lastHost: string | undefined
  let lastHostParts: HostParts | undefined
  /** Host from the request's own Host header (or HTTP/2 :authority). */
  const ownHost = (h: RequestLike['headers']): HostParts | undefined => {
    const value = h.host ?? h[':authority']
    if (typeof value !== 'string') return undefined
    if (value !== lastHost) {
      lastHostParts = parseHost(value)
      lastHost = value
    }
    return lastHostParts
  }

  // Most requests come from the same few proxies: remember the last peer's
  // verdict (only when the matcher is pure, not a user function).
  let lastRemote: string | undefined
  let lastPeer: string | undefined
  let lastTrusted = false
  // not re-entrant, as the walks' cursor is not: a trust function must not
  // call resolve()
  const addresses = new AddressList()
  // the trustCertificate entry the peer's certificate matched, for resolve()
  let peerIdentity: string | undefined
  // whether a forwarded header decided the protocol, for resolve()
  let protocolFromHeader = false

  /** Decide one request (uncached). */
  const compute = (req: RequestLike): Resolution => {
    // each read of a request's property is dear where the request has a
    // hidden class of its own (Express on Node 20 and 22): read each once
    const socket = req.socket
    const h = req.headers
    // TLS on the app's socket, or a trusted load balancer's word (PROXY protocol)
    const socketProto = connectionProtocol(socket)
    const remote = socket?.remoteAddress
    const ips = addresses.clear()
    let peer: string | undefined
    if (typeof remote === 'string') {
      let trusted: boolean
      if (remote === lastRemote) {
        peer = lastPeer
        trusted = lastTrusted
      } else {
        const kind = parseRequestAddress(remote, 0, remote.length, WITH_ZONE)
        peer = kind === INVALID ? undefined : formatParsed(kind)
        trusted = peer !== undefined && match(kind, 0, peer)
        if (pure) {
          lastRemote = remote
          lastPeer = peer
          lastTrusted = trusted
        }
      }
      // an address we cannot read is no Unix socket: never trusted
      if (peer === undefined)
        return resolutionOf(ips.take(), undefined, socketVerdict('no-peer', socketProto), ownHost(h))
      // asked per connection, never cached by address: two connections
      // from one address may present different certificates
      peerIdentity = identity?.(req)
      if (peerIdentity !== undefined) trusted = true
      ips.push(peer)
      if (!trusted) return resolutionOf(ips.take(), peer, socketVerdict('untrusted-peer', socketProto), ownHost(h))
    } else if (!trustUnixSocket || !isUnixSocket(socket)) {
      // no address: trusted only if the socket is a Unix socket (not a TCP
      // socket whose peer reset before it was accepted)
      return resolutionOf(ips.take(), undefined, socketVerdict('no-peer', socketProto), ownHost(h))
    }
    // The peer is trusted: read the configured convention.
    const xff = readXForwarded ? headerString(h['x-forwarded-for']) : undefined
    const fwd = readForwarded ? headerString(h.forwarded) : undefined
    const convention = conventionOf(fwd, xff, forwardedFirst, readXForwarded)
    let walk: Walk
    if (convention === 'forwarded') walk = walker.forwarded(ips, fwd!, socketProto)
    // X-Forwarded-Proto and -Host belong to the x-forwarded convention
    else if (convention === undefined) {
      const verdict = decided(h, ips, peer, socketVerdict('end-of-chain', socketProto))
      return resolutionOf(ips.take(), peer, verdict, ownHost(h))
    } else walk = walker.xForwarded(h, ips, xff, socketProto)
    protocolFromHeader = walk.protocolFromHeader
    // A forwarded host that is present but malformed is not replaced by
    // Host: the app asked for the proxy's word, and that word is unusable.
    const host = walk.host !== undefined ? parseHost(walk.host) : ownHost(h)
    const verdict = decided(h, ips, peer, walk) // before take(): it may edit ips
    return resolutionOf(ips.take(), peer, verdict, host)
  }

  /** Decide one request, uncached, and tell `watch`. */
  const decide = (req: RequestLike): Resolution => {
    peerIdentity = undefined
    protocolFromHeader = false
    const result = compute(req)
    if (peerIdentity !== undefined) result.peerIdentity = peerIdentity
    if (!protocolFromHeader && result.protocol === 'https' && balancerTlsOf(req.socket) !== undefined)
      result.protocolFrom = 'proxy-protocol'
    if (watch !== undefined) watch(req, result)
    return result
  }
  const resolve = weak ? cacheInWeakMap(decide) : cacheOnRequest(decide)
  return { resolve, trust }
}

/**
 * The resolver of an engine: with `azureFrontDoorId`, a request whose
 * X-Azure-FDID is not one of the ids is resolved as if the
 * azure-front-door preset were not in `trust` (another Front Door
 * customer's request: its forwarded headers are not believed).
 */
export function compileEngineResolver(config: EngineConfig, watch?: Watch, weak?: boolean): Resolver {
  const base = compileResolver(config, watch, weak)
  const fd = config.frontDoor
  if (fd === undefined) return base
  const other = compileResolver({ ...config, match: fd.matchWithout }, watch, weak)
  return { resolve: req => (fd.idMatches(req.headers) ? base : other).resolve(req), trust: base.trust }
}

/**
 * `explain(req)`: the decision trail of one request, hop by hop, for people
 * and for the `proxy-aware explain` command. A diagnostic, off the
 * per-request path: it reads the Resolution that `resolve(req)` made and
 * re-checks each address against the `trust` entries one by one (compiled
 * on the first call) to say which entry trusted it. The walks are not run
 * again: a trust function is not called twice.
 */
import { show } from '../core/errors.js'
import { type ForwardedElement, parseForwarded } from '../parse/forwarded.js'
import { parseHost } from '../parse/host.js'
import { countEntries, headerString, ListCursor, protoOf } from '../parse/list.js'
import { balancerTlsOf, connectionProtocol } from './connection.js'
import type { EngineConfig } from './options.js'
import type { RequestLike, Resolution, StopReason } from './resolution.js'
import { compileTrustLabels, type TrustLabeller, type TrustMatch } from './trust.js'
import type { ClientIpHeaderReader } from './vendor-headers.js'
import { conventionOf } from './walk.js'

/** One address of the trail. @public */
export interface ExplainedHop {
  /** 0 is the socket peer, 1 the nearest forwarded entry, ... */
  hop: number
  /** canonical address; `undefined` for a Unix socket or an unreadable peer address */
  address: string | undefined
  /** `'socket'`, or the header the address was read from (`'x-forwarded-for'`, `'forwarded'`, ...) */
  from: string
  /** whether the walk went past it (a trusted proxy) */
  trusted: boolean
  /** which `trust` entry trusted it; `undefined` when not trusted */
  by: TrustMatch | undefined
}

/** Where the protocol or the host came from. @public */
export interface ValueOrigin<T> {
  value: T
  /**
   * `'socket'` (the connection itself: TLS or not), `'proxy-protocol'` (the
   * protocol only: the trusted load balancer that sent the connection's
   * PROXY protocol header terminated TLS), or the lower-case header name
   * (`'x-forwarded-proto'`, `'forwarded'`, `'host'`...)
   */
  from: string
  /** the whole header value read, or `undefined` (socket, PROXY protocol, or no such header) */
  raw: string | undefined
  /**
   * the part of `raw` that decided (`'https'` of `'http, https'`), when it
   * differs; with `'proxy-protocol'`, what said so: `'PP2_CLIENT_SSL'` (the
   * v2 SSL TLV) or `"tls: 'terminated'"` (the listener's option)
   */
  entry?: string
  /** with `'proxy-protocol'`: the load balancer's address (the real socket peer) */
  balancer?: string
}

/** The decision trail of one request (`TrustProxy.explain`). A plain object. @public */
export interface Explanation {
  /** the client IP (`resolution.ip`) */
  client: string | undefined
  /** the addresses walked, peer first, the client last */
  hops: ExplainedHop[]
  /** why the walk stopped */
  reason: StopReason
  /** the same, as a sentence */
  why: string
  protocol: ValueOrigin<'http' | 'https'>
  host: ValueOrigin<string | undefined>
  /** what `resolve(req)` returned */
  resolution: Resolution
}

/** Compile `explain` for one engine; its labeller is compiled on first use. */
export function compileExplainer(
  config: EngineConfig,
  resolve: (req: RequestLike) => Resolution,
): (req: RequestLike) => Explanation {
  const { readXForwarded, readForwarded, forwardedFirst, forwardedHost, pairByHop, maxHops } = config
  const { clientIpHeader, frontDoor } = config
  let label: TrustLabeller | undefined

  /**
   * Why the hop was trusted. Other ways for a peer to be trusted answer
   * here first, with a `TrustMatch` of their own kind: a TLS certificate
   * identity (`trustCertificate`, which records the entry it matched as
   * `Resolution.peerIdentity`) is `{ kind: 'certificate', entry }`.
   */
  const whyTrusted = (r: Resolution, address: string | undefined, hop: number): TrustMatch | undefined => {
    const identity = (r as { peerIdentity?: string }).peerIdentity
    if (hop === 0 && identity !== undefined) return { kind: 'certificate', entry: identity }
    if (address === undefined) return { kind: 'unix-socket', entry: 'trustUnixSocket' }
    label ??= compileTrustLabels(config.options.trust, config.presetContext)
    return label(address, hop)
  }

  return function explain(req: RequestLike): Explanation {
    const r = resolve(req)
    const h = req.headers
    const socketProto = connectionProtocol(req.socket)
    const peerTrusted = r.reason !== 'untrusted-peer' && r.reason !== 'no-peer'
    // the convention the resolver read (conventionOf, the resolver's rule)
    const xff = readXForwarded ? headerString(h['x-forwarded-for']) : undefined
    const fwd = readForwarded ? headerString(h.forwarded) : undefined
    const convention = peerTrusted ? conventionOf(fwd, xff, forwardedFirst, readXForwarded) : undefined
    // the chain the walk read; a vendor header ('header') gave only the client
    const byHeader = r.source === 'header'
    const chain =
      r.source !== 'socket' && !byHeader
        ? r.source
        : convention === 'forwarded' || !readXForwarded
          ? 'forwarded'
          : 'x-forwarded-for'

    const walked = r.peer === undefined ? r.ips : r.ips.slice(1)
    const addresses: Array<string | undefined> = [r.peer, ...walked]
    const stoppedUntrusted = r.reason === 'untrusted-peer' || r.reason === 'untrusted-hop' || r.reason === 'no-peer'
    const hops = addresses.map((address, hop): ExplainedHop => {
      const last = hop === addresses.length - 1
      // the client a vendor header named is no proxy: its writer, the hop before, is the last one trusted
      const trusted = !last || (!stoppedUntrusted && !byHeader)
      return {
        hop,
        address,
        from: byHeader && last ? clientIpHeader!.name : hop === 0 ? 'socket' : chain,
        trusted,
        by: trusted ? whyTrusted(r, address, hop) : undefined,
      }
    })

    const socket = connectionOrigin(req.socket, socketProto)
    const { protocol, proxyHost } = proxyWords(h, convention, fwd, xff, walked.length, socket)
    return {
      client: r.ip,
      hops,
      reason: r.reason,
      why: byHeader
        ? headerSentence(hops, clientIpHeader!)
        : (frontDoorSentence(r, req) ?? sentence(r, hops, chain, maxHops, req)),
      protocol,
      host: proxyHost ?? ownHost(h),
      resolution: r,
    }
  }

  /** The protocol and host the convention read says, at the client's entry (the socket's protocol without one). */
  function proxyWords(
    h: RequestLike['headers'],
    convention: 'forwarded' | 'x-forwarded' | undefined,
    fwd: string | undefined,
    xff: string | undefined,
    walked: number,
    socket: ValueOrigin<'http' | 'https'>,
  ): { protocol: ValueOrigin<'http' | 'https'>; proxyHost: ValueOrigin<string | undefined> | undefined } {
    let protocol = socket
    let proxyHost: ValueOrigin<string | undefined> | undefined
    if (convention === 'forwarded') {
      // the client's element, or the nearest one when none was walked
      const el: ForwardedElement | undefined = parseForwarded(fwd!, maxHops + 1)[Math.max(walked - 1, 0)]
      const proto = el?.valid === true && el.proto !== undefined ? protoOf(el.proto, 0, el.proto.length) : undefined
      if (proto !== undefined) protocol = { value: proto, from: 'forwarded', raw: fwd, entry: el!.proto }
      const host =
        !forwardedHost || el === undefined ? undefined : !el.valid ? '' : el.host === '' ? undefined : el.host
      if (host !== undefined) proxyHost = { value: parseHost(host)?.host, from: 'forwarded', raw: fwd, entry: host }
    } else if (convention === 'x-forwarded') {
      protocol = xForwardedProto(h, xff, walked - 1) ?? socket
      const xfh = forwardedHost ? headerString(h['x-forwarded-host']) : undefined
      const c = new ListCursor()
      if (xfh !== undefined && c.reset(xfh).prev()) {
        const entry = xfh.slice(c.start, c.end)
        proxyHost = { value: parseHost(entry)?.host, from: 'x-forwarded-host', raw: xfh, entry }
      }
    }
    return { protocol, proxyHost }
  }

  /**
   * Why the walk stopped at a Front Door address that `trust` names: the
   * request came through another profile (`azureFrontDoorId`).
   */
  function frontDoorSentence(r: Resolution, req: RequestLike): string | undefined {
    if (frontDoor === undefined || r.ip === undefined) return undefined
    if (frontDoor.idMatches(req.headers) || !frontDoor.isFrontDoor(r.ip)) return undefined
    const id = req.headers['x-azure-fdid']
    return `${r.ip} is an Azure Front Door address, but the request's X-Azure-FDID ${typeof id === 'string' ? show(id) : '(none)'} is not azureFrontDoorId: it came through another Front Door profile, so Front Door was not trusted for it (and the request is refused with a 403)`
  }

  /** The X-Forwarded-Proto entry the walk believes (see walk.ts `forwardedProto`). */
  function xForwardedProto(
    h: RequestLike['headers'],
    xff: string | undefined,
    clientEntry: number,
  ): ValueOrigin<'http' | 'https'> | undefined {
    const xfp = headerString(h['x-forwarded-proto'])
    if (xfp === undefined) return undefined
    const aligned = pairByHop && clientEntry > 0 && xfp.includes(',') && countEntries(xfp) === countEntries(xff!)
    const c = new ListCursor().reset(xfp)
    let found = c.prev()
    for (let n = aligned ? clientEntry : 0; found && n > 0; n--) found = c.prev()
    const value = found ? protoOf(xfp, c.start, c.end) : undefined
    return value === undefined
      ? undefined
      : { value, from: 'x-forwarded-proto', raw: xfp, entry: xfp.slice(c.start, c.end) }
  }
}

/** The connection's protocol: the socket's, or the trusted load balancer's word (PROXY protocol). */
const connectionOrigin = (socket: RequestLike['socket'], value: 'http' | 'https'): ValueOrigin<'http' | 'https'> => {
  const lb = balancerTlsOf(socket)
  return lb === undefined
    ? { value, from: 'socket', raw: undefined }
    : {
        value,
        from: 'proxy-protocol',
        raw: undefined,
        entry: lb.by === 'ssl-tlv' ? 'PP2_CLIENT_SSL' : "tls: 'terminated'",
        balancer: lb.balancer,
      }
}

/** The request's own Host header (or HTTP/2 `:authority`). */
const ownHost = (h: RequestLike['headers']): ValueOrigin<string | undefined> => {
  const from = h.host !== undefined ? 'host' : h[':authority'] !== undefined ? ':authority' : 'host'
  const value = h[from]
  return typeof value === 'string'
    ? { value: parseHost(value)?.host, from, raw: value }
    : { value: undefined, from, raw: headerString(value) }
}

/** Why a vendor header gave the client, as a sentence. */
const headerSentence = (hops: ExplainedHop[], reader: ClientIpHeaderReader): string => {
  const client = hops[hops.length - 1]!
  const writer = hops[hops.length - 2]!
  const by =
    reader.vendor === undefined
      ? 'a trusted proxy, which may write it'
      : `inside the "${reader.vendor}" preset, whose addresses write it`
  return `${client.address} is the client from ${reader.name} (clientIpHeader): the farthest trusted address, ${writer.address ?? 'the trusted Unix socket'} (hop ${writer.hop}), is ${by}`
}

/** Why the walk stopped, as a sentence. */
const sentence = (r: Resolution, hops: ExplainedHop[], chain: string, maxHops: number, req: RequestLike): string => {
  const last = hops[hops.length - 1]!
  const client = r.ip ?? 'no address'
  switch (r.reason) {
    case 'untrusted-peer':
      return `the socket peer ${client} is not a trusted proxy, so no forwarded header was read: it is the client`
    case 'no-peer': {
      const remote = req.socket?.remoteAddress
      return typeof remote === 'string'
        ? `the socket address ${show(remote)} is not a usable IP address, so no forwarded header was read and there is no client address`
        : 'the socket has no address (a Unix socket, and trustUnixSocket is off; or a TCP socket closed or reset before it was read), so no forwarded header was read'
    }
    case 'untrusted-hop':
      return `${client} (hop ${last.hop}, from ${chain}) is not a trusted proxy: it is the client`
    case 'invalid-entry':
      return `the ${chain} entry after hop ${last.hop} is not an IP address, so the walk stopped there: the last address reached, ${client}, is the client`
    case 'hop-limit':
      return `the walk went past maxHops (${maxHops}) trusted entries and stopped: the last one, ${client}, is the client`
    case 'end-of-chain':
      if (r.ip === undefined) return `the trusted Unix socket sent no ${chain} address: there is no client address`
      return hops.length === 1
        ? `the peer is trusted but sent no ${chain} address: the peer, ${client}, is the client`
        : `every address was trusted, so the leftmost, ${client}, is the client; unless the first proxy overwrites ${chain}, that client chose this address itself`
    /* c8 ignore next 2 -- a reason this version does not know yet */
    default:
      return `the walk stopped (${String(r.reason)}): ${client} is the client`
  }
}

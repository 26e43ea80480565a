/**
 * The walks along a forwarded chain, nearest hop first: `X-Forwarded-For`
 * (with `X-Forwarded-Proto` / `-Host`) and RFC 7239 `Forwarded`. Each
 * appends the addresses it reached to `ips` and returns what it found.
 */
import { type ForwardedElement, parseForwarded } from '../parse/forwarded.js'
import { formatParsed, INVALID, parseRequestAddress, requestKind4, WITH_PORT } from '../parse/ip.js'
import { countEntries, headerString, ListCursor, protoOf } from '../parse/list.js'
import type { RequestLike, StopReason, Verdict } from './resolution.js'
import type { Matcher } from './trust.js'

/**
 * The addresses one request's walk reaches, peer first. One list per engine,
 * cleared per request: `take()` copies them into an array of exactly their
 * number, so a request allocates no array that grows (push on an empty
 * array reserves 17 slots, and every result is kept alive by its request).
 */
export class AddressList {
  private readonly slots: string[] = ['', '', '', '', '', '', '', '']
  length = 0

  clear(): this {
    this.length = 0
    return this
  }

  push(address: string): void {
    if (this.length === this.slots.length) this.slots.push(address)
    else this.slots[this.length] = address
    this.length++
  }

  /** The address at `i` (< length). */
  at(i: number): string {
    return this.slots[i]!
  }

  /** The addresses as an array of their exact size. */
  take(): string[] {
    const s = this.slots
    switch (this.length) {
      case 0:
        return []
      case 1:
        return [s[0]!]
      case 2:
        return [s[0]!, s[1]!]
      case 3:
        return [s[0]!, s[1]!, s[2]!]
      default:
        return s.slice(0, this.length)
    }
  }
}

/**
 * The convention a trusted peer's request is read by: `Forwarded` when it
 * has one and it comes first in `headers` (or X-Forwarded-For is absent),
 * else X-Forwarded-* when read, else none. One rule for resolve() and
 * explain().
 */
export const conventionOf = (
  fwd: string | undefined,
  xff: string | undefined,
  forwardedFirst: boolean,
  readXForwarded: boolean,
): 'forwarded' | 'x-forwarded' | undefined =>
  fwd !== undefined && (forwardedFirst || xff === undefined) ? 'forwarded' : readXForwarded ? 'x-forwarded' : undefined

/** What a walk found, besides the addresses it appended. */
export interface Walk extends Verdict {
  /**
   * the proxy's host value (with `forwardedHost`): `undefined` when there is
   * none, `''` when there is one but it is unusable
   */
  host: string | undefined
  /** whether a forwarded header's value decided `protocol` (else it is the connection's) */
  protocolFromHeader: boolean
}

/**
 * A walker bound to one engine. The returned `Walk` is one record per
 * walker, overwritten by the next walk: read it before walking again (the
 * per-request path allocates nothing for it).
 */
interface Walker {
  xForwarded(h: RequestLike['headers'], ips: AddressList, xff: string | undefined, socketProto: 'http' | 'https'): Walk
  forwarded(ips: AddressList, fwd: string, socketProto: 'http' | 'https'): Walk
}

/**
 * What compileWalker reads of the engine's config (EngineConfig has these
 * fields): declared here so this module does not import options.ts, which
 * imports vendor-headers.ts, which uses AddressList. @internal
 */
export interface WalkConfig {
  readonly match: Matcher
  readonly maxHops: number
  readonly pairByHop: boolean
  readonly forwardedHost: boolean
}

/** Compile the walks for `config`. */
export function compileWalker(config: WalkConfig): Walker {
  const { match, maxHops, pairByHop, forwardedHost } = config
  const cursor = new ListCursor()
  const walk: Walk = {
    source: 'socket',
    reason: 'end-of-chain',
    protocol: 'http',
    host: undefined,
    protocolFromHeader: false,
  }

  /**
   * `X-Forwarded-For` right to left until an untrusted or invalid entry or
   * `maxHops`; then the protocol and host the nearest proxy wrote.
   */
  const xForwarded = (
    h: RequestLike['headers'],
    ips: AddressList,
    xff: string | undefined,
    socketProto: 'http' | 'https',
  ): Walk => {
    let reason: StopReason = 'end-of-chain'
    let clientEntry = -1 // index from the right of the XFF entry that is the client
    if (xff !== undefined) {
      const c = cursor.reset(xff)
      for (let hop = 1; ; hop++) {
        // a plain IPv4 entry is parsed as it is found; any other is found, then parsed
        const ipv4 = c.prevIPv4()
        if (!ipv4 && !c.prev()) break
        if (hop > maxHops) {
          reason = 'hop-limit'
          break
        }
        const kind = ipv4 ? requestKind4() : parseRequestAddress(xff, c.start, c.end, WITH_PORT)
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
    walk.source = clientEntry >= 0 ? 'x-forwarded-for' : 'socket'
    walk.reason = reason
    const proto = forwardedProto(h, xff, clientEntry)
    walk.protocol = proto ?? socketProto
    walk.protocolFromHeader = proto !== undefined
    walk.host = forwardedHost ? forwardedHostOf(h) : undefined
    return walk
  }

  /**
   * Protocol: the rightmost value, written by the nearest trusted proxy
   * that writes one. Pairing values with XFF entries by hop (protoPairing
   * 'hop', when the counts match) cannot tell a proxy that appends from
   * one that passes the client's value through, so it is opt-in. A value
   * that is not http(s) is ignored: undefined, the connection decides.
   */
  const forwardedProto = (
    h: RequestLike['headers'],
    xff: string | undefined,
    clientEntry: number,
  ): 'http' | 'https' | undefined => {
    const xfp = headerString(h['x-forwarded-proto'])
    if (xfp === undefined) return undefined
    // the usual single value, without scanning
    if (xfp === 'https' || xfp === 'http') return xfp
    const aligned = pairByHop && clientEntry > 0 && xfp.includes(',') && countEntries(xfp) === countEntries(xff!)
    const p = cursor.reset(xfp)
    let found = p.prev()
    for (let n = aligned ? clientEntry : 0; found && n > 0; n--) found = p.prev()
    return found ? protoOf(xfp, p.start, p.end) : undefined
  }

  /** The rightmost `X-Forwarded-Host` value. */
  const forwardedHostOf = (h: RequestLike['headers']): string | undefined => {
    const xfh = headerString(h['x-forwarded-host'])
    return xfh !== undefined && cursor.reset(xfh).prev() ? xfh.slice(cursor.start, cursor.end) : undefined
  }

  /** `Forwarded` elements nearest first, until an untrusted or invalid `for=` or `maxHops`. */
  const forwarded = (ips: AddressList, fwd: string, socketProto: 'http' | 'https'): Walk => {
    // one more than maxHops to tell when the limit cut the walk
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
      const kind = f === undefined ? INVALID : parseRequestAddress(f, 0, f.length, WITH_PORT)
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
    walk.source = client ? 'forwarded' : 'socket'
    walk.reason = reason
    walk.protocol = proto ?? socketProto
    walk.protocolFromHeader = proto !== undefined
    walk.host = !forwardedHost || el === undefined ? undefined : !el.valid ? '' : el.host === '' ? undefined : el.host
    return walk
  }

  return { xForwarded, forwarded }
}

/**
 * Vendor client-IP headers (`clientIpHeader`) and Azure Front Door's
 * `X-Azure-FDID` (`azureFrontDoorId`): compiled once from the options; per
 * request they read one header each, and nothing at all when unset.
 */
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { BARE, formatParsed, INVALID, parseRequestAddress } from '../parse/ip.js'
import type { RequestLike, Verdict } from './resolution.js'
import { compileTrust, type Matcher } from './trust.js'
import {
  CLIENT_IP_HEADERS,
  type ClientIpHeader,
  type Platform,
  PLATFORMS,
  type PresetContext,
} from '../vendors/index.js'
import type { AddressList } from './walk.js'

/**
 * One address from a vendor header, canonical, or undefined: a single IP
 * (no port, zone id, list or unspecified address), or with `port` the
 * `ip:port` of CloudFront-Viewer-Address, split on the last colon since
 * its IPv6 has no brackets. @internal
 */
export const headerAddress = (value: string, port: boolean): string | undefined => {
  let end = value.length
  if (port) {
    end = value.lastIndexOf(':')
    if (end < 0 || !isPort(value, end + 1)) return undefined
  }
  const kind = parseRequestAddress(value, 0, end, BARE)
  return kind === INVALID ? undefined : formatParsed(kind)
}

/** `s[from..]` is a port number, 0-65535, 1-5 digits. */
const isPort = (s: string, from: number): boolean => {
  const len = s.length - from
  if (len < 1 || len > 5) return false
  let port = 0
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
    port = port * 10 + (c - 48)
  }
  return port <= 65535
}

/** The compiled `clientIpHeader`. @internal */
export interface ClientIpHeaderReader {
  /** the header, lower-case (for explain) */
  readonly name: ClientIpHeader
  /** the vendor preset whose addresses may write it; undefined: any trusted proxy (for explain) */
  readonly vendor: string | undefined
  /**
   * After a walk: when the header holds one valid address and the farthest
   * trusted address the walk reached (the hop the client connected to)
   * may write it, make that address the client (`ips` cut after the writer,
   * the header's address appended) and return a `'header'` verdict;
   * otherwise return `verdict` as it is.
   */
  read(h: RequestLike['headers'], ips: AddressList, hasPeer: boolean, verdict: Verdict): Verdict
}

/** Which vendors of `vendors` the trust list names; throws unless exactly one. */
const boundVendor = (header: ClientIpHeader, vendors: readonly string[], trusted: readonly string[]): string => {
  const named = vendors.filter(v => trusted.includes(v))
  if (named.length !== 1) {
    const list = vendors.map(v => `"${v}"`).join(' or ')
    throw new ProxyAwareConfigError(
      'clientIpHeader',
      named.length === 0
        ? `is ${show(header)}, which only ${list} writes, but trust has no such preset: the header would be read from proxies that do not write it (so from whoever sent it). Add the preset to trust`
        : `is ${show(header)}, which both ${list} may write, and trust names both: one header is bound to one vendor. Use the vendor's own header (e.g. "cf-connecting-ip")`,
    )
  }
  return named[0]!
}

/**
 * Compile `clientIpHeader`: `trusted` are the vendor presets the trust list
 * names, `ctx` the options (for a platform preset's confirmation).
 */
export const compileClientIpHeader = (
  value: unknown,
  trusted: readonly string[],
  ctx: PresetContext,
): ClientIpHeaderReader | undefined => {
  if (value === undefined) return undefined
  const name = typeof value === 'string' ? value.toLowerCase() : undefined
  if (name === undefined || !Object.hasOwn(CLIENT_IP_HEADERS, name)) {
    throw new ProxyAwareConfigError(
      'clientIpHeader',
      `must be one of ${Object.keys(CLIENT_IP_HEADERS)
        .map(h => `'${h}'`)
        .join(', ')}, got ${show(value)}`,
    )
  }
  const header = name as ClientIpHeader
  const { vendors, port } = CLIENT_IP_HEADERS[header]
  // the writer: any trusted proxy (X-Real-IP), or an address of the vendor
  let writes: (address: string | undefined, hop: number) => boolean = () => true
  let vendor: string | undefined
  if (vendors.length > 0) {
    vendor = boundVendor(header, vendors, trusted)
    const match: Matcher = compileTrust([vendor], ctx).match
    // an address-less writer is a trusted Unix socket: only a platform's
    // hop rule can vouch for it, no range
    const hops = Object.hasOwn(PLATFORMS, vendor) ? PLATFORMS[vendor as Platform].hops : 0
    writes = (address, hop) =>
      address === undefined ? hop < hops : match(parseRequestAddress(address, 0, address.length, BARE), hop, address)
  }
  return {
    name: header,
    vendor,
    read(h, ips, hasPeer, verdict) {
      const raw = h[header]
      // absent, or a repeated header left as an array
      if (typeof raw !== 'string') return verdict
      // several values (Node joins a repeated header with ", "), junk:
      // the walk's answer stands
      const client = headerAddress(raw, port)
      if (client === undefined) return verdict
      // the farthest trusted address: the walk stopped past it at an
      // untrusted one, or reached no untrusted address at all
      const w = verdict.reason === 'untrusted-hop' ? ips.length - 2 : ips.length - 1
      // w is -1 when the writer is a trusted Unix socket (no address)
      if (!writes(w < 0 ? undefined : ips.at(w), hasPeer ? w : w + 1)) return verdict
      ips.length = w + 1
      ips.push(client)
      return { source: 'header', reason: verdict.reason, protocol: verdict.protocol }
    },
  }
}

/**
 * The GUID form Azure shows a Front Door profile's ID in (X-Azure-FDID:
 * "55ce4ed1-4b06-4bf1-b40e-4638452104da" in learn.microsoft.com/azure/
 * frontdoor/front-door-http-headers-protocol, read 2026-11-29): 8-4-4-4-12
 * hex digits.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The compiled `azureFrontDoorId`. @internal */
export interface FrontDoorCheck {
  /** the request's X-Azure-FDID is one of the configured ids */
  idMatches(h: RequestLike['headers']): boolean
  /** `address` (canonical) is inside the azure-front-door ranges */
  isFrontDoor(address: string): boolean
  /** the trust matcher without the azure-front-door preset */
  matchWithout: Matcher
}

/**
 * Compile `azureFrontDoorId` (one id or several): needs the
 * "azure-front-door" preset in `trust`.
 */
export const compileFrontDoorId = (
  value: unknown,
  trust: unknown,
  trusted: readonly string[],
  ctx: PresetContext,
): FrontDoorCheck | undefined => {
  if (value === undefined) return undefined
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || list.some(id => typeof id !== 'string' || !GUID.test(id))) {
    throw new ProxyAwareConfigError(
      'azureFrontDoorId',
      `must be your Front Door profile's ID (a GUID such as "55ce4ed1-4b06-4bf1-b40e-4638452104da", shown in the Azure portal) or an array of them, got ${show(value)}`,
    )
  }
  if (!trusted.includes('azure-front-door')) {
    throw new ProxyAwareConfigError(
      'azureFrontDoorId',
      `is set but trust has no "azure-front-door" preset, got trust: ${show(trust)}`,
    )
  }
  const ids = new Set((list as string[]).map(id => id.toLowerCase()))
  const frontDoor = compileTrust(['azure-front-door'], ctx).match
  // trust is a list here (it names a preset): the same list without it
  const entries = typeof trust === 'string' ? trust.split(',') : (trust as readonly string[])
  const others = entries.filter(e => e.trim().toLowerCase() !== 'azure-front-door')
  return {
    idMatches: h => {
      const id = h['x-azure-fdid']
      return typeof id === 'string' && ids.has(id.toLowerCase())
    },
    isFrontDoor: address => frontDoor(parseRequestAddress(address, 0, address.length, BARE), 0, address),
    matchWithout: compileTrust(others, ctx).match,
  }
}

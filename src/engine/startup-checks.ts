/**
 * Warnings at startup about what the options say by themselves: the
 * setups the per-request watch (`diagnostics.ts`) would report on the
 * first request that shows them, told before any request (so that
 * `proxy-aware check` reports them too), and vendor headers whose vendor
 * passes a client's own value through unless it is configured not to.
 */
import ipaddr from 'ipaddr.js'
import { show } from '../core/errors.js'
import type { Warn } from '../core/options.js'
import type { Range6 } from './trust.js'

/** Stable codes of the startup warnings (docs/observability.md lists them). @internal */
export const STARTUP_CODES = {
  hopCount: 'PROXY_AWARE_HOP_COUNT',
  trustAll: 'PROXY_AWARE_TRUST_ALL',
  trustWide: 'PROXY_AWARE_TRUST_WIDE',
  passThrough: 'PROXY_AWARE_CLIENT_IP_HEADER_PASS_THROUGH',
  azureFdid: 'PROXY_AWARE_AZURE_FDID',
} as const

/** `[start, end)` of an address range, as integers. */
type Interval = [start: bigint, end: bigint]

const byStart = (a: Interval, b: Interval): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)

/** The union of `list` as sorted, disjoint intervals. */
const merge = (list: readonly Interval[]): Interval[] => {
  const out: Interval[] = []
  for (const [start, end] of [...list].sort(byStart)) {
    const last = out.at(-1)
    if (last !== undefined && start <= last[1]) last[1] = end > last[1] ? end : last[1]
    else out.push([start, end])
  }
  return out
}

/** How many addresses two sorted, disjoint lists share. */
const overlap = (a: readonly Interval[], b: readonly Interval[]): bigint => {
  let total = 0n
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const [aStart, aEnd] = a[i]!
    const [bStart, bEnd] = b[j]!
    const lo = aStart > bStart ? aStart : bStart
    const hi = aEnd < bEnd ? aEnd : bEnd
    if (hi > lo) total += hi - lo
    if (aEnd < bEnd) i++
    else j++
  }
  return total
}

/** `bytes/prefix` as an interval of a `bits`-wide family. */
const cidr = (bytes: readonly number[], prefix: number, bits: number): Interval => {
  let value = 0n
  for (const b of bytes) value = (value << 8n) | BigInt(b)
  const size = 1n << BigInt(bits - prefix)
  const start = value & ~(size - 1n)
  return [start, start + size]
}

type Special = [ipaddr.IPv4 | ipaddr.IPv6, number]

/**
 * The public space of a family: IPv4, or IPv6's global unicast 2000::/3,
 * without the special-purpose ranges ipaddr.js knows (private, loopback,
 * link-local, CGNAT, documentation, 6to4...): the oracle the project uses
 * for addresses. Computed on first use.
 */
const publicSpace = (v6: boolean): Interval[] => {
  const bits = v6 ? 128 : 32
  const proto = (v6 ? ipaddr.IPv6 : ipaddr.IPv4).prototype as unknown as {
    SpecialRanges: Record<string, Special | Special[]>
  }
  const specials: Interval[] = []
  for (const entry of Object.values(proto.SpecialRanges)) {
    const list = (Array.isArray(entry[0]) ? entry : [entry]) as Special[]
    for (const [addr, prefix] of list) specials.push(cidr(addr.toByteArray(), prefix, bits))
  }
  const universe: Interval = v6 ? [0x2n << 124n, 0x4n << 124n] : [0n, 1n << 32n]
  const out: Interval[] = []
  let at = universe[0]
  // the universe's end as a last special range closes the last gap
  for (const [start, end] of merge([...specials, [universe[1], universe[1] + 1n]])) {
    if (start > at) out.push([at, start < universe[1] ? start : universe[1]])
    if (end > at) at = end
  }
  return out.filter(([start, end]) => end > start)
}

let public4: Interval[] | undefined
let public6: Interval[] | undefined

/** Public addresses a trust list's ranges cover, per family. @internal */
export const publicCoverage = (ranges: {
  v4net: readonly number[]
  v4mask: readonly number[]
  v6: readonly Range6[]
}): { v4: bigint; v6: bigint } => {
  const v4 = ranges.v4net.map((net, i): Interval => {
    const start = BigInt(net >>> 0)
    return [start, start + BigInt((~ranges.v4mask[i]! >>> 0) + 1)]
  })
  const v6 = ranges.v6.map(r => {
    const bytes = Array.from(r.net).flatMap(g => [g >> 8, g & 0xff])
    return cidr(bytes, r.prefix, 128)
  })
  public4 ??= publicSpace(false)
  public6 ??= publicSpace(true)
  return { v4: overlap(merge(v4), public4), v6: overlap(merge(v6), public6) }
}

/**
 * Past these, a list is not a proxy fleet: a /8 of public IPv4 addresses,
 * a /16 of public IPv6 ones. All the vendor presets together stay far
 * below (test/startup-checks.ts measures them).
 */
export const WIDE_V4 = 1n << 24n
export const WIDE_V6 = 1n << 112n

/** What a compiled `trust` says about itself (see `compileTrust`). */
interface TrustFacts {
  hopCount: boolean
  ranges?: { v4net: readonly number[]; v4mask: readonly number[]; v6: readonly Range6[] }
}

/**
 * Warn about a `trust` option that believes clients: `true`
 * (PROXY_AWARE_TRUST_ALL), a hop count (PROXY_AWARE_HOP_COUNT), ranges
 * wider than any proxy fleet (PROXY_AWARE_TRUST_WIDE). @internal
 */
export const checkTrustScope = (trust: unknown, compiled: TrustFacts, warn: Warn): void => {
  if (trust === true) {
    warn(
      STARTUP_CODES.trustAll,
      "proxy-aware: trust: true trusts every peer and every forwarded address: a client that reaches the app directly, or that writes X-Forwarded-For before your proxy appends to it, chooses its own IP (requests then report PROXY_AWARE_DIRECT_CONNECTION and PROXY_AWARE_CLIENT_CHOSE_IP). List your proxies' addresses instead.",
      { trust: true },
    )
  } else if (compiled.hopCount) {
    warn(
      STARTUP_CODES.hopCount,
      `proxy-aware: trust: ${show(trust)} is a hop count. Any client that reaches the app directly is believed (its X-Forwarded-* headers are read as if a proxy had sent them). List your proxies' addresses instead.`,
      { trust: show(trust) },
    )
  } else if (compiled.ranges !== undefined) {
    const { v4, v6 } = publicCoverage(compiled.ranges)
    if (v4 < WIDE_V4 && v6 < WIDE_V6) return
    const share = (n: bigint, space: Interval[]) => {
      const total = space.reduce((sum, [start, end]) => sum + end - start, 0n)
      return `${Number((n * 1000n) / total) / 10}%`
    }
    const parts = [
      v4 >= WIDE_V4 ? `${v4} public IPv4 addresses (${share(v4, public4!)} of them)` : undefined,
      v6 >= WIDE_V6 ? `${share(v6, public6!)} of the public IPv6 space` : undefined,
    ].filter(p => p !== undefined)
    warn(
      STARTUP_CODES.trustWide,
      `proxy-aware: trust ${show(trust)} covers ${parts.join(' and ')}: far more than any proxy fleet, so a client inside these ranges that sends X-Forwarded-For chooses its own IP (requests then report PROXY_AWARE_CLIENT_CHOSE_IP). List only your proxies' addresses and your vendors' presets.`,
      { trust: show(trust), publicIPv4: String(v4), publicIPv6: String(v6) },
    )
  }
}

/**
 * Vendor client-IP headers the vendor passes through from the client
 * unless configured, and the setting that stops it. Read 2026-12-06:
 * - Cloudflare "passes all HTTP request headers to your origin web server"
 *   (developers.cloudflare.com/fundamentals/reference/http-headers/) and
 *   adds True-Client-IP only with the Managed Transform "Add True-Client-IP
 *   header" (developers.cloudflare.com/rules/transform/managed-transforms/reference/);
 * - CloudFront: True-Client-IP is a header a viewer-request CloudFront
 *   Function adds from `event.viewer.ip` (AmazonCloudFront DeveloperGuide,
 *   example-function-add-true-client-ip-header.html); otherwise a viewer's
 *   own header reaches the origin when the origin request policy forwards it;
 * - Fastly: "if a client sets this header themselves, we will use it"
 *   (fastly.com/documentation/reference/http/http-headers/Fastly-Client-IP).
 */
const PASS_THROUGH: Readonly<Record<string, { vendor: string; setting: string }>> = {
  'cloudflare true-client-ip': {
    vendor: 'Cloudflare',
    setting: 'turn on the Managed Transform "Add True-Client-IP header" (Rules > Transform Rules > Managed Transforms)',
  },
  'cloudfront true-client-ip': {
    vendor: 'CloudFront',
    setting:
      "add a viewer-request CloudFront Function that sets true-client-ip from event.viewer.ip, so that it replaces the viewer's own",
  },
  'fastly fastly-client-ip': {
    vendor: 'Fastly',
    setting:
      'set it in vcl_recv: if (fastly.ff.visits_this_service == 0 && req.restarts == 0) { set req.http.Fastly-Client-IP = client.ip; }',
  },
}

/**
 * Warn (PROXY_AWARE_CLIENT_IP_HEADER_PASS_THROUGH) when `clientIpHeader`
 * is a header its vendor (one of `vendors`, the presets `trust` names)
 * passes through from the client by default, unless `confirmed`
 * (`clientIpHeaderConfirmed`). @internal
 */
export const checkClientIpHeader = (
  header: unknown,
  vendors: readonly string[],
  confirmed: boolean,
  warn: Warn,
): void => {
  if (typeof header !== 'string' || confirmed) return
  const name = header.toLowerCase()
  for (const vendor of vendors) {
    const rule = PASS_THROUGH[`${vendor} ${name}`]
    if (rule === undefined) continue
    warn(
      STARTUP_CODES.passThrough,
      `proxy-aware: clientIpHeader ${show(name)} with the "${vendor}" preset: by default ${rule.vendor} passes a client's own ${name} through to the app, so any client chooses its IP. In ${rule.vendor}, ${rule.setting}; then set clientIpHeaderConfirmed: true. Or use ${vendor === 'fastly' ? 'the X-Forwarded-For walk (no clientIpHeader)' : vendor === 'cloudflare' ? 'clientIpHeader: "cf-connecting-ip"' : 'clientIpHeader: "cloudfront-viewer-address"'}.`,
      { clientIpHeader: name, vendor },
    )
  }
}

/**
 * Warn (PROXY_AWARE_AZURE_FDID) when trust has the "azure-front-door"
 * preset without `azureFrontDoorId`. @internal
 */
export const checkFrontDoorId = (vendors: readonly string[], hasId: boolean, warn: Warn): void => {
  if (hasId || !vendors.includes('azure-front-door')) return
  warn(
    STARTUP_CODES.azureFdid,
    'proxy-aware: trust has the "azure-front-door" preset without azureFrontDoorId: its ranges are shared by every Front Door customer, so anyone with a Front Door profile can send the app a request with the X-Forwarded-For they choose. Set azureFrontDoorId to your profile\'s ID (X-Azure-FDID).',
    { preset: 'azure-front-door' },
  )
}

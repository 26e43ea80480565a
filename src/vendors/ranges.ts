/**
 * The vendor range checks: what a vendor's list (bundled, a presets file
 * or a refresh) must be beyond what `trust` accepts (parse/ranges.ts), and
 * the address count the growth bound compares.
 * Startup only: nothing here runs per request.
 */
import ipaddr from 'ipaddr.js'
import { show } from '../core/errors.js'
import { parseEntry, type ParsedEntry, specialBlockOf } from '../parse/ranges.js'

/** Shortest prefixes accepted in a vendor list: a vendor owning a /7 of IPv4 or a /15 of IPv6 would be news. */
const MIN_PREFIX = { ipv4: 8, ipv6: 16 } as const

/**
 * Check one range of a vendor's list: what `trust` checks (parseEntry),
 * then a CIDR, host bits clear, IPv4 text canonical, no wider than
 * MIN_PREFIX, and no part of it special-purpose. Returns it canonical
 * (network address, RFC 5952); throws an Error naming the vendor. @internal
 */
export const checkVendorRange = (vendor: string, entry: unknown): string => {
  if (typeof entry !== 'string' || !/^[0-9a-fA-F:.]+\/[0-9.]+$/.test(entry)) {
    throw new Error(`${vendor}: ${show(entry)} is not a CIDR range`)
  }
  let parsed: ParsedEntry
  try {
    parsed = parseEntry(entry)
  } catch (error) {
    throw new Error(`${vendor}: ${show(entry)} is refused as trust would refuse it: ${(error as Error).message}`)
  }
  const { kind, prefix } = parsed
  const network =
    parsed.kind === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${parsed.ip.toString()}/${prefix}`)
      : new ipaddr.IPv6(Array.from(parsed.net))
  const text = (ip: ipaddr.IPv4 | ipaddr.IPv6) =>
    ip.kind() === 'ipv4' ? ip.toString() : (ip as ipaddr.IPv6).toRFC5952String()
  const canonical = `${text(network)}/${prefix}`
  // (host bits were refused by parseEntry, as trust refuses them)
  if (kind === 'ipv4' && entry !== canonical) {
    throw new Error(`${vendor}: ${show(entry)} is not canonical CIDR text (write ${canonical})`)
  }
  if (prefix < MIN_PREFIX[kind])
    throw new Error(`${vendor}: ${show(entry)} is wider than /${MIN_PREFIX[kind]}: not a vendor range`)
  const special = specialBlockOf(network, prefix)
  if (special !== undefined) {
    throw new Error(`${vendor}: ${show(entry)} is not all public unicast address space: it overlaps ${special}`)
  }
  return canonical
}

/** Addresses covered by canonical ranges, per family, each address counted once. @internal */
export const coverage = (ranges: readonly string[]): { ipv4: bigint; ipv6: bigint } => {
  const total = { ipv4: 0n, ipv6: 0n }
  const byFamily = { ipv4: [] as Array<[bigint, bigint]>, ipv6: [] as Array<[bigint, bigint]> }
  for (const range of ranges) {
    const [ip, prefix] = ipaddr.parseCIDR(range)
    const bits = ip.kind() === 'ipv4' ? 32 : 128
    const start = ip.toByteArray().reduce((n, b) => (n << 8n) | BigInt(b), 0n)
    byFamily[ip.kind()].push([start, 1n << BigInt(bits - prefix)])
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    // CIDR ranges nest or are apart: sorted by start then size, a range
    // starting before the end reached so far lies inside an earlier one
    const sorted = byFamily[family].sort((a, b) => (a[0] === b[0] ? Number(b[1] - a[1]) : a[0] < b[0] ? -1 : 1))
    let end = -1n
    for (const [start, size] of sorted) {
      if (start < end) continue
      total[family] += size
      end = start + size
    }
  }
  return total
}

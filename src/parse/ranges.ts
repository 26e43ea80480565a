/**
 * One address range, read the same way wherever it comes from: a `trust`
 * entry, a vendor list in a presets file, or a list `refresh-presets`
 * fetched. `parseEntry` holds the checks `trust` makes;
 * `checkVendorRange` (src/vendors/ranges.ts) adds what a vendor's list
 * must also be (a canonical public CIDR), so a list that refresh writes
 * and the loader accepts is one `trust` accepts.
 * Startup only: nothing here runs per request.
 */
import ipaddr from 'ipaddr.js'
import { show } from '../core/errors.js'
import { BARE, INVALID, parseAddress, scratch } from './ip.js'

/** Why an entry is refused (the caller names the option or the vendor). @internal */
export class EntryError extends Error {}

/** A parsed entry: an IPv4-mapped IPv6 range is returned as the IPv4 range it covers. @internal */
export type ParsedEntry =
  | { kind: 'ipv4'; ip: ipaddr.IPv4; prefix: number }
  | { kind: 'ipv6'; ip: ipaddr.IPv6; prefix: number; net: Uint16Array }

/** Parse one configured address (no port), strictly. */
const parseConfigAddress = (addr: string): ipaddr.IPv4 | ipaddr.IPv6 => {
  if (ipaddr.IPv4.isValidFourPartDecimal(addr)) return ipaddr.IPv4.parse(addr)
  if (addr.includes(':') && ipaddr.IPv6.isValid(addr) && !/[^0-9a-fA-F:.]/.test(addr)) {
    // ipaddr.js reads "::1.2.3.4" leniently (and as "::ffff:1.2.3.4", which
    // would make an IPv4-compatible entry trust IPv4): our own strict parser
    // decides, and its groups are the address
    if (parseAddress(addr, 0, addr.length, BARE) === INVALID) throw new EntryError('not a valid IPv6 address')
    return new ipaddr.IPv6(Array.from(scratch.g))
  }
  if (/^[0-9.]+$/.test(addr) || /^0x/i.test(addr)) {
    // ipaddr.js would read 198.041.128.000 as octal (198.33.128.0)
    throw new EntryError('IPv4 addresses must be four decimal parts without leading zeros')
  }
  throw new EntryError(
    'not an IP address, CIDR range or preset (hostnames are not resolved; presets are loopback, linklocal, uniquelocal, private, cloudflare, cloudfront, fastly, gcp-lb, azure-front-door, fly, heroku, vercel)',
  )
}

/** The prefix after the slash: a number, or an IPv4 netmask. */
const prefixOf = (ip: ipaddr.IPv4 | ipaddr.IPv6, p: string, max: number): number => {
  let prefix: number
  if (/^(0|[1-9]\d*)$/.test(p)) {
    prefix = Number(p)
    if (prefix > max) throw new EntryError(`the prefix length ${p} is out of range (1-${max})`)
  } else if (ip.kind() === 'ipv4' && ipaddr.IPv4.isValidFourPartDecimal(p)) {
    const mask = ipaddr.IPv4.parse(p).prefixLengthFromSubnetMask()
    if (mask === null) throw new EntryError('the netmask is not contiguous')
    prefix = mask
  } else {
    throw new EntryError('the prefix must be a number or, for IPv4, a netmask')
  }
  if (prefix === 0) throw new EntryError('a /0 range trusts every address; if you really mean that, use trust: true')
  return prefix
}

/** `0.0.0.0`, `::` or `::ffff:0.0.0.0`, which requests never carry as an address. */
const isUnspecified = (ip: ipaddr.IPv4 | ipaddr.IPv6): boolean => {
  const v4 =
    ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip
  return v4.toByteArray().every(b => b === 0)
}

/** The mask of IPv6 group `i` (0-7) under a prefix length. @internal */
export const maskOf = (prefix: number, i: number): number => {
  const bits = Math.max(0, Math.min(16, prefix - i * 16))
  return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff
}

/**
 * Parse one address or range entry (not a preset name) as `trust` reads
 * it; throws an EntryError saying why it is refused. @internal
 */
export const parseEntry = (entry: string): ParsedEntry => {
  if (/^(true|false)$/i.test(entry)) throw new EntryError('use the boolean true (trust everything), not a string')
  if (entry.includes(';')) throw new EntryError('separate entries with commas, not semicolons')
  if (entry.includes('%')) {
    // reported peers carry no zone (see ip.ts), so a zoned entry could
    // only be matched by ignoring its zone: say so instead (realclientip-go
    // refuses zones in ranges too, AddressesAndRangesToIPNets, 2026-11-29)
    const zone = /%[^/]*/.exec(entry)![0]
    throw new EntryError(
      `zone ids (${zone}) are not supported: write ${show(entry.replace(zone, ''))}, which matches on every interface`,
    )
  }
  const slash = entry.indexOf('/')
  const ip = parseConfigAddress(slash < 0 ? entry : entry.slice(0, slash))
  const max = ip.kind() === 'ipv4' ? 32 : 128
  const prefix = slash < 0 ? max : prefixOf(ip, entry.slice(slash + 1), max)
  if (prefix === max && isUnspecified(ip)) {
    throw new EntryError(
      'the unspecified address is never a peer or a forwarded address (a listen address?); proxy-aware treats it as no address',
    )
  }
  const parsed: ParsedEntry =
    ip.kind() === 'ipv4' ? { kind: 'ipv4', ip: ip as ipaddr.IPv4, prefix } : parseV6(ip as ipaddr.IPv6, prefix)
  checkHostBits(ip, prefix)
  return parsed
}

/**
 * `10.1.2.3/8` is ambiguous in a security setting (the range 10.0.0.0/8,
 * or the address 10.1.2.3?): refuse it and name both readings.
 */
const checkHostBits = (ip: ipaddr.IPv4 | ipaddr.IPv6, prefix: number) => {
  const bytes = ip.toByteArray()
  const net = bytes.map((b, i) => b & (0xff << (8 - Math.max(0, Math.min(8, prefix - i * 8)))) & 0xff)
  if (net.every((b, i) => b === bytes[i])) return
  const range = `${ipaddr.fromByteArray(net).toString()}/${prefix}`
  throw new EntryError(
    `has host bits set after the /${prefix} prefix: write ${show(range)} for the range, or ${show(ip.toString())} for one address`,
  )
}

const parseV6 = (ip: ipaddr.IPv6, prefix: number): ParsedEntry => {
  if (ip.isIPv4MappedAddress()) {
    // ::ffff:a.b.c.d/n covers IPv4 a.b.c.d/(n-96) only when n > 96
    if (prefix <= 96) {
      throw new EntryError(
        prefix === 96
          ? 'it covers every IPv4 address; if you really mean that, use trust: true'
          : `an IPv4-mapped range needs a prefix of 97-128; write the IPv4 range instead (CVE-2026-90711)`,
      )
    }
    return { kind: 'ipv4', ip: ip.toIPv4Address(), prefix: prefix - 96 }
  }
  const net = new Uint16Array(ip.parts)
  for (let i = 0; i < 8; i++) net[i] = net[i]! & maskOf(prefix, i)
  // A range that contains ::ffff:0:0/96 would look as if it covered IPv4
  // peers, but mapped peers are matched as IPv4: it matches none of them.
  const mapped = [0, 0, 0, 0, 0, 0xffff, 0, 0]
  if (prefix <= 96 && mapped.every((group, i) => (group & maskOf(prefix, i)) === net[i])) {
    throw new EntryError(
      'it contains the IPv4-mapped range ::ffff:0:0/96 but IPv4 peers are matched as IPv4: list the IPv4 ranges you mean separately',
    )
  }
  return { kind: 'ipv6', ip, prefix, net }
}

/**
 * Address space that is not public unicast, by the IANA registries (read
 * 2026-12-06): every block of the IPv4 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv4-special-registry/, stored copy
 * updated 2020-09-04) and multicast 224.0.0.0/4 (IPv4 Address Space
 * registry); for IPv6, everything outside 2000::/3, the only space IANA
 * assigns unicast from (https://www.iana.org/assignments/ipv6-address-space/),
 * and the IPv6 Special-Purpose Address Registry's blocks inside it
 * (https://www.iana.org/assignments/iana-ipv6-special-registry/, last
 * updated 2024-10-22). ipaddr.js's `range()` knows the same blocks
 * (test/presets-ranges.ts compares them address by address).
 */
const SPECIAL: Readonly<Record<'ipv4' | 'ipv6', ReadonlyArray<readonly [string, string]>>> = {
  ipv4: [
    ['0.0.0.0/8', 'this network'],
    ['10.0.0.0/8', 'private use'],
    ['100.64.0.0/10', 'shared address space (CGNAT)'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link local'],
    ['172.16.0.0/12', 'private use'],
    ['192.0.0.0/24', 'IETF protocol assignments'],
    ['192.0.2.0/24', 'documentation'],
    ['192.31.196.0/24', 'AS112'],
    ['192.52.193.0/24', 'AMT'],
    ['192.88.99.0/24', '6to4 relay anycast'],
    ['192.168.0.0/16', 'private use'],
    ['192.175.48.0/24', 'AS112 (direct delegation)'],
    ['198.18.0.0/15', 'benchmarking'],
    ['198.51.100.0/24', 'documentation'],
    ['203.0.113.0/24', 'documentation'],
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved'],
  ],
  ipv6: [
    ['2001::/23', 'IETF protocol assignments (Teredo, benchmarking, ORCHID...)'],
    ['2001:db8::/32', 'documentation'],
    ['2002::/16', '6to4'],
    ['2620:4f:8000::/48', 'AS112'],
    ['3fff::/20', 'documentation'],
  ],
}
const SPECIAL_PARSED = {
  ipv4: SPECIAL.ipv4.map(([cidr, name]) => [...ipaddr.parseCIDR(cidr), cidr, name] as const),
  ipv6: SPECIAL.ipv6.map(([cidr, name]) => [...ipaddr.parseCIDR(cidr), cidr, name] as const),
}
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3')

/**
 * The special-purpose block a range overlaps ("10.0.0.0/8, private use"),
 * or undefined when all of it is public unicast. Two CIDR ranges overlap
 * exactly when one contains the other. @internal
 */
export const specialBlockOf = (network: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): string | undefined => {
  if (network.kind() === 'ipv6' && !network.match(GLOBAL_UNICAST_V6[0], Math.min(prefix, 3))) {
    return 'outside 2000::/3, the global unicast space'
  }
  for (const [block, bits, cidr, name] of SPECIAL_PARSED[network.kind()]) {
    if (network.match(block, Math.min(prefix, bits))) return `${cidr}, ${name}`
  }
  return undefined
}

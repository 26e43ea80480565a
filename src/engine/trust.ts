/**
 * Compiling the `trust` option into a matcher. Configuration is parsed and
 * validated once, with ipaddr.js; the matcher then compares the integers
 * that `ip.ts` left in its scratch record.
 */
import ipaddr from 'ipaddr.js'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { BARE, INVALID, parseAddress, parseRequestAddress, scratch, V4 } from '../parse/ip.js'
import type { Warn } from './diagnostics.js'
import { expandVendorPreset, type PresetContext, presetData } from './presets.js'

/**
 * A trust predicate: is `address` (canonical form, no port, no zone id) a
 * trusted proxy, given that it is `hop` steps away from the app (0 is the
 * socket peer)? Only the boolean `true` trusts. proxy-aware asks about every
 * address it walks, the leftmost entry included (proxy-addr never asks about
 * that one); the answer for it changes only `reason`, not the client.
 * @public
 */
export type TrustFunction = (address: string, hop: number) => boolean

/**
 * What the `trust` option accepts:
 * - `true`: trust every hop (dangerous: the client picks its own IP);
 * - a number `n` >= 1: trust the first `n` hops whatever they are (Express
 *   compatibility; warns); `0` is refused (use `[]` to trust no one);
 * - a string of comma-separated entries or an array of entries, each an IP,
 *   a CIDR, an `ip/netmask`, a preset (`loopback`, `linklocal`,
 *   `uniquelocal`, `private`) or a vendor preset (`cloudflare`,
 *   `cloudfront`, `fastly`, `gcp-lb`, `azure-front-door`; `fly`, `heroku`,
 *   `vercel` with the `platform` option); no zone ids, not `0.0.0.0` or `::`;
 * - a function `(address, hop) => boolean`, given canonical addresses; only
 *   `true` trusts (a truthy non-boolean warns once).
 * @public
 */
export type TrustOption = true | number | string | readonly string[] | TrustFunction

/**
 * Internal matcher: `kind` and the scratch record describe the parsed
 * address, `address` is its canonical text. @internal
 */
export type Matcher = (kind: number, hop: number, address: string) => boolean

/** Named ranges, the same as proxy-addr's, plus `private`. @public */
export const PRESETS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  private: [
    '127.0.0.0/8',
    '::1/128',
    '169.254.0.0/16',
    'fe80::/10',
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.0.0/16',
    'fc00::/7',
  ],
}

/** An IPv6 range of a compiled `trust` list. @internal */
export interface Range6 {
  /** the network as eight groups, host bits cleared */
  net: Uint16Array
  prefix: number
}

const invalidEntry = (entry: string, why: string) =>
  new ProxyAwareConfigError('trust', `has an invalid entry ${show(entry)}: ${why}`)

/** Parse one configured address (no port), strictly. */
const parseConfigAddress = (entry: string, addr: string): ipaddr.IPv4 | ipaddr.IPv6 => {
  if (ipaddr.IPv4.isValidFourPartDecimal(addr)) return ipaddr.IPv4.parse(addr)
  if (addr.includes(':') && ipaddr.IPv6.isValid(addr) && !/[^0-9a-fA-F:.]/.test(addr)) {
    // ipaddr.js reads "::1.2.3.4" leniently (and as "::ffff:1.2.3.4", which
    // would make an IPv4-compatible entry trust IPv4): our own strict parser
    // decides, and its groups are the address
    if (parseAddress(addr, 0, addr.length, BARE) === INVALID) {
      throw invalidEntry(entry, 'not a valid IPv6 address')
    }
    return new ipaddr.IPv6(Array.from(scratch.g))
  }
  if (/^[0-9.]+$/.test(addr) || /^0x/i.test(addr)) {
    throw invalidEntry(entry, 'IPv4 addresses must be four decimal parts without leading zeros')
  }
  throw invalidEntry(
    entry,
    'not an IP address, CIDR range or preset (hostnames are not resolved; presets are loopback, linklocal, uniquelocal, private, cloudflare, cloudfront, fastly, gcp-lb, azure-front-door, fly, heroku, vercel)',
  )
}

/**
 * Compile the entries of a `trust` list into IPv4 and IPv6 range tables.
 * @internal
 */
const compileRanges = (entries: readonly string[], ctx: PresetContext = {}) => {
  const v4net: number[] = []
  const v4mask: number[] = []
  const v6: Range6[] = []
  // hops trusted whatever their address (a confirmed platform preset)
  let platformHops = 0
  const vendors: string[] = []
  for (const raw of entries) {
    if (typeof raw !== 'string') {
      throw new ProxyAwareConfigError('trust', `has an entry that is not a string: ${show(raw)}`)
    }
    const entry = raw.trim()
    if (entry === '') {
      throw new ProxyAwareConfigError(
        'trust',
        `has an empty entry (a stray or trailing comma?) in ${show(entries.join(','))}`,
      )
    }
    // own keys only: "constructor" and "__proto__" are not presets
    const name = entry.toLowerCase()
    const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined
    if (preset) {
      const sub = compileRanges(preset)
      v4net.push(...sub.v4net)
      v4mask.push(...sub.v4mask)
      v6.push(...sub.v6)
      continue
    }
    const vendor = expandVendorPreset(name, ctx)
    if (vendor !== undefined) vendors.push(name)
    if (vendor?.kind === 'platform') {
      platformHops = Math.max(platformHops, vendor.hops)
      continue
    }
    if (vendor !== undefined) {
      const sub = compileRanges(vendor.ranges)
      v4net.push(...sub.v4net)
      v4mask.push(...sub.v4mask)
      v6.push(...sub.v6)
      continue
    }
    if (/^(true|false)$/i.test(entry)) {
      throw invalidEntry(entry, 'use the boolean true (trust everything), not a string')
    }
    if (entry.includes(';')) throw invalidEntry(entry, 'separate entries with commas, not semicolons')
    if (entry.includes('%')) {
      // reported peers carry no zone (see ip.ts), so a zoned entry could
      // only be matched by ignoring its zone: say so instead (realclientip-go
      // refuses zones in ranges too, AddressesAndRangesToIPNets, 2026-11-29)
      const zone = /%[^/]*/.exec(entry)![0]
      throw invalidEntry(
        entry,
        `zone ids (${zone}) are not supported: write ${show(entry.replace(zone, ''))}, which matches on every interface`,
      )
    }
    const slash = entry.indexOf('/')
    const ip = parseConfigAddress(entry, slash < 0 ? entry : entry.slice(0, slash))
    const max = ip.kind() === 'ipv4' ? 32 : 128
    let prefix = max
    if (slash >= 0) {
      const p = entry.slice(slash + 1)
      if (/^(0|[1-9]\d*)$/.test(p)) {
        prefix = Number(p)
        if (prefix > max) throw invalidEntry(entry, `the prefix length ${p} is out of range (1-${max})`)
      } else if (ip.kind() === 'ipv4' && ipaddr.IPv4.isValidFourPartDecimal(p)) {
        const mask = ipaddr.IPv4.parse(p).prefixLengthFromSubnetMask()
        if (mask === null) throw invalidEntry(entry, 'the netmask is not contiguous')
        prefix = mask
      } else {
        throw invalidEntry(entry, 'the prefix must be a number or, for IPv4, a netmask')
      }
      if (prefix === 0) {
        throw invalidEntry(entry, 'a /0 range trusts every address; if you really mean that, use trust: true')
      }
    }
    if (prefix === max && isUnspecified(ip)) {
      throw invalidEntry(
        entry,
        'the unspecified address is never a peer or a forwarded address (a listen address?); proxy-aware treats it as no address',
      )
    }
    if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) {
      // ::ffff:a.b.c.d/n covers IPv4 a.b.c.d/(n-96) only when n > 96
      if (prefix <= 96) {
        throw invalidEntry(
          entry,
          prefix === 96
            ? 'it covers every IPv4 address; if you really mean that, use trust: true'
            : `an IPv4-mapped range needs a prefix of 97-128; write the IPv4 range instead (CVE-2026-90711)`,
        )
      }
      const v4 = (ip as ipaddr.IPv6).toIPv4Address()
      pushV4(v4net, v4mask, v4, prefix - 96)
      continue
    }
    if (ip.kind() === 'ipv4') {
      pushV4(v4net, v4mask, ip as ipaddr.IPv4, prefix)
      continue
    }
    const ip6 = ip as ipaddr.IPv6
    const net = new Uint16Array(ip6.parts)
    for (let i = 0; i < 8; i++) net[i] = net[i]! & maskOf(prefix, i)
    // A range that contains ::ffff:0:0/96 would look as if it covered IPv4
    // peers, but mapped peers are matched as IPv4: it matches none of them.
    const mapped = [0, 0, 0, 0, 0, 0xffff, 0, 0]
    if (prefix <= 96 && mapped.every((group, i) => (group & maskOf(prefix, i)) === net[i])) {
      throw invalidEntry(
        entry,
        'it contains the IPv4-mapped range ::ffff:0:0/96 but IPv4 peers are matched as IPv4: list the IPv4 ranges you mean separately',
      )
    }
    v6.push({ net, prefix })
  }
  return { v4net, v4mask, v6, platformHops, vendors }
}

/** `0.0.0.0`, `::` or `::ffff:0.0.0.0`, which requests never carry as an address. */
const isUnspecified = (ip: ipaddr.IPv4 | ipaddr.IPv6): boolean => {
  const v4 =
    ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip
  return v4.toByteArray().every(b => b === 0)
}

/** The mask of IPv6 group `i` (0-7) under a prefix length. */
const maskOf = (prefix: number, i: number): number => {
  const bits = Math.max(0, Math.min(16, prefix - i * 16))
  return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff
}

const pushV4 = (nets: number[], masks: number[], ip: ipaddr.IPv4, prefix: number) => {
  const b = ip.octets
  const value = (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!
  // prefix is 1-32 here (/0 is refused): -1 << 32 would be -1, not 0
  const mask = -1 << (32 - prefix)
  nets.push(value & mask)
  masks.push(mask)
}

const trustAll: Matcher = () => true

/**
 * Split a string `trust` value on commas; arrays are taken as they are (and
 * never mutated).
 */
const entriesOf = (trust: string | readonly string[]): readonly string[] =>
  typeof trust === 'string' ? trust.split(',') : trust

/** Result of compiling the `trust` option. @internal */
interface CompiledTrust {
  match: Matcher
  /** true when the option was a hop count */
  hopCount: boolean
  /** true when `match` depends only on its arguments (not a user function) */
  pure: boolean
  /** the vendor presets the list names (cloudflare, fly...) */
  vendors: readonly string[]
  /** a list's ranges (IPv4 networks and masks, IPv6), for the startup checks; none for the other forms */
  ranges?: { v4net: readonly number[]; v4mask: readonly number[]; v6: readonly Range6[] }
}

/** The core's sink, as `diagnostics.ts` `emitWarning` (not imported: diagnostics imports this module's callers). */
const processWarning: Warn = (code, message) => process.emitWarning(message, { code, type: 'SecurityWarning' })

/**
 * Compile the `trust` option, throwing `ProxyAwareConfigError` on anything
 * doubtful; a trust function's warning goes to `warn` (the app's sink).
 * @internal
 */
export const compileTrust = (trust: unknown, ctx: PresetContext = {}, warn: Warn = processWarning): CompiledTrust => {
  if (trust === undefined || trust === null) {
    throw new ProxyAwareConfigError(
      'trust',
      'is required: list your proxies\' addresses or CIDR ranges (e.g. "10.0.0.0/8" or ["loopback", "172.16.0.0/12"]), a preset (loopback, linklocal, uniquelocal, private), a function (address, hop) => boolean, or true to trust every hop (unsafe)',
    )
  }
  if (trust === true) return { match: trustAll, hopCount: false, pure: true, vendors: [] }
  if (trust === false) {
    throw new ProxyAwareConfigError(
      'trust',
      'is false: to trust no proxy, do not install proxy-aware, or pass an empty array []',
    )
  }
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) {
      throw new ProxyAwareConfigError('trust', `must be a whole number of hops >= 1, got ${show(trust)}`)
    }
    if (trust === 0) {
      // 0 is the mistake it almost always is; realclientip-go refuses a
      // count <= 0 too (NewRightmostTrustedCountStrategy, read 2026-11-29)
      throw new ProxyAwareConfigError(
        'trust',
        'is 0, a hop count that trusts no one: to trust no proxy pass an empty array [], or give the number of proxies in front of the app',
      )
    }
    return { match: (_k, hop) => hop < trust, hopCount: true, pure: true, vendors: [] }
  }
  if (typeof trust === 'function')
    return { match: functionMatcher(trust as TrustFunction, warn), hopCount: false, pure: false, vendors: [] }
  if (typeof trust !== 'string' && !Array.isArray(trust)) {
    throw new ProxyAwareConfigError(
      'trust',
      `must be true, a number, a string, an array or a function, got ${show(trust)}`,
    )
  }
  const entries = entriesOf(trust as string | readonly string[])
  if (typeof trust === 'string' && trust.trim() === '') {
    throw new ProxyAwareConfigError('trust', 'is an empty string: list at least one address or range')
  }
  const { v4net, v4mask, v6, platformHops, vendors } = compileRanges(entries, ctx)
  const ranges = buildMatcher(v4net, v4mask, v6)
  // a confirmed platform's own hops (its proxy is the only way in), then ranges
  const match: Matcher =
    platformHops === 0 ? ranges : (kind, hop, address) => hop < platformHops || ranges(kind, hop, address)
  return { match, hopCount: false, pure: true, vendors, ranges: { v4net, v4mask, v6 } }
}

/**
 * Call a user's trust function. Only `true` trusts (fail closed); a truthy
 * non-boolean, such as proxy-addr users' `address.match(re)`, would trust
 * there, so it is reported once per engine.
 */
const functionMatcher = (fn: TrustFunction, warn: Warn): Matcher => {
  let warned = false
  return (_k, hop, address) => {
    const answer: unknown = fn(address, hop)
    if (answer === true) return true
    if (answer && !warned) {
      warned = true
      warn(
        'PROXY_AWARE_TRUST_NOT_BOOLEAN',
        `proxy-aware: the trust function returned ${article(answer)} (for ${show(address)}, hop ${hop}), not a boolean: only true trusts, so this address was not trusted. Return a boolean (e.g. /re/.test(address), not address.match(re)).`,
        { address, hop },
      )
    }
    return false
  }
}

/** "an object", "a number": the type of a value, for a message. */
const article = (value: unknown): string => {
  const type = typeof value
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

/** Pick a specialised closure for the compiled ranges, as proxy-addr does. */
const buildMatcher = (v4net: number[], v4mask: number[], v6: Range6[]): Matcher => {
  const nets = Int32Array.from(v4net)
  const masks = Int32Array.from(v4mask)
  const n4 = nets.length
  const n6 = v6.length
  const g = scratch.g
  const match6 = (): boolean => {
    for (let r = 0; r < n6; r++) {
      const range = v6[r]!
      const net = range.net
      let bits = range.prefix
      let i = 0
      for (; bits >= 16; i++, bits -= 16) {
        if (g[i] !== net[i]) break
      }
      if (bits >= 16) continue
      if (bits === 0 || (g[i]! & ((0xffff << (16 - bits)) & 0xffff)) === net[i]) return true
    }
    return false
  }
  if (n4 === 1) {
    const net = nets[0]!
    const mask = masks[0]!
    return kind => (kind === V4 ? (scratch.v4 & mask) === net : n6 !== 0 && match6())
  }
  return kind => {
    if (kind === V4) {
      const v = scratch.v4
      for (let r = 0; r < n4; r++) if ((v & masks[r]!) === nets[r]) return true
      return false
    }
    return n6 !== 0 && match6()
  }
}

/**
 * Why an address was trusted, for `explain`: the kind of rule and the
 * entry as written (a `trust` entry, or the certificate identity that
 * trusted the peer). Later kinds may be added. @public
 */
export interface TrustMatch {
  kind:
    | 'address'
    | 'preset'
    | 'platform'
    | 'function'
    | 'hop-count'
    | 'everyone'
    | 'unix-socket'
    | 'certificate'
    | (string & {})
  /** the entry: `'10.0.0.0/8'`, `'cloudflare'`, `'function'`, `'trust: 2'`... */
  entry: string
}

/** Which entry of `trust` trusts `address` (canonical) at `hop`, if any. @internal */
export type TrustLabeller = (address: string, hop: number) => TrustMatch | undefined

/**
 * Compile `trust` (already validated by `compileTrust`) entry by entry, so
 * that explain can say which one matched. Off the per-request path: the
 * engine compiles it on its first `explain`. A function is not called
 * again (it may have side effects): it is named as the reason.
 * @internal
 */
export const compileTrustLabels = (trust: unknown, ctx: PresetContext = {}): TrustLabeller => {
  if (trust === true) return () => ({ kind: 'everyone', entry: 'trust: true' })
  if (typeof trust === 'number') {
    return (_a, hop) => (hop < trust ? { kind: 'hop-count', entry: `trust: ${trust}` } : undefined)
  }
  if (typeof trust === 'function') return () => ({ kind: 'function', entry: 'function' })
  const rules: Array<{ label: TrustMatch; match: Matcher }> = []
  const rangesMatcher = (entries: readonly string[]): Matcher => {
    const { v4net, v4mask, v6 } = compileRanges(entries)
    return buildMatcher(v4net, v4mask, v6)
  }
  for (const raw of entriesOf(trust as string | readonly string[])) {
    const entry = raw.trim()
    const name = entry.toLowerCase()
    if (name === 'gcp-lb') {
      // Google's ranges and the load balancer's own address are two answers
      const rule = ctx.gcpForwardingRule as string | readonly string[]
      rules.push({
        label: { kind: 'preset', entry },
        match: rangesMatcher((ctx.presets?.get(name) ?? presetData(name)).ranges),
      })
      rules.push({
        label: { kind: 'preset', entry: `${entry} (gcpForwardingRule)` },
        match: rangesMatcher(typeof rule === 'string' ? [rule] : rule),
      })
      continue
    }
    const { v4net, v4mask, v6, platformHops, vendors } = compileRanges([entry], ctx)
    const ranges = buildMatcher(v4net, v4mask, v6)
    const kind =
      platformHops > 0 ? 'platform' : Object.hasOwn(PRESETS, name) || vendors.length > 0 ? 'preset' : 'address'
    const match: Matcher = platformHops > 0 ? (_k, hop) => hop < platformHops : ranges
    rules.push({ label: { kind, entry }, match })
  }
  return (address, hop) => {
    const k = parseRequestAddress(address, 0, address.length, BARE)
    if (k === INVALID) return undefined
    return rules.find(rule => rule.match(k, hop, address))?.label
  }
}

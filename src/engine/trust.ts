/**
 * Compiling the `trust` option into a matcher. Configuration is parsed and
 * validated once, with ipaddr.js; the matcher then compares the integers
 * that `ip.ts` left in its scratch record.
 */
import ipaddr from 'ipaddr.js'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { BARE, INVALID, parseRequestAddress, scratch, V4 } from '../parse/ip.js'
import { emitWarning, type Warn } from '../core/options.js'
import { expandVendorPreset, type PresetContext, presetData } from '../vendors/index.js'
import { parseEntry, type ParsedEntry } from '../parse/ranges.js'

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
    let parsed: ParsedEntry
    try {
      parsed = parseEntry(entry)
    } catch (error) {
      throw invalidEntry(entry, (error as Error).message)
    }
    if (parsed.kind === 'ipv4') {
      pushV4(v4net, v4mask, parsed.ip, parsed.prefix)
      continue
    }
    const { net, prefix } = parsed
    v6.push({ net, prefix })
  }
  return { v4net, v4mask, v6, platformHops, vendors }
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

/**
 * Compile the `trust` option, throwing `ProxyAwareConfigError` on anything
 * doubtful; a trust function's warning goes to `warn` (the app's sink).
 * @internal
 */
export const compileTrust = (trust: unknown, ctx: PresetContext = {}, warn: Warn = emitWarning): CompiledTrust => {
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

/**
 * The matcher for compiled ranges: each family's ranges become sorted,
 * disjoint intervals of integers (overlapping and adjacent ranges merged),
 * so a lookup allocates nothing. IPv4 goes through a table of the first
 * octet: the intervals that may hold an address starting with that octet,
 * bisected (none or one for most octets, whatever the list's length: the
 * azure-front-door preset has 229 ranges); IPv6 is bisected over all its
 * intervals, four unsigned 32-bit words per bound, compared word by word.
 */
const buildMatcher = (v4net: number[], v4mask: number[], v6: Range6[]): Matcher => {
  const [lo4, hi4] = intervals4(v4net, v4mask)
  const octets = octetTable(lo4, hi4)
  const [lo6, hi6] = intervals6(v6)
  const n6 = lo6.length >> 2
  return kind => (kind === V4 ? in4(lo4, hi4, octets, scratch.v4) : n6 !== 0 && in6(lo6, hi6, n6))
}

/**
 * Is the IPv4 address `v` (signed 32-bit, as `scratch.v4`) in one of the
 * sorted disjoint intervals `[lo[i], hi[i]]`? Bounds are stored with the
 * sign bit flipped (`x ^ 0x80000000`), so that signed comparison follows the
 * unsigned order and everything stays a small integer. `octets[b]` to
 * `octets[b + 256]` are the intervals that may hold addresses of first octet `b`.
 */
const in4 = (lo: Int32Array, hi: Int32Array, octets: Int32Array, v: number): boolean => {
  const b = v >>> 24
  let a = octets[b]!
  let e = octets[b + 256]!
  const x = v ^ 0x80000000
  // the last interval of the octet whose lower bound is <= x
  while (a < e) {
    const m = (a + e) >>> 1
    if (lo[m]! <= x) a = m + 1
    else e = m
  }
  return a !== octets[b] && x <= hi[a - 1]!
}

/**
 * For each first octet `b`: `[b]`, the first interval that ends at or after
 * `b.0.0.0`; `[b + 256]`, the first that starts after `b.255.255.255`.
 */
const octetTable = (lo: Int32Array, hi: Int32Array): Int32Array => {
  const table = new Int32Array(512)
  let first = 0
  let after = 0
  for (let b = 0; b < 256; b++) {
    const start = (b << 24) ^ 0x80000000
    const end = ((b << 24) | 0xffffff) ^ 0x80000000
    while (first < lo.length && hi[first]! < start) first++
    while (after < lo.length && lo[after]! <= end) after++
    table[b] = first
    table[b + 256] = after
  }
  return table
}

/** `scratch.g` as four unsigned 32-bit words, reused (no allocation). */
const words = new Uint32Array(4)

/** Compare the four words at `at` in `bounds` with `words`: <0, 0, >0. */
const cmp6 = (bounds: Uint32Array, at: number): number => {
  for (let k = 0; k < 4; k++) {
    const d = bounds[at + k]! - words[k]!
    if (d !== 0) return d
  }
  return 0
}

/** `in4` for the IPv6 address in `scratch.g`, against intervals of four words. */
const in6 = (lo: Uint32Array, hi: Uint32Array, n: number): boolean => {
  const g = scratch.g
  for (let k = 0; k < 4; k++) words[k] = ((g[2 * k]! << 16) | g[2 * k + 1]!) >>> 0
  let a = 0
  let b = n
  while (a < b) {
    const m = (a + b) >>> 1
    if (cmp6(lo, m * 4) <= 0) a = m + 1
    else b = m
  }
  return a !== 0 && cmp6(hi, (a - 1) * 4) >= 0
}

/** Sort `[lo, hi]` bigint intervals and merge those that overlap or touch. */
const merge = (list: Array<[bigint, bigint]>): Array<[bigint, bigint]> => {
  list.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  const out: Array<[bigint, bigint]> = []
  for (const [lo, hi] of list) {
    const last = out[out.length - 1]
    if (last !== undefined && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi
    } else out.push([lo, hi])
  }
  return out
}

/** IPv4 networks and masks as sorted disjoint intervals, sign bit flipped (see `in4`). */
const intervals4 = (nets: readonly number[], masks: readonly number[]): [Int32Array, Int32Array] => {
  const merged = merge(nets.map((net, i) => [BigInt(net >>> 0), BigInt((net | ~masks[i]!) >>> 0)] as [bigint, bigint]))
  const flip = (x: bigint) => Number(x) ^ 0x80000000
  return [Int32Array.from(merged, r => flip(r[0])), Int32Array.from(merged, r => flip(r[1]))]
}

/** IPv6 ranges as sorted disjoint intervals, four words per bound. */
const intervals6 = (ranges: readonly Range6[]): [Uint32Array, Uint32Array] => {
  const merged = merge(
    ranges.map(({ net, prefix }) => {
      const lo = net.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n)
      return [lo, lo | ((1n << BigInt(128 - prefix)) - 1n)] as [bigint, bigint]
    }),
  )
  const lo = new Uint32Array(merged.length * 4)
  const hi = new Uint32Array(merged.length * 4)
  merged.forEach(([l, h], i) => {
    for (let k = 0; k < 4; k++) {
      const shift = BigInt(96 - 32 * k)
      lo[i * 4 + k] = Number((l >> shift) & 0xffffffffn)
      hi[i * 4 + k] = Number((h >> shift) & 0xffffffffn)
    }
  })
  return [lo, hi]
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

/**
 * Strict IP address parsing and canonical formatting: the per-request hot
 * path. Scans with `charCodeAt`, no regex and no `split`, and writes the
 * parsed value into a module-level scratch record so that matching a
 * trusted range allocates nothing.
 *
 * Accepted:
 * - IPv4 in four-part decimal only (`1.2.3.4`); no leading zeros, no octal,
 *   hex, integer or short forms (`010.0.0.1`, `0x7f.0.0.1`, `2130706433`,
 *   `127.1` are invalid).
 * - IPv6 per RFC 4291 section 2.2, including a dotted IPv4 tail.
 * - With `WITH_PORT`, `1.2.3.4:80` and `[2001:db8::1]:443` (the port is dropped)
 *   and `[2001:db8::1]`.
 * - With `WITH_ZONE`, an IPv6 zone id (`fe80::1%eth0`), for socket addresses:
 *   it is dropped. It names the node's own interface, not the peer, and one
 *   link has several spellings (`fe80::1234%1`, `fe80::1234%ne0`: RFC 4007
 *   section 11.3, read 2026-11-29), so the canonical address has none.
 *
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is reported as IPv4. IPv4-compatible
 * (`::1.2.3.4`), NAT64 and 6to4 forms stay IPv6.
 */
import { COLON, DOT, OPEN_BRACKET } from './chars.js'

/**
 * What `parseAddress` accepts besides a bare address (bit flags): a port
 * (`1.2.3.4:80`, `[v6]:443`, and `[v6]`), an IPv6 zone id (`fe80::1%eth0`).
 */
export const BARE = 0
export const WITH_PORT = 1
export const WITH_ZONE = 2

/** Parse result kinds. */
export const INVALID = 0
export const V4 = 4
const V6 = 6

/**
 * The last parsed address. `v4` is a signed 32-bit integer, `g` the eight
 * IPv6 groups. @internal
 */
export const scratch = {
  v4: 0,
  g: new Uint16Array(8),
  /**
   * When the last address was written in its canonical form (plain
   * four-part decimal IPv4, or IPv6 as RFC 5952 prints it), that text:
   * `text.slice(from, to)` (no formatting needed); else `''`.
   */
  text: '',
  from: 0,
  to: 0,
}

const g = scratch.g

/** Whether the text `parse6` read last is the address's canonical form. */
let canonical6 = false

/** Parse `s[start, end)` as four-part decimal IPv4 into `scratch.v4`. */
const parse4 = (s: string, start: number, end: number): boolean => {
  let value = 0
  let part = -1
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      // no leading zeros: "0" is fine, "01" is not
      if (digits === 1 && part === 0) return false
      part = digits === 0 ? c - 48 : part * 10 + (c - 48)
      if (++digits > 3 || part > 255) return false
    } else if (c === DOT) {
      if (digits === 0 || ++dots > 3) return false
      value = (value << 8) | part
      digits = 0
    } else {
      return false
    }
  }
  if (dots !== 3 || digits === 0) return false
  scratch.v4 = (value << 8) | part
  return true
}

/**
 * The plain four-part decimal IPv4 address (what `parse4` accepts) that
 * ends at `end` in `s`, read backwards: the rightmost entry of a list is
 * parsed as its start is found, in one scan. Returns that start, the
 * address left in `scratch` as `parseAddress` leaves it, or -1 when the
 * text before `end` is no such address (the entry may still be another
 * form: find it and parse it). @internal
 */
export const parse4Before = (s: string, end: number): number => {
  let i = end
  let value = 0
  for (let shift = 0; ; shift += 8) {
    // one part, right to left: one to three digits, no leading zero
    let part = 0
    let scale = 1
    let digit = 0
    while (scale < 1000 && i > 0) {
      const c = s.charCodeAt(i - 1)
      if (c < 48 || c > 57) break
      digit = c - 48
      part += digit * scale
      scale *= 10
      i--
    }
    if (scale === 1 || part > 255 || (digit === 0 && scale !== 10)) return -1
    value |= part << shift
    if (shift === 24) break
    if (i === 0 || s.charCodeAt(--i) !== DOT) return -1
  }
  // a fourth digit before the first part
  if (i > 0) {
    const c = s.charCodeAt(i - 1)
    if (c >= 48 && c <= 57) return -1
  }
  scratch.v4 = value
  scratch.text = s
  scratch.from = i
  scratch.to = end
  return i
}

const hex = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1

/**
 * Parse `s[start, end)` as IPv6 (no zone) into `scratch.g`; `canonical6`
 * tells whether that text is the address's RFC 5952 form.
 */
const parse6 = (s: string, start: number, end: number): boolean => {
  let n = 0 // groups written
  let gap = -1 // index in g where "::" stands
  let i = start
  // every hex digit has bit 0x20 (lower case), no group has a leading zero
  let bits = 0x20
  let lead = false
  if (end - start < 2) return false
  if (s.charCodeAt(i) === COLON) {
    // must be "::"
    if (s.charCodeAt(i + 1) !== COLON) return false
    gap = 0
    i += 2
    if (i === end) {
      g.fill(0)
      canonical6 = true
      return true
    }
  }
  while (i < end) {
    if (n === 8) return false
    const groupStart = i
    let value = 0
    let digits = 0
    let c = 0
    for (; i < end; i++) {
      c = s.charCodeAt(i)
      const h = hex(c)
      if (h < 0) break
      if (++digits > 4) return false
      bits &= c
      value = (value << 4) | h
    }
    if (i < end && c === DOT) {
      // dotted IPv4 tail: must be last and fit in two groups
      if (n > 6 || !parse4(s, groupStart, end)) return false
      const v = scratch.v4
      g[n++] = v >>> 16
      g[n++] = v & 0xffff
      lead = true // not how RFC 5952 prints it
      i = end
      break
    }
    if (digits === 0) return false
    if (digits > 1 && value >>> ((digits - 1) << 2) === 0) lead = true
    g[n++] = value
    if (i === end) break
    if (c !== COLON) return false
    i++
    if (i === end) return false // trailing single ":"
    if (s.charCodeAt(i) === COLON) {
      if (gap >= 0) return false // second "::"
      gap = n
      i++
    }
  }
  if (gap < 0 ? n !== 8 : n === 8) return false // "::" must stand for at least one group
  canonical6 = expand6(gap, n) && bits !== 0 && !lead
  return true
}

/**
 * After parse6 wrote `n` groups with "::" at `gap` (-1: none): move the
 * groups after the gap to the end, and tell whether "::" stands for exactly
 * the longest run of zero groups, as RFC 5952 writes it.
 */
const expand6 = (gap: number, n: number): boolean => {
  if (gap >= 0) {
    const tail = n - gap
    for (let k = 1; k <= tail; k++) g[8 - k] = g[n - k]!
    for (let k = gap; k < 8 - tail; k++) g[k] = 0
  }
  const run = longestZeroRun()
  return gap < 0 ? run < 0 : run >> 4 === gap && (run & 15) === 8 - n
}

/**
 * The longest run of two or more zero groups in `scratch.g` (the first on
 * a tie): `start << 4 | length`, or -1 when there is none.
 */
const longestZeroRun = (): number => {
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  return bestStart < 0 ? -1 : (bestStart << 4) | bestLen
}

/** After parse6: is it IPv4-mapped? Then store it in `scratch.v4`. */
const unmap = (): boolean => {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    scratch.v4 = (g[6]! << 16) | g[7]!
    return true
  }
  return false
}

/**
 * Parse the address in `s[start, end)`, accepting the `accept` flags
 * (`BARE`, or `WITH_PORT | WITH_ZONE`...). Returns `V4`, `V6` or `INVALID`.
 * The caller has trimmed whitespace. @internal
 */
export const parseAddress = (s: string, start: number, end: number, accept: number): number => {
  if (end <= start) return INVALID
  const first = s.charCodeAt(start)
  // fast path: plain IPv4, the common case
  if (first >= 48 && first <= 57 && parse4(s, start, end)) {
    scratch.text = s
    scratch.from = start
    scratch.to = end
    return V4
  }
  scratch.text = ''
  if (first === OPEN_BRACKET) {
    // "[v6]" or "[v6]:port"
    if ((accept & WITH_PORT) === 0) return INVALID
    const close = s.indexOf(']', start)
    if (close < 0 || close >= end) return INVALID
    if (close + 1 !== end && !isPort(s, close + 1, end)) return INVALID
    return found6(s, start + 1, close)
  }
  // one colon: IPv4 with a port; more: IPv6, perhaps with a zone id
  const colon = s.indexOf(':', start)
  if (colon < 0 || colon >= end) return INVALID // not plain IPv4 (tried above)
  const second = s.indexOf(':', colon + 1)
  if (second < 0 || second >= end) {
    if ((accept & WITH_PORT) === 0 || !isPort(s, colon, end) || !parse4(s, start, colon)) return INVALID
    scratch.text = s
    scratch.from = start
    scratch.to = colon
    return V4
  }
  // a "%" before the second colon is no zone id: parse6 refuses it
  const percent = (accept & WITH_ZONE) === 0 ? -1 : s.indexOf('%', second)
  if (percent >= 0 && percent < end) {
    if (percent + 1 === end) return INVALID
    end = percent
  }
  return found6(s, start, end)
}

/**
 * `s[start, end)` as IPv6: `V6`, `V4` when it is IPv4-mapped, or `INVALID`;
 * the text is kept as the canonical one when it is written that way.
 */
const found6 = (s: string, start: number, end: number): number => {
  if (!parse6(s, start, end)) return INVALID
  if (unmap()) return V4
  if (canonical6) {
    scratch.text = s
    scratch.from = start
    scratch.to = end
  }
  return V6
}

/**
 * `parseAddress` for addresses read from a request (the socket peer, a
 * forwarded entry): the unspecified address (`0.0.0.0`, `::`) is `INVALID`
 * too. It means "no address" (RFC 4291 section 2.5.2: never assigned to a
 * node; RFC 1122 section 3.2.1.3: sent only as a source while a host learns
 * its own address; both read 2026-11-29), so in a header it is junk and as a
 * peer it is no readable peer, as realclientip-go's goodIPAddr does. @internal
 */
export const parseRequestAddress = (s: string, start: number, end: number, accept: number): number => {
  const kind = parseAddress(s, start, end, accept)
  if (kind === V4) return requestKind4()
  if (
    kind === V6 &&
    g[0] === 0 &&
    g[1] === 0 &&
    g[2] === 0 &&
    g[3] === 0 &&
    g[4] === 0 &&
    g[5] === 0 &&
    g[6] === 0 &&
    g[7] === 0
  ) {
    return INVALID
  }
  return kind
}

/**
 * What `parseRequestAddress` makes of the IPv4 address in `scratch`: `V4`,
 * or `INVALID` for the unspecified `0.0.0.0`. @internal
 */
export const requestKind4 = (): number => (scratch.v4 === 0 ? INVALID : V4)

/** `s[colon, end)` is `:` followed by a port number 0-65535. */
const isPort = (s: string, colon: number, end: number): boolean => {
  if (s.charCodeAt(colon) !== COLON) return false
  const len = end - colon - 1
  if (len < 1 || len > 5) return false
  let port = 0
  for (let i = colon + 1; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
    port = port * 10 + (c - 48)
  }
  return port <= 65535
}

/** Format `scratch.v4` as dotted decimal. @internal */
const format4 = (v: number = scratch.v4): string => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`

/**
 * Format `scratch.g` in RFC 5952 form: lower case, no leading zeros, the
 * longest run (first on a tie) of two or more zero groups compressed.
 * @internal
 */
const format6 = (): string => {
  const run = longestZeroRun()
  const bestStart = run >> 4 // -1 without a run
  const bestLen = run & 15
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? '::' : ':'
      i += bestLen - 1
      continue
    }
    out += g[i]!.toString(16)
    if (i < 7) out += ':'
  }
  return out
}

/** Format the last parsed address of the given kind. @internal */
export const formatParsed = (kind: number): string =>
  scratch.text === ''
    ? kind === V4
      ? format4()
      : format6()
    : scratch.from === 0 && scratch.to === scratch.text.length
      ? scratch.text
      : scratch.text.slice(scratch.from, scratch.to)

/**
 * Parse and canonicalize one address, or return `undefined` when it is not
 * one. Ports (`1.2.3.4:80`, `[::1]:80`) are dropped; zone ids are refused.
 * The unspecified address (`0.0.0.0`, `::`) parses: this is the syntax
 * check; `resolve` alone decides that it is never a client.
 *
 * @example
 * canonicalIp('::FFFF:10.0.0.1')   // '10.0.0.1'
 * canonicalIp('2001:DB8:0:0::1')  // '2001:db8::1'
 * canonicalIp('010.0.0.1')        // undefined
 * @public
 */
export const canonicalIp = (address: string): string | undefined => {
  if (typeof address !== 'string') return undefined
  const kind = parseAddress(address, 0, address.length, WITH_PORT)
  return kind === INVALID ? undefined : formatParsed(kind)
}

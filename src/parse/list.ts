/**
 * Header scanners for the per-request path: comma lists read right to left,
 * RFC 7239 `Forwarded`, and `host[:port]` validation. @private
 */

import { INVALID, parseAddress } from './ip.js'

/** SP or HTAB */
const isWs = (c: number) => c === 32 || c === 9

/**
 * Cursor over a comma-separated list read from right to left. After
 * `prev()` returns true, `[start, end)` is the next non-empty trimmed entry.
 */
export class ListCursor {
  s = ''
  pos = 0
  start = 0
  end = 0

  reset(s: string): this {
    this.s = s
    this.pos = s.length
    return this
  }

  prev(): boolean {
    const s = this.s
    let i = this.pos
    while (i > 0) {
      let end = i
      let j = i - 1
      while (j >= 0 && s.charCodeAt(j) !== 44) j--
      // entry is (j, end)
      let start = j + 1
      while (start < end && isWs(s.charCodeAt(start))) start++
      while (end > start && isWs(s.charCodeAt(end - 1))) end--
      i = j < 0 ? 0 : j
      if (end > start) {
        this.start = start
        this.end = end
        this.pos = i
        return true
      }
    }
    this.pos = 0
    return false
  }
}

/** Number of non-empty entries in a comma list. */
export const countEntries = (s: string): number => {
  const c = new ListCursor().reset(s)
  let n = 0
  while (c.prev()) n++
  return n
}

/** Header value as one string: arrays (duplicate lines) are joined. */
export const headerString = (v: string | string[] | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : v.join(', ')

/**
 * `http` or `https` for a forwarded protocol token (case-insensitive), or
 * `undefined` for anything else.
 */
export const protoOf = (s: string, start: number, end: number): 'http' | 'https' | undefined => {
  const len = end - start
  if (len !== 4 && len !== 5) return undefined
  if ((s.charCodeAt(start) | 32) !== 104) return undefined // h
  if ((s.charCodeAt(start + 1) | 32) !== 116) return undefined // t
  if ((s.charCodeAt(start + 2) | 32) !== 116) return undefined // t
  if ((s.charCodeAt(start + 3) | 32) !== 112) return undefined // p
  if (len === 4) return 'http'
  return (s.charCodeAt(start + 4) | 32) === 115 ? 'https' : undefined // s
}

/** One element of an RFC 7239 `Forwarded` header. */
export interface ForwardedElement {
  for?: string
  proto?: string
  host?: string
  by?: string
  /** false when the element broke the RFC 7239 grammar */
  valid: boolean
}

// RFC 7230 tchar
const isTchar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
  c === 33 || (c >= 35 && c <= 39) || c === 42 || c === 43 || c === 45 ||
  c === 46 || c === 94 || c === 95 || c === 96 || c === 124 || c === 126

/** Characters an unquoted `for=` value may add to tchar: `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`. */
const isAddressChar = (c: number) => c === 58 || c === 91 || c === 93

/** `s[i]` is preceded by an odd number of backslashes (so it is escaped). */
const escaped = (s: string, i: number): boolean => {
  let n = 0
  while (i > 0 && s.charCodeAt(i - 1) === 92) {
    n++
    i--
  }
  return (n & 1) === 1
}

/**
 * Parse an RFC 7239 `Forwarded` header from right to left: its elements,
 * nearest first, at most `limit` of them.
 *
 * forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 * forwarded-pair    = token "=" value
 * value             = token / quoted-string
 *
 * Why right to left: proxies append (", " + element, or a second header line,
 * which Node joins with ", "), so the elements on the right were written by
 * trusted proxies and the text on the left by whoever the client is. Read
 * left to right, an unbalanced quote from the client would swallow the
 * proxies' elements; read from the right, a well-formed suffix is parsed
 * the same whatever precedes it. The first element that breaks the grammar
 * (or repeats a parameter) is returned as `valid: false` and parsing stops
 * there: the walk never goes past it, and nothing left of it can be
 * delimited reliably.
 *
 * Deviation: an unquoted `for=` may also hold `:`, `[` and `]` (a bare
 * IPv6 address, `ip:port`, `[v6]:port`), which RFC 7239 section 6 says must
 * be quoted but hand-written proxy configurations send unquoted. None of
 * the three is a delimiter of this grammar, so the value is unambiguous;
 * whether it is an address is decided by the caller.
 */
export const parseForwarded = (s: string, limit: number): ForwardedElement[] => {
  const out: ForwardedElement[] = []
  let i = s.length // the text left to parse is s[0, i)
  let el: ForwardedElement = { valid: true }
  let empty = true
  let afterPair = false // a pair was just read: only OWS, ";" or "," may precede it
  while (out.length < limit) {
    while (i > 0 && isWs(s.charCodeAt(i - 1))) i--
    const c = i === 0 ? 44 : s.charCodeAt(i - 1)
    if (c === 44 || c === 59) {
      i--
      afterPair = false
      if (c === 59) continue
      if (!empty) out.push(el)
      if (i <= 0) break
      el = { valid: true }
      empty = true
      continue
    }
    if (afterPair) break // e.g. `a=b c=d`, `"x"for=1`
    // the value, read backwards
    let value: string
    let vs: number // where the value starts
    let wide = false // holds an address character
    if (c === 34) {
      const close = i - 1
      if (escaped(s, close)) break
      let open = close - 1
      for (; open >= 0; open--) {
        const q = s.charCodeAt(open)
        if (q === 34 && !escaped(s, open)) break
        if ((q < 32 && q !== 9) || q === 127) {
          open = -1
          break
        }
      }
      if (open < 0) break
      // unescape left to right: inside [open + 1, close) every quote is escaped
      value = ''
      let from = open + 1
      for (let k = from; k < close; k++) {
        if (s.charCodeAt(k) === 92) {
          value += s.slice(from, k)
          from = ++k
        }
      }
      value += s.slice(from, close)
      vs = open
    } else {
      vs = i
      for (; vs > 0; vs--) {
        const v = s.charCodeAt(vs - 1)
        if (isAddressChar(v)) wide = true
        else if (!isTchar(v)) break
      }
      if (vs === i) break
      value = s.slice(vs, i)
    }
    // "=" then the key, with nothing in between
    if (vs === 0 || s.charCodeAt(vs - 1) !== 61) break
    let ks = vs - 1
    while (ks > 0 && isTchar(s.charCodeAt(ks - 1))) ks--
    if (ks === vs - 1) break
    const key = s.slice(ks, vs - 1).toLowerCase()
    if (wide && key !== 'for') break
    if (key === 'for' || key === 'proto' || key === 'host' || key === 'by') {
      if (el[key] !== undefined) break
      el[key] = value
    }
    empty = false
    afterPair = true
    i = ks
  }
  if (out.length < limit && i > 0) {
    // stopped on a grammar error: the element being read is unusable
    el.valid = false
    out.push(el)
  }
  return out
}

/** A validated host: `host` is `hostname[:port]`, lower-cased. */
export interface HostParts {
  host: string
  hostname: string
  port: number | null
}

// RFC 3986 reg-name characters we accept: ALPHA DIGIT - . _ ~ and ! $ & ' ( ) * + , ; = are
// refused on purpose (they are legal but only ever seen in attacks).
const isNameChar = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) ||
  c === 45 || c === 46 || c === 95 || c === 126

/**
 * Validate `host[:port]` (RFC 3986 authority without userinfo): a DNS-ish
 * name, an IPv4 address or a bracketed IPv6 literal, then an optional port
 * 0-65535. Returns `undefined` for anything else (`a@b`, `a/b`, spaces,
 * control characters, bad ports, empty).
 */
export const parseHost = (s: string): HostParts | undefined => {
  const len = s.length
  if (len === 0 || len > 1024) return undefined
  let i = 0
  if (s.charCodeAt(0) === 91) {
    // an IP-literal is IPv6: "[1.2.3.4]" is not a host
    const close = s.indexOf(']')
    const colon = s.indexOf(':')
    if (close < 0 || colon < 0 || colon > close || parseAddress(s, 1, close, false, false) === INVALID) {
      return undefined
    }
    i = close + 1
  } else {
    // labels of 1-63 characters; only the last may be empty (a trailing
    // dot), so ".", "..", ".a" and "a..b" are not names
    let label = 0
    for (; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c === 46) {
        if (label === 0) return undefined
        label = 0
      } else if (isNameChar(c)) {
        if (++label > 63) return undefined
      } else {
        break
      }
    }
    if (i === 0) return undefined
  }
  let port: number | null = null
  if (i < len) {
    if (s.charCodeAt(i) !== 58 || len - i - 1 < 1 || len - i - 1 > 5) return undefined
    port = 0
    for (let k = i + 1; k < len; k++) {
      const c = s.charCodeAt(k)
      if (c < 48 || c > 57) return undefined
      port = port * 10 + (c - 48)
    }
    if (port === 0 || port > 65535) return undefined
  }
  const host = s.toLowerCase()
  return { host, hostname: i === len ? host : host.slice(0, i), port }
}

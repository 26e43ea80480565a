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

/**
 * Parse an RFC 7239 `Forwarded` header into its elements, left to right.
 *
 * forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 * forwarded-pair    = token "=" value
 * value             = token / quoted-string
 *
 * An element that breaks the grammar (or repeats a parameter) is kept as
 * `valid: false`, and parsing resumes after the next comma outside quotes,
 * so one bad element never shifts the others.
 */
export const parseForwarded = (s: string): ForwardedElement[] => {
  const out: ForwardedElement[] = []
  const len = s.length
  let i = 0
  let el: ForwardedElement = { valid: true }
  let empty = true
  const skipWs = () => {
    while (i < len && isWs(s.charCodeAt(i))) i++
  }
  /** Mark the element invalid; `quoted` when `i` is inside a quoted string. */
  const fail = (quoted = false) => {
    el.valid = false
    // resume after the next comma outside a quoted string
    for (; i < len; i++) {
      const c = s.charCodeAt(i)
      if (quoted) {
        if (c === 92) i++
        else if (c === 34) quoted = false
      } else if (c === 34) quoted = true
      else if (c === 44) break
    }
  }
  while (i <= len) {
    skipWs()
    if (i >= len || s.charCodeAt(i) === 44) {
      if (!empty || !el.valid) out.push(el)
      el = { valid: true }
      empty = true
      i++
      continue
    }
    if (s.charCodeAt(i) === 59) {
      i++
      continue
    }
    // token
    const ks = i
    while (i < len && isTchar(s.charCodeAt(i))) i++
    if (i === ks || s.charCodeAt(i) !== 61) {
      fail()
      continue
    }
    const key = s.slice(ks, i).toLowerCase()
    i++
    let value: string
    if (s.charCodeAt(i) === 34) {
      i++
      value = ''
      let closed = false
      let ctl = false
      let from = i
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c === 92) {
          value += s.slice(from, i)
          i++
          from = i
          if (i >= len) break
        } else if (c === 34) {
          closed = true
          break
        } else if ((c < 32 && c !== 9) || c === 127) {
          ctl = true
          break
        }
      }
      if (!closed) {
        // a control character: skip the rest of the quoted string
        fail(ctl)
        continue
      }
      value += s.slice(from, i)
      i++
    } else {
      const vs = i
      while (i < len && isTchar(s.charCodeAt(i))) i++
      if (i === vs) {
        fail()
        continue
      }
      value = s.slice(vs, i)
    }
    skipWs()
    if (i < len && s.charCodeAt(i) !== 59 && s.charCodeAt(i) !== 44) {
      fail()
      continue
    }
    if (key === 'for' || key === 'proto' || key === 'host' || key === 'by') {
      if (el[key] !== undefined) {
        fail()
        continue
      }
      el[key] = value
    }
    empty = false
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

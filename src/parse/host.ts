/**
 * `host[:port]` validation for the per-request path.
 */
import { COLON, DOT, OPEN_BRACKET } from './chars.js'
import { BARE, INVALID, parseAddress } from './ip.js'

/** A validated host: `host` is `hostname[:port]`, lower-cased. */
export interface HostParts {
  host: string
  hostname: string
  port: number | null
}

// RFC 3986 reg-name characters we accept: ALPHA DIGIT - . _ ~ and ! $ & ' ( ) * + , ; = are
// refused on purpose (they are legal but only ever seen in attacks).
const isNameChar = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 45 || c === 46 || c === 95 || c === 126

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
  if (s.charCodeAt(0) === OPEN_BRACKET) {
    // an IP-literal is IPv6: "[1.2.3.4]" is not a host
    const close = s.indexOf(']')
    const colon = s.indexOf(':')
    if (close < 0 || colon < 0 || colon > close || parseAddress(s, 1, close, BARE) === INVALID) {
      return undefined
    }
    i = close + 1
  } else {
    // labels of 1-63 characters; only the last may be empty (a trailing
    // dot), so ".", "..", ".a" and "a..b" are not names
    let label = 0
    for (; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c === DOT) {
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
    if (s.charCodeAt(i) !== COLON || len - i - 1 < 1 || len - i - 1 > 5) return undefined
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

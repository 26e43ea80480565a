/**
 * RFC 7239 `Forwarded` parser for the per-request path, read right to left.
 */
import { BACKSLASH, CLOSE_BRACKET, COLON, COMMA, EQUALS, OPEN_BRACKET, QUOTE, SEMICOLON, isWs } from './chars.js'

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
  (c >= 48 && c <= 57) ||
  (c >= 65 && c <= 90) ||
  (c >= 97 && c <= 122) ||
  c === 33 ||
  (c >= 35 && c <= 39) ||
  c === 42 ||
  c === 43 ||
  c === 45 ||
  c === 46 ||
  c === 94 ||
  c === 95 ||
  c === 96 ||
  c === 124 ||
  c === 126

/** Characters an unquoted `for=` value may add to tchar: `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`. */
const isAddressChar = (c: number) => c === COLON || c === OPEN_BRACKET || c === CLOSE_BRACKET

/** `s[i]` is preceded by an odd number of backslashes (so it is escaped). */
const escaped = (s: string, i: number): boolean => {
  let n = 0
  while (i > 0 && s.charCodeAt(i - 1) === BACKSLASH) {
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
    if (c === COMMA || c === SEMICOLON) {
      i--
      afterPair = false
      if (c === SEMICOLON) continue
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
    if (c === QUOTE) {
      const close = i - 1
      if (escaped(s, close)) break
      let open = close - 1
      for (; open >= 0; open--) {
        const q = s.charCodeAt(open)
        if (q === QUOTE && !escaped(s, open)) break
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
        if (s.charCodeAt(k) === BACKSLASH) {
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
    if (vs === 0 || s.charCodeAt(vs - 1) !== EQUALS) break
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

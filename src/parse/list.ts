/**
 * Comma-separated header lists for the per-request path, read right to left.
 */
import { COMMA, isWs } from './chars.js'
import { parse4Before } from './ip.js'

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
      while (j >= 0 && s.charCodeAt(j) !== COMMA) j--
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

  /**
   * `prev()` for an entry that is a plain IPv4 address, parsed as it is
   * found (`parse4Before`: one scan, not one to find it and one to parse
   * it): true when the next entry is one, with `[start, end)` set and the
   * address in `scratch`; false, the cursor unchanged, for anything else
   * (then read the entry with `prev()`).
   */
  prevIPv4(): boolean {
    const s = this.s
    let end = this.pos
    while (end > 0 && isWs(s.charCodeAt(end - 1))) end--
    const start = parse4Before(s, end)
    if (start < 0) return false
    let j = start
    while (j > 0 && isWs(s.charCodeAt(j - 1))) j--
    // the entry's comma, or the start of the list
    if (j > 0 && s.charCodeAt(j - 1) !== COMMA) return false
    this.start = start
    this.end = end
    this.pos = j > 0 ? j - 1 : 0
    return true
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

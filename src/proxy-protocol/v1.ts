/**
 * PROXY protocol version 1, the text form (haproxy doc/proxy-protocol.txt,
 * revision 2020/03/05, section 2.1, read 2026-11-29):
 *
 *   "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF
 *   "PROXY" SP "UNKNOWN" [anything] CRLF
 *
 * Exactly one space between fields; the CRLF must come within 107 bytes; a
 * lone CR or LF is invalid; IPv4 addresses are four decimal parts without
 * leading zeros, IPv6 addresses hexadecimal groups with at most one "::";
 * ports 0-65535 without leading zeros; the address form must match the
 * announced family. Anything else aborts the connection.
 */
import { BARE, formatParsed, INVALID, parseAddress } from '../parse/ip.js'
import { fail, NO_TLVS, type ParseResult } from './result.js'
import type { ProxyEndpoint } from './types.js'

/** "PROXY " */
export const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1')
/** the longest valid line, CRLF included (section 2.1) */
export const V1_MAX = 107

/**
 * Parse a v1 header at the start of `b` (its first bytes are `PROXY `).
 * @internal
 */
export const parseV1 = (b: Buffer): ParseResult => {
  // One pass over the bytes (this runs once per connection: bench/
  // proxy-protocol-instructions.mjs): find the CR, check that the line is
  // printable US-ASCII, and note where the spaces after "PROXY TCPx " are.
  // Measured on Node 20.20.2 (2026-12-07): an index started at a Buffer's
  // `length` (V1_SIGNATURE.length) instead of a literal cost 600 -> 400 ns a
  // header; an error message naming the index inside the loop another
  // ~600 instructions (see below); now about 220 ns.
  const limit = b.length < V1_MAX ? b.length : V1_MAX
  let end = -1
  let spaces = 0
  let sp1 = 0
  let sp2 = 0
  let sp3 = 0
  let bad = -1
  for (let i = 6; i < limit; i++) {
    const c = b[i]!
    if (c === 0x20) {
      // a field separator once past "PROXY TCPx " (byte 11)
      if (i >= 11) {
        if (spaces === 0) sp1 = i
        else if (spaces === 1) sp2 = i
        else if (spaces === 2) sp3 = i
        spaces++
      }
      continue
    }
    if (c === 0x0d) {
      end = i
      break
    }
    // the line is US-ASCII text (a lone LF included); the message is built
    // after the loop: a template literal naming `i` in here was computed on
    // every byte by V8's optimizing compiler (a number-to-string per byte)
    if (c < 0x20 || c > 0x7e) {
      bad = i
      break
    }
  }
  if (bad >= 0) return badByte(b[bad]!, bad)
  if (end < 0) {
    return b.length >= V1_MAX ? fail('v1-too-long', `no CRLF within ${V1_MAX} bytes`) : undefined
  }
  // the LF would be byte 108
  if (end + 1 === V1_MAX) return fail('v1-too-long', `no CRLF within ${V1_MAX} bytes`)
  if (end + 1 === b.length) return undefined
  if (b[end + 1] !== 0x0a) return fail('v1-syntax', `a carriage return without a line feed at byte ${end}`)
  const line = b.toString('latin1', 6, end)
  const length = end + 2
  if (line === 'UNKNOWN' || line.startsWith('UNKNOWN ')) {
    // "the receiver must ignore anything presented before the CRLF"
    return {
      ok: true,
      header: {
        version: 1,
        command: 'PROXY',
        family: 'UNSPEC',
        transport: 'UNSPEC',
        source: undefined,
        destination: undefined,
        tlvs: NO_TLVS(),
        length,
      },
    }
  }
  const v6 = line.startsWith('TCP6 ')
  if (!v6 && !line.startsWith('TCP4 '))
    return fail('v1-syntax', `unknown protocol ${JSON.stringify(line.slice(0, 8))} (TCP4, TCP6 or UNKNOWN)`)
  // four fields after "TCPx ", separated by single spaces; in the line
  // (which starts at byte 6) they start at 5, sp1 - 5, sp2 - 5, sp3 - 5
  if (spaces > 3) return fail('v1-syntax', 'more than 4 fields after the protocol')
  if (spaces !== 3)
    return fail('v1-syntax', `${spaces + 1} field(s) after the protocol, expected 4 separated by single spaces`)
  const at1 = sp1 - 5
  const at2 = sp2 - 5
  const at3 = sp3 - 5
  // (the line starts at byte 6 of `b`)
  const src = address(b, line, 5, at1 - 1, v6)
  const dst = address(b, line, at1, at2 - 1, v6)
  if (src === undefined || dst === undefined) {
    const [from, to] = src === undefined ? [5, at1 - 1] : [at1, at2 - 1]
    return fail(
      'v1-address',
      `${JSON.stringify(line.slice(from, to))} is not a canonical ${v6 ? 'IPv6' : 'IPv4'} address`,
    )
  }
  const sport = port(line, at2, at3 - 1)
  const dport = port(line, at3, line.length)
  if (sport < 0 || dport < 0) {
    const [from, to] = sport < 0 ? [at2, at3 - 1] : [at3, line.length]
    return fail('v1-port', `${JSON.stringify(line.slice(from, to))} is not a port (0-65535, no leading zeros)`)
  }
  const source: ProxyEndpoint = { address: src, port: sport }
  const destination: ProxyEndpoint = { address: dst, port: dport }
  return {
    ok: true,
    header: {
      version: 1,
      command: 'PROXY',
      family: v6 ? 'IPv6' : 'IPv4',
      transport: 'STREAM',
      source,
      destination,
      tlvs: NO_TLVS(),
      length,
    },
  }
}

/** Why the byte `c` at `i` cannot be in a v1 line. */
const badByte = (c: number, i: number): ParseResult =>
  c === 0x0a
    ? fail('v1-syntax', `a line feed without a carriage return at byte ${i}`)
    : fail('v1-syntax', `a byte that is not printable US-ASCII (0x${c.toString(16)}) at byte ${i}`)

/**
 * The canonical form of the v1 address in `s[from, to)` (`b[from + 6, to +
 * 6)`) of the announced family, or undefined.
 */
const address = (b: Buffer, s: string, from: number, to: number, v6: boolean): string | undefined => {
  // IPv4 is read from the bytes: charCodeAt on a string V8 cannot prove
  // flat costs about 40 instructions a character (bench/proxy-protocol-
  // instructions.mjs); what is accepted is what parse4 (ip.ts) accepts,
  // four decimal parts without leading zeros, which is its own canonical text
  if (!v6) return ipv4Bytes(b, from + 6, to + 6) ? s.slice(from, to) : undefined
  // IPv6 always has a colon (ip.ts would read "1.2.3.4" as IPv4)
  const colon = s.indexOf(':', from)
  if (colon < 0 || colon >= to) return undefined
  const kind = parseAddress(s, from, to, BARE)
  return kind === INVALID ? undefined : formatParsed(kind)
}

/** `b[start, end)` is four decimal parts of 0-255 without leading zeros, dot-separated. */
const ipv4Bytes = (b: Uint8Array, start: number, end: number): boolean => {
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const c = b[i]!
    if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return false
      part = part * 10 + (c - 48)
      if (++digits > 3 || part > 255) return false
    } else if (c === 46 && digits > 0 && ++dots <= 3) {
      part = 0
      digits = 0
    } else {
      return false
    }
  }
  return dots === 3 && digits > 0
}

/** The decimal port in `s[from, to)`, 0-65535 without leading zeros, or -1. */
const port = (s: string, from: number, to: number): number => {
  const len = to - from
  if (len <= 0 || len > 5 || (len > 1 && s.charCodeAt(from) === 48)) return -1
  let n = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return -1
    n = n * 10 + c - 48
  }
  return n <= 65535 ? n : -1
}

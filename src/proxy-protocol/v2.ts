/**
 * PROXY protocol version 2, the binary form (haproxy doc/proxy-protocol.txt,
 * revision 2020/03/05, section 2.2, read 2026-11-29):
 *
 *   bytes 0-11   signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 *   byte 12      version (high nibble, must be 2) and command (low nibble:
 *                0 LOCAL, 1 PROXY; anything else drops the connection)
 *   byte 13      family (high nibble) and transport (low nibble); only
 *                0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32 are valid
 *   bytes 14-15  length of what follows, big-endian (always honoured)
 *   then         addresses: IPv4 4+4 bytes + ports 2+2 (12), IPv6 16+16
 *                + 2+2 (36), UNIX 108+108 (216); then TLVs to the end:
 *                type (1 byte), length (2 bytes, big-endian), value.
 *
 * TLV types (section 2.2): 0x01 ALPN, 0x02 AUTHORITY, 0x03 CRC32C, 0x04
 * NOOP, 0x05 UNIQUE_ID (at most 128 bytes, 2.2.5), 0x20 SSL (client byte,
 * verify uint32, then sub-TLVs 0x21 VERSION, 0x22 CN, 0x23 CIPHER, 0x24
 * SIG_ALG, 0x25 KEY_ALG; 2.2.6), 0x30 NETNS; 0xE0-0xEF application-specific
 * (2.2.8), of which AWS uses 0xEA with first byte 0x01 followed by the VPC
 * endpoint id (AWS Network Load Balancer guide, "Target groups", "Proxy
 * protocol", read 2026-11-29).
 */
import { BARE, formatParsed, parseAddress } from '../parse/ip.js'
import { crcUpdate, crcZeros } from './crc32c.js'
import { fail, type ParseResult } from './result.js'
import type { ProxyEndpoint, ProxyHeader, ProxySslInfo, ProxyTlvs } from './types.js'

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
/** the fixed part: signature, version/command, family, length */
export const V2_FIXED = 16

const FAMILIES: Record<number, [ProxyHeader['family'], ProxyHeader['transport'], number]> = {
  0x00: ['UNSPEC', 'UNSPEC', 0],
  0x11: ['IPv4', 'STREAM', 12],
  0x12: ['IPv4', 'DGRAM', 12],
  0x21: ['IPv6', 'STREAM', 36],
  0x22: ['IPv6', 'DGRAM', 36],
  0x31: ['UNIX', 'STREAM', 216],
  0x32: ['UNIX', 'DGRAM', 216],
}

/**
 * Check the fixed part once its 16 bytes are there; returns the total
 * header length, or a rejection. @internal
 */
export const checkV2Fixed = (b: Buffer, maxBytes: number): number | ParseResult => {
  const verCmd = b[12]!
  if (verCmd >> 4 !== 2)
    return fail('v2-version', `version ${verCmd >> 4} (byte 13 is 0x${verCmd.toString(16)}), expected 2`)
  if ((verCmd & 0xf) > 1) return fail('v2-command', `command ${verCmd & 0xf}, expected 0 (LOCAL) or 1 (PROXY)`)
  if (FAMILIES[b[13]!] === undefined)
    return fail('v2-family', `family/transport byte 0x${b[13]!.toString(16).padStart(2, '0')}`)
  const total = V2_FIXED + b.readUInt16BE(14)
  if (total > maxBytes) return fail('v2-too-large', `a ${total}-byte header, more than maxHeaderBytes (${maxBytes})`)
  return total
}

/**
 * Parse a complete v2 header of `total` bytes at the start of `b` (the
 * fixed part already checked). @internal
 */
export const parseV2 = (b: Buffer, total: number): ParseResult => {
  const local = (b[12]! & 0xf) === 0
  const [family, transport, addrLen] = FAMILIES[b[13]!]!
  const len = total - V2_FIXED
  let source: ProxyEndpoint | undefined
  let destination: ProxyEndpoint | undefined
  const tlvs: ProxyTlvs = { raw: [] }
  if (local) {
    // LOCAL: "the receiver must accept this connection as valid and must use
    // the real connection endpoints and discard the protocol block including
    // the family which is ignored"; the length is honoured whatever it
    // covers: "must not assume zero is presented for LOCAL connections"
    // (section 2.2, commit 00be3584260b050638a1d9c58c53f60c8ea54f18 of
    // haproxy/haproxy, read 2026-12-06). The block, TLVs included, is not read.
    return {
      ok: true,
      header: {
        version: 2,
        command: 'LOCAL',
        family,
        transport,
        source: undefined,
        destination: undefined,
        tlvs,
        length: total,
      },
    }
  }
  if (len < addrLen)
    return fail('v2-address-length', `${len} bytes after the fixed part, the ${family} address block needs ${addrLen}`)
  const a = V2_FIXED
  if (family === 'IPv4') {
    source = { address: ip4(b, a), port: b.readUInt16BE(a + 8) }
    destination = { address: ip4(b, a + 4), port: b.readUInt16BE(a + 10) }
  } else if (family === 'IPv6') {
    source = { address: ip6(b, a), port: b.readUInt16BE(a + 32) }
    destination = { address: ip6(b, a + 16), port: b.readUInt16BE(a + 34) }
  } else if (family === 'UNIX') {
    source = { address: path(b, a), port: undefined }
    destination = { address: path(b, a + 108), port: undefined }
  }
  const error = parseTlvs(b, V2_FIXED + addrLen, total, tlvs)
  if (error !== undefined) return error
  return {
    ok: true,
    header: {
      version: 2,
      command: 'PROXY',
      family,
      transport,
      source,
      destination,
      tlvs,
      length: total,
    },
  }
}

/** "0" to "255": an octet's text without turning a number into a string per header */
const OCTET = Array.from({ length: 256 }, (_, i) => String(i))

/** Dotted-decimal text of the 4-byte IPv4 address at `b[at]`. */
const ip4 = (b: Buffer, at: number): string =>
  OCTET[b[at]!]! + '.' + OCTET[b[at + 1]!]! + '.' + OCTET[b[at + 2]!]! + '.' + OCTET[b[at + 3]!]!

/** Canonical text of the 16-byte IPv6 address at `b[at]` (IPv4-mapped as IPv4). */
const ip6 = (b: Buffer, at: number): string => {
  let s = ''
  for (let i = 0; i < 16; i += 2) s += (i === 0 ? '' : ':') + b.readUInt16BE(at + i).toString(16)
  // the uncompressed form always parses; ip.ts gives the RFC 5952 form
  return formatParsed(parseAddress(s, 0, s.length, BARE))
}

/** A UNIX socket path: the bytes up to the first NUL. */
const path = (b: Buffer, at: number): string => {
  const nul = b.indexOf(0, at)
  return b.toString('utf8', at, nul < 0 || nul > at + 108 ? at + 108 : nul)
}

/** Types that may appear once: a second copy is ambiguous, so refused. */
const SINGLE = new Set([0x01, 0x02, 0x03, 0x05, 0x20, 0x30, 0xea])

/** Parse the TLVs in `b[from, to)` into `out`; returns a rejection or undefined. */
const parseTlvs = (b: Buffer, from: number, to: number, out: ProxyTlvs): ParseResult => {
  if (from === to) return undefined // none: the common header costs no Set
  const seen = new Set<number>()
  let crcAt = -1
  let pos = from
  while (pos < to) {
    if (to - pos < 3) return fail('v2-tlv', `${to - pos} stray byte(s) at offset ${pos}, a TLV needs 3`)
    const type = b[pos]!
    const len = b.readUInt16BE(pos + 1)
    const start = pos + 3
    const end = start + len
    if (end > to)
      return fail('v2-tlv', `TLV 0x${type.toString(16)} of ${len} bytes overruns the header at offset ${pos}`)
    if (SINGLE.has(type)) {
      if (seen.has(type)) return fail('v2-tlv', `TLV 0x${type.toString(16)} appears twice`)
      seen.add(type)
    }
    switch (type) {
      case 0x01:
        out.alpn = b.toString('latin1', start, end)
        break
      case 0x02:
        out.authority = b.toString('utf8', start, end)
        break
      case 0x03:
        if (len !== 4) return fail('v2-tlv', `CRC32C TLV of ${len} bytes, expected 4`)
        crcAt = start
        break
      case 0x04:
        break // NOOP: padding, ignored (2.2.4)
      case 0x05:
        if (len > 128) return fail('v2-tlv', `UNIQUE_ID of ${len} bytes, at most 128`)
        out.uniqueId = Buffer.from(b.subarray(start, end))
        break
      case 0x20: {
        const ssl = parseSsl(b, start, end)
        if (typeof ssl === 'string') return fail('v2-tlv', ssl)
        out.ssl = ssl
        break
      }
      case 0x30:
        out.netns = b.toString('latin1', start, end)
        break
      case 0xea:
        if (len >= 1 && b[start] === 0x01) {
          out.awsVpceId = b.toString('latin1', start + 1, end)
          break
        }
      // other AWS subtypes: kept raw
      // falls through
      default:
        out.raw.push({ type, value: Buffer.from(b.subarray(start, end)) })
    }
    pos = end
  }
  if (crcAt >= 0) {
    // the CRC of the whole header with its own 4 bytes zeroed (2.2.3)
    let crc = crcUpdate(-1, b, 0, crcAt)
    crc = crcZeros(crc, 4)
    crc = (crcUpdate(crc, b, crcAt + 4, to) ^ -1) >>> 0
    const sent = b.readUInt32BE(crcAt)
    if (crc !== sent) return fail('v2-crc32c', `CRC32C 0x${sent.toString(16)} sent, 0x${crc.toString(16)} computed`)
    out.crc32c = sent
  }
  return undefined
}

const SSL_SUB: Record<number, 'version' | 'cn' | 'cipher' | 'sigAlg' | 'keyAlg'> = {
  0x21: 'version',
  0x22: 'cn',
  0x23: 'cipher',
  0x24: 'sigAlg',
  0x25: 'keyAlg',
}

/** The PP2_TYPE_SSL value in `b[from, to)`, or why it is malformed. */
const parseSsl = (b: Buffer, from: number, to: number): ProxySslInfo | string => {
  if (to - from < 5) return `SSL TLV of ${to - from} bytes, at least 5 (client, verify)`
  const client = b[from]!
  const verify = b.readUInt32BE(from + 1)
  const certInConnection = (client & 0x02) !== 0
  const certInSession = (client & 0x04) !== 0
  const ssl: ProxySslInfo = {
    ssl: (client & 0x01) !== 0,
    certInConnection,
    certInSession,
    verify,
    verified: verify === 0 && (certInConnection || certInSession),
  }
  let pos = from + 5
  while (pos < to) {
    if (to - pos < 3) return `${to - pos} stray byte(s) in the SSL TLV`
    const type = b[pos]!
    const end = pos + 3 + b.readUInt16BE(pos + 1)
    if (end > to) return `SSL sub-TLV 0x${type.toString(16)} overruns the SSL TLV`
    const key = SSL_SUB[type]
    if (key !== undefined) {
      if (ssl[key] !== undefined) return `SSL sub-TLV 0x${type.toString(16)} appears twice`
      // CN is UTF-8 (2.2.6); the others are US-ASCII names
      ssl[key] = key === 'cn' ? b.toString('utf8', pos + 3, end) : b.toString('latin1', pos + 3, end)
    }
    pos = end
  }
  return ssl
}

/**
 * Reads the few certificate fields Node's `X509Certificate` gives only as
 * display strings: subject common names, subject alternative names and
 * the basic-constraints path length. Runs on DER that OpenSSL has already
 * parsed (`X509Certificate.raw`), so it only walks; any surprise yields
 * "nothing found". Splitting `subjectAltName` strings is how
 * CVE-2021-44532 happened: we never do. @private
 */
import { canonicalIp } from './ip.js'

/** Subject alternative names by kind, in certificate order. @public */
export interface SubjectAltNames {
  readonly dns: readonly string[]
  readonly uri: readonly string[]
  readonly email: readonly string[]
  /** canonical IP addresses */
  readonly ip: readonly string[]
}

/** What the DER walk found. @private */
export interface DerFields {
  commonNames: string[]
  san: { dns: string[], uri: string[], email: string[], ip: string[] }
  /** basicConstraints pathLenConstraint, `undefined` when absent */
  pathLen: number | undefined
}

interface Tlv {
  tag: number
  start: number
  end: number
}

/** The TLV at `i`, or undefined when it does not fit in `[i, limit)`. */
const tlv = (b: Uint8Array, i: number, limit: number): Tlv | undefined => {
  if (i + 2 > limit) return undefined
  const tag = b[i]!
  let len = b[i + 1]!
  let start = i + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 3 || start + n > limit) return undefined
    len = 0
    for (let k = 0; k < n; k++) len = len * 256 + b[start + k]!
    start += n
  }
  const end = start + len
  return end > limit ? undefined : { tag, start, end }
}

/** The children of the constructed value `[start, end)`. */
const children = (b: Uint8Array, start: number, end: number): Tlv[] => {
  const out: Tlv[] = []
  for (let i = start; i < end;) {
    const t = tlv(b, i, end)
    if (t === undefined) return out
    out.push(t)
    i = t.end
  }
  return out
}

const sameBytes = (b: Uint8Array, t: Tlv, oid: readonly number[]) => {
  if (t.tag !== 0x06 || t.end - t.start !== oid.length) return false
  for (let k = 0; k < oid.length; k++) if (b[t.start + k] !== oid[k]) return false
  return true
}

const OID_CN = [0x55, 0x04, 0x03] // 2.5.4.3
const OID_SAN = [0x55, 0x1d, 0x11] // 2.5.29.17
const OID_BASIC = [0x55, 0x1d, 0x13] // 2.5.29.19

const bytes = (b: Uint8Array, t: Tlv) => Buffer.from(b.buffer, b.byteOffset + t.start, t.end - t.start)

/** UTF8String, PrintableString, IA5String; other (legacy) string types are skipped. */
const text = (b: Uint8Array, t: Tlv): string | undefined =>
  t.tag === 0x0c ? bytes(b, t).toString('utf8') : t.tag === 0x13 || t.tag === 0x16 ? bytes(b, t).toString('latin1') : undefined

const ipText = (b: Uint8Array, t: Tlv): string | undefined => {
  const n = t.end - t.start
  if (n === 4) return `${b[t.start]}.${b[t.start + 1]}.${b[t.start + 2]}.${b[t.start + 3]}`
  if (n !== 16) return undefined
  const groups: string[] = []
  for (let k = 0; k < 16; k += 2) groups.push(((b[t.start + k]! << 8) | b[t.start + k + 1]!).toString(16))
  return canonicalIp(groups.join(':'))
}

/** Read common names, SANs and the path length from a DER certificate. @private */
export function derFields(der: Uint8Array): DerFields {
  const out: DerFields = { commonNames: [], san: { dns: [], uri: [], email: [], ip: [] }, pathLen: undefined }
  const cert = tlv(der, 0, der.length)
  const tbs = cert && children(der, cert.start, cert.end)[0]
  if (tbs === undefined) return out
  const fields = children(der, tbs.start, tbs.end)
  // [0] version is optional: the subject is the 5th field after it
  const base = fields[0]?.tag === 0xa0 ? 1 : 0
  const subject = fields[base + 4]
  if (subject !== undefined) {
    for (const set of children(der, subject.start, subject.end)) {
      for (const atv of children(der, set.start, set.end)) {
        const [oid, value] = children(der, atv.start, atv.end)
        if (oid !== undefined && value !== undefined && sameBytes(der, oid, OID_CN)) {
          const s = text(der, value)
          if (s !== undefined) out.commonNames.push(s)
        }
      }
    }
  }
  const extsWrapper = fields.find(f => f.tag === 0xa3)
  const exts = extsWrapper && children(der, extsWrapper.start, extsWrapper.end)[0]
  if (exts === undefined) return out
  for (const ext of children(der, exts.start, exts.end)) {
    const parts = children(der, ext.start, ext.end)
    const oid = parts[0]
    const value = parts[parts.length - 1]
    if (oid === undefined || value === undefined || value.tag !== 0x04) continue
    if (sameBytes(der, oid, OID_SAN)) {
      const names = children(der, value.start, value.end)[0]
      if (names === undefined) continue
      // GeneralName: [1] rfc822Name, [2] dNSName, [6] URI (IA5String), [7] iPAddress
      for (const gn of children(der, names.start, names.end)) {
        if (gn.tag === 0x81) out.san.email.push(bytes(der, gn).toString('latin1'))
        else if (gn.tag === 0x82) out.san.dns.push(bytes(der, gn).toString('latin1'))
        else if (gn.tag === 0x86) out.san.uri.push(bytes(der, gn).toString('latin1'))
        else if (gn.tag === 0x87) {
          const ip = ipText(der, gn)
          if (ip !== undefined) out.san.ip.push(ip)
        }
      }
    } else if (sameBytes(der, oid, OID_BASIC)) {
      const seq = children(der, value.start, value.end)[0]
      const items = seq ? children(der, seq.start, seq.end) : []
      const int = items.find(i => i.tag === 0x02)
      if (int !== undefined && int.end - int.start <= 4) {
        let n = 0
        for (let k = int.start; k < int.end; k++) n = n * 256 + der[k]!
        out.pathLen = n
      }
    }
  }
  return out
}

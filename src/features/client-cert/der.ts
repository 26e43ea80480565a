/**
 * Reads the few certificate fields Node's `X509Certificate` gives only as
 * display strings, or not at all: subject common names, subject
 * alternative names, the basic-constraints path length, and (for chain
 * verification) the key usage bits, the critical extensions and name
 * constraints. Runs on DER that OpenSSL has already
 * parsed (`X509Certificate.raw`), so it only walks; any surprise yields
 * "nothing found". Splitting `subjectAltName` strings is how
 * CVE-2021-44532 happened: we never do. @internal
 */
import { canonicalIp } from '../../parse/ip.js'

/** Subject alternative names by kind, in certificate order. @public */
export interface SubjectAltNames {
  readonly dns: readonly string[]
  readonly uri: readonly string[]
  readonly email: readonly string[]
  /** canonical IP addresses */
  readonly ip: readonly string[]
}

/** What the DER walk found about extensions, for chain verification. @internal */
export interface DerExtensions {
  /**
   * keyUsage: the first two bytes of the BIT STRING, big-endian (bit 0,
   * digitalSignature, is `KU_DIGITAL_SIGNATURE`), `undefined` when absent
   */
  keyUsage: number | undefined
  /** dotted OIDs of the extensions marked critical */
  critical: string[]
  /** a nameConstraints extension is present (critical or not) */
  nameConstraints: boolean
}

/** keyUsage bit 0, digitalSignature, in `DerExtensions.keyUsage`. @internal */
export const KU_DIGITAL_SIGNATURE = 0x8000
/** keyUsage bit 6, cRLSign (RFC 5280 §4.2.1.3), in `DerExtensions.keyUsage`. @internal */
export const KU_CRL_SIGN = 0x0200

/** What the DER walk found. @internal */
interface DerFields {
  commonNames: string[]
  san: { dns: string[]; uri: string[]; email: string[]; ip: string[] }
  /** basicConstraints pathLenConstraint, `undefined` when absent */
  pathLen: number | undefined
}

/** One DER element: its tag and where its content lies. @internal */
export interface Tlv {
  tag: number
  start: number
  end: number
}

/** The TLV at `i`, or undefined when it does not fit in `[i, limit)`. @internal */
export const tlv = (b: Uint8Array, i: number, limit: number): Tlv | undefined => {
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
const OID_KU = [0x55, 0x1d, 0x0f] // 2.5.29.15
const OID_NC = [0x55, 0x1d, 0x1e] // 2.5.29.30

/** An OBJECT IDENTIFIER in dotted form. @internal */
export const oidText = (b: Uint8Array, t: Tlv): string => {
  const arcs: number[] = []
  let n = 0
  for (let k = t.start; k < t.end; k++) {
    n = n * 128 + (b[k]! & 0x7f)
    if ((b[k]! & 0x80) === 0) {
      arcs.push(n)
      n = 0
    }
  }
  // the first subidentifier packs two arcs, 40 * x + y (x is 0, 1 or 2)
  const first = arcs[0]!
  const head = first < 80 ? `${Math.floor(first / 40)}.${first % 40}` : `2.${first - 80}`
  return [head, ...arcs.slice(1)].join('.')
}

const bytes = (b: Uint8Array, t: Tlv) => Buffer.from(b.buffer, b.byteOffset + t.start, t.end - t.start)

/** UTF8String, PrintableString, IA5String; other (legacy) string types are skipped. */
const text = (b: Uint8Array, t: Tlv): string | undefined =>
  t.tag === 0x0c
    ? bytes(b, t).toString('utf8')
    : t.tag === 0x13 || t.tag === 0x16
      ? bytes(b, t).toString('latin1')
      : undefined

const ipText = (b: Uint8Array, t: Tlv): string | undefined => {
  const n = t.end - t.start
  if (n === 4) return `${b[t.start]}.${b[t.start + 1]}.${b[t.start + 2]}.${b[t.start + 3]}`
  if (n !== 16) return undefined
  const groups: string[] = []
  for (let k = 0; k < 16; k += 2) groups.push(((b[t.start + k]! << 8) | b[t.start + k + 1]!).toString(16))
  return canonicalIp(groups.join(':'))
}

/** The fields of the TBSCertificate, or undefined. */
const tbsFields = (der: Uint8Array): Tlv[] | undefined => {
  const cert = tlv(der, 0, der.length)
  const tbs = cert && children(der, cert.start, cert.end)[0]
  return tbs && children(der, tbs.start, tbs.end)
}

/**
 * A certificate's issuer and subject names and serial number, as the hex
 * of their DER contents: what a CRL names (RFC 5280 §5.1: a CRL lists
 * serial numbers of one issuer name). Empty strings when unreadable.
 * @internal
 */
export function derNames(der: Uint8Array): { issuer: string; subject: string; serial: string } {
  const fields = tbsFields(der) ?? []
  const base = fields[0]?.tag === 0xa0 ? 1 : 0
  const hex = (t: Tlv | undefined) => (t === undefined ? '' : bytes(der, t).toString('hex'))
  // TBSCertificate: version, serialNumber, signature, issuer, validity, subject
  return { serial: hex(fields[base]), issuer: hex(fields[base + 2]), subject: hex(fields[base + 4]) }
}

interface Extension {
  oid: Tlv
  critical: boolean
  /** the content of extnValue (an OCTET STRING) */
  value: Tlv
}

/** The well-formed extensions among the TBSCertificate fields. */
const extensionsOf = (der: Uint8Array, fields: Tlv[]): Extension[] => {
  const out: Extension[] = []
  const wrapper = fields.find(f => f.tag === 0xa3)
  const exts = wrapper && children(der, wrapper.start, wrapper.end)[0]
  if (exts === undefined) return out
  for (const ext of children(der, exts.start, exts.end)) {
    // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }
    const parts = children(der, ext.start, ext.end)
    const oid = parts[0]
    const value = parts[parts.length - 1]
    if (oid === undefined || value === undefined || value.tag !== 0x04) continue
    const critical = parts.length === 3 && parts[1]!.tag === 0x01 && der[parts[1]!.start] !== 0
    out.push({ oid, critical, value })
  }
  return out
}

/** Read common names, SANs and the path length from a DER certificate. @internal */
export function derFields(der: Uint8Array): DerFields {
  const out: DerFields = { commonNames: [], san: { dns: [], uri: [], email: [], ip: [] }, pathLen: undefined }
  const fields = tbsFields(der)
  if (fields === undefined) return out
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
  for (const { oid, value } of extensionsOf(der, fields)) {
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

/**
 * Read the key usage, the critical extensions and name constraints from a
 * DER certificate (one OpenSSL has parsed: the chain verifier's input).
 * @internal
 */
export function derExtensions(der: Uint8Array): DerExtensions {
  const out: DerExtensions = { keyUsage: undefined, critical: [], nameConstraints: false }
  for (const { oid, critical, value } of extensionsOf(der, tbsFields(der) ?? [])) {
    if (critical) out.critical.push(oidText(der, oid))
    if (sameBytes(der, oid, OID_KU)) {
      // BIT STRING: the unused-bit count, then bit 0 is the top bit of the first byte;
      // anything unreadable leaves no bit set (fails closed)
      let ku = 0
      for (const bits of children(der, value.start, value.end)) {
        ku = 0
        for (let k = 1; k <= 2; k++) ku = ku * 256 + (bits.start + k < bits.end ? der[bits.start + k]! : 0)
      }
      out.keyUsage = ku
    } else if (sameBytes(der, oid, OID_NC)) {
      out.nameConstraints = true
    }
  }
  return out
}

/**
 * Certificate revocation lists for forwarded certificates. Node has no CRL
 * parser: this reads the few fields revocation needs from the DER, and
 * refuses anything it does not understand (a CRL read wrongly would let a
 * revoked certificate through). @internal
 */
import { createHash, verify, type X509Certificate } from 'node:crypto'
import { derExtensions, derNames, KU_CRL_SIGN, oidText, type Tlv, tlv } from './der.js'
import type { ClientCertError } from './types.js'

/** What a CRL says, once parsed. @internal */
export interface ParsedCrl {
  /** the issuer Name, hex of its DER contents (as `derNames`) */
  issuer: string
  thisUpdate: number
  /** Infinity when absent: no date after which the CRL is stale */
  nextUpdate: number
  /** revoked serial numbers, hex of their minimal DER INTEGER contents (as `derNames`) */
  revoked: Set<string>
  /** the signed bytes (TBSCertList), the signature algorithm (dotted OID) and the signature */
  tbs: Buffer
  algorithm: string
  signature: Buffer
}

const fail = (detail: string): never => {
  throw new Error(detail)
}

/** The children of `[start, end)`; anything that does not fit exactly throws. */
const strictChildren = (b: Buffer, t: Tlv): Tlv[] => {
  const out: Tlv[] = []
  for (let i = t.start; i < t.end;) {
    const c = tlv(b, i, t.end) ?? fail('a DER element does not fit in its parent')
    out.push(c)
    i = c.end
  }
  return out
}

const expect = (t: Tlv | undefined, tag: number, what: string): Tlv =>
  t !== undefined && t.tag === tag ? t : fail(`${what} is missing or has the wrong type`)

const isTime = (t: Tlv | undefined): t is Tlv => t !== undefined && (t.tag === 0x17 || t.tag === 0x18)

/**
 * UTCTime `YYMMDDHHMMSSZ` (years 1950-2049) or GeneralizedTime
 * `YYYYMMDDHHMMSSZ`: the only forms RFC 5280 §5.1.2.4 allows in a CRL.
 */
const time = (b: Buffer, t: Tlv): number => {
  const s = b.toString('latin1', t.start, t.end)
  const utc = t.tag === 0x17
  if (!(utc ? /^\d{12}Z$/ : /^\d{14}Z$/).test(s)) fail(`a CRL date is not in RFC 5280 form: ${JSON.stringify(s)}`)
  let y = Number(s.slice(0, utc ? 2 : 4))
  if (utc) y += y < 50 ? 2000 : 1900
  const r = s.slice(utc ? 2 : 4)
  const n = (i: number) => Number(r.slice(i, i + 2))
  const ms = Date.UTC(y, n(0) - 1, n(2), n(4), n(6), n(8))
  // Date.UTC rolls month 13 or second 61 over: a date that does not read back is not a date
  const d = new Date(ms)
  if (
    d.getUTCFullYear() !== y ||
    d.getUTCMonth() !== n(0) - 1 ||
    d.getUTCDate() !== n(2) ||
    d.getUTCHours() !== n(4) ||
    d.getUTCSeconds() !== n(8)
  )
    fail(`a CRL date is not a date: ${JSON.stringify(s)}`)
  return ms
}

/**
 * A serial number must be a positive INTEGER (RFC 5280 §4.1.2.2) in
 * minimal DER (X.690 §8.3.2: no leading 00 before a byte below 80, no
 * leading FF before a byte from 80): OpenSSL refuses a CRL with a padded
 * or empty one, and a padded serial would never equal the certificate's.
 */
const minimalPositive = (b: Buffer, t: Tlv): void => {
  const n = t.end - t.start
  if (n === 0) fail('a revoked serial number is empty')
  if (b[t.start]! >= 0x80) fail('a revoked serial number is negative')
  if (n > 1 && b[t.start] === 0 && b[t.start + 1]! < 0x80)
    fail('a revoked serial number is not in minimal DER (a leading 00 byte)')
}

/** Extensions (a SEQUENCE of Extension): none may be critical, since none is processed here. */
const noCritical = (b: Buffer, seq: Tlv, what: string): void => {
  for (const ext of strictChildren(b, expect(seq, 0x30, what))) {
    // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const parts = strictChildren(b, expect(ext, 0x30, what))
    const oid = expect(parts[0], 0x06, `${what} identifier`)
    if (parts.length === 3 && parts[1]!.tag === 0x01 && b[parts[1]!.start] !== 0)
      fail(`${what} ${oidText(b, oid)} is critical and not supported (delta, indirect or partitioned CRL?)`)
  }
}

/**
 * Parse a DER CRL (RFC 5280 §5.1, checked 2026-11-29):
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature AlgorithmIdentifier,
 *     issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL,
 *     revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER,
 *       revocationDate Time, crlEntryExtensions Extensions OPTIONAL } OPTIONAL,
 *     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
 *
 * Throws with the reason on anything else, on trailing bytes, and on a
 * critical extension (issuing distribution point, delta CRL indicator,
 * certificate issuer: scopes this reader does not apply). @internal
 */
export function parseCrl(der: Buffer): ParsedCrl {
  const top = tlv(der, 0, der.length)
  if (top === undefined || top.tag !== 0x30 || top.end !== der.length) fail('not one DER SEQUENCE')
  const [tbs, alg, sig, extra] = strictChildren(der, top!)
  expect(tbs, 0x30, 'tbsCertList')
  expect(alg, 0x30, 'signatureAlgorithm')
  expect(sig, 0x03, 'signatureValue')
  if (extra !== undefined) fail('the CRL has more than three parts')
  const f = strictChildren(der, tbs!)
  let i = 0
  if (f[0]?.tag === 0x02) {
    // v2 is 1; v1 CRLs omit the field
    if (f[0].end - f[0].start !== 1 || der[f[0].start] !== 1) fail('the CRL version is not v2')
    i++
  }
  const inner = expect(f[i++], 0x30, 'signature')
  // RFC 5280 §5.1.1.2: the same algorithm inside and outside the signed part
  if (!der.subarray(inner.start, inner.end).equals(der.subarray(alg!.start, alg!.end)))
    fail('the signature algorithm differs inside and outside the signed part')
  const issuer = expect(f[i++], 0x30, 'issuer')
  const thisTlv = f[i++]
  if (!isTime(thisTlv)) fail('thisUpdate is missing')
  const thisUpdate = time(der, thisTlv!)
  const nextUpdate = isTime(f[i]) ? time(der, f[i++]!) : Infinity
  const revoked = new Set<string>()
  if (f[i]?.tag === 0x30) {
    for (const entry of strictChildren(der, f[i++]!)) {
      const [serial, date, exts, more] = strictChildren(der, expect(entry, 0x30, 'a revoked entry'))
      expect(serial, 0x02, 'a revoked serial number')
      minimalPositive(der, serial!)
      if (!isTime(date)) fail('a revoked entry has no revocation date')
      time(der, date!)
      if (exts !== undefined) noCritical(der, exts, 'a CRL entry extension')
      if (more !== undefined) fail('a revoked entry has extra fields')
      revoked.add(der.toString('hex', serial!.start, serial!.end))
    }
  }
  if (f[i]?.tag === 0xa0) {
    const wrapper = strictChildren(der, f[i++]!)
    if (wrapper.length !== 1) fail('crlExtensions holds more than one element')
    noCritical(der, wrapper[0]!, 'the CRL extension')
  }
  if (i !== f.length) fail('tbsCertList has unknown fields')
  const algorithm = expect(strictChildren(der, alg!)[0], 0x06, 'the signature algorithm')
  // BIT STRING: the unused-bit count (0 for a signature), then the bits
  if (sig!.end - sig!.start < 2 || der[sig!.start] !== 0) fail('the signature is not a whole number of bytes')
  return {
    issuer: der.toString('hex', issuer.start, issuer.end),
    thisUpdate,
    nextUpdate,
    revoked,
    // the signed bytes are the whole TBSCertList element, the first in the outer SEQUENCE
    tbs: der.subarray(top!.start, tbs!.end),
    algorithm: oidText(der, algorithm),
    signature: der.subarray(sig!.start + 1, sig!.end),
  }
}

/**
 * Signature algorithms of CRLs, by OID, with the hash and the key type
 * they need: RFC 4055 §5 (sha*WithRSAEncryption, 1.2.840.113549.1.1.11-13),
 * RFC 5758 §3.2 (ecdsa-with-SHA*, 1.2.840.10045.4.3.2-4), RFC 8410 §3
 * (Ed25519 1.3.101.112, Ed448 1.3.101.113); checked 2026-11-29. SHA-1,
 * RSA-PSS and others are refused.
 */
const ALGORITHMS: Record<string, [hash: string | null, key: string]> = {
  '1.2.840.113549.1.1.11': ['sha256', 'rsa'],
  '1.2.840.113549.1.1.12': ['sha384', 'rsa'],
  '1.2.840.113549.1.1.13': ['sha512', 'rsa'],
  '1.2.840.10045.4.3.2': ['sha256', 'ec'],
  '1.2.840.10045.4.3.3': ['sha384', 'ec'],
  '1.2.840.10045.4.3.4': ['sha512', 'ec'],
  '1.3.101.112': [null, 'ed25519'],
  '1.3.101.113': [null, 'ed448'],
}

/** Whether `ca` signed the CRL (and may sign CRLs). @internal */
export const signedBy = (crl: ParsedCrl, ca: X509Certificate): boolean => {
  const alg = ALGORITHMS[crl.algorithm]
  if (alg === undefined || ca.publicKey.asymmetricKeyType !== alg[1]) return false
  const ku = derExtensions(ca.raw).keyUsage
  if (ku !== undefined && (ku & KU_CRL_SIGN) === 0) return false
  try {
    return verify(alg[0], crl.tbs, ca.publicKey, crl.signature)
    /* c8 ignore start: OpenSSL raises only on a signature it cannot decode at all; fail closed */
  } catch {
    return false
  }
  /* c8 ignore stop */
}

/** What the CRLs of one CA (one name and one key) say. @internal */
export interface CaRevocations {
  revoked: Set<string>
  nextUpdate: number
  name: string
}

/** Revocation by issuer: the union of the CRLs of each CA, by `caKey`. @internal */
export type Revocations = ReadonlyMap<string, CaRevocations>

const spkiHashes = new WeakMap<X509Certificate, string>()

/**
 * A CA as an issuer of CRLs: its subject name (hex of the DER, as
 * `derNames`) and the SHA-256 of its public key. Two CAs with one name and
 * different keys (a re-key) have different CRLs. @internal
 */
export const caKey = (ca: X509Certificate): string => {
  let spki = spkiHashes.get(ca)
  if (spki === undefined) {
    spki = createHash('sha256')
      .update(ca.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex')
    spkiHashes.set(ca, spki)
  }
  return `${derNames(ca.raw).subject}/${spki}`
}

const dateText = (ms: number) => new Date(ms).toISOString()

/**
 * Check and index CRLs (DER): each must be signed by one of `anchors`
 * (same subject name, signature verified with its key, cRLSign allowed),
 * indexed by that CA's name and key (`caKey`), and current
 * (thisUpdate not in the future, nextUpdate not past, with `skewMs`).
 * Throws with the reason. @internal
 */
export function compileCrls(
  ders: readonly Buffer[],
  anchors: readonly X509Certificate[],
  now: number,
  skewMs: number,
): Revocations {
  const map = new Map<string, CaRevocations>()
  ders.forEach((der, n) => {
    const what = `CRL ${n + 1}`
    let crl: ParsedCrl
    try {
      crl = parseCrl(der)
    } catch (err) {
      return fail(`${what} does not parse (${(err as Error).message})`)
    }
    const named = anchors.filter(a => derNames(a.raw).subject === crl.issuer)
    if (named.length === 0) fail(`${what} is not issued by a CA of the bundle (its issuer is no CA's subject)`)
    const signer = named.find(a => signedBy(crl, a))
    if (signer === undefined) {
      fail(
        `${what} is not signed by its CA ${oneLine(named[0]!.subject)} (bad signature, unsupported algorithm ${crl.algorithm}, or the CA may not sign CRLs)`,
      )
    }
    const name = oneLine(signer!.subject)
    if (crl.thisUpdate > now + skewMs) fail(`${what} (${name}) is not valid before ${dateText(crl.thisUpdate)}`)
    if (crl.nextUpdate < now - skewMs) fail(`${what} (${name}) expired at ${dateText(crl.nextUpdate)} (its nextUpdate)`)
    const key = caKey(signer!)
    const prev = map.get(key)
    // several CRLs of one CA: serials are unique per CA (RFC 5280 §4.1.2.2), so the union; fresh until the latest nextUpdate
    map.set(key, {
      name,
      revoked: new Set([...(prev?.revoked ?? []), ...crl.revoked]),
      nextUpdate: Math.max(prev?.nextUpdate ?? -Infinity, crl.nextUpdate),
    })
  })
  return map
}

const oneLine = (dn: string) => dn.replace(/\n/g, ', ')

/**
 * Revocation of a verified path (`path[0]` the leaf, the self-signed
 * anchor last, each certificate issued by the next): each certificate's
 * issuer (the anchor's is itself, as `openssl verify -crl_check_all`)
 * must have a CRL, signed with that issuer's key, that is not past its
 * nextUpdate (else `untrusted`: fail closed, as OpenSSL's
 * `CRL_HAS_EXPIRED` and `UNABLE_TO_GET_CRL`), and must not list it
 * (`revoked`). @internal
 */
export const checkRevocation = (
  path: readonly X509Certificate[],
  crls: Revocations,
  now: number,
  skewMs: number,
): ClientCertError | undefined => {
  for (const [i, cert] of path.entries()) {
    const issuer = path[i + 1] ?? cert
    const crl = crls.get(caKey(issuer))
    if (crl === undefined)
      return {
        reason: 'untrusted',
        detail: `no CRL of ${oneLine(cert.issuer)}, the issuer of ${oneLine(cert.subject)}`,
      }
    if (crl.nextUpdate < now - skewMs)
      return { reason: 'untrusted', detail: `the CRL of ${crl.name} expired at ${dateText(crl.nextUpdate)}` }
    if (crl.revoked.has(derNames(cert.raw).serial)) {
      return {
        reason: 'revoked',
        detail: `${oneLine(cert.subject)} (serial ${cert.serialNumber}) is listed in the CRL of ${crl.name}`,
      }
    }
  }
  return undefined
}

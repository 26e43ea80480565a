/**
 * Certificate material in options: how to show it without printing it,
 * and the CA bundles and CRLs (PEM) that verify forwarded certificates,
 * parsed at startup or by a watcher. @internal
 */
import { X509Certificate } from 'node:crypto'
import { show } from '../../core/errors.js'
import { compileCrls, type Revocations } from './crl.js'
import { invalidOption, isObject, parsed } from './validators.js'

/** The anchors and CRLs forwarded certificates are verified against now. @internal */
export interface ForwardedTrust {
  anchors: X509Certificate[]
  crls: Revocations | undefined
}

/** Where a watcher keeps its current `ForwardedTrust` (undefined before a first good load). @internal */
export const kForwardedTrust = Symbol.for('proxy-aware.forwardedTrust')

/**
 * Bytes, PEM, or text with a control or non-ASCII character (DER read as
 * text): what a path or a plain option value never is. @internal
 */
export const looksLikeMaterial = (value: unknown): boolean =>
  value instanceof Uint8Array ||
  (typeof value === 'string' && (value.includes('-----BEGIN') || /[^\x20-\x7e]/.test(value)))

/**
 * Show a value given for certificate or key material without showing
 * material: bytes, PEM and any text that is not a plain one-line value are
 * described, never printed; objects and arrays by their kind only (they
 * may hold PEM). @internal
 */
export const showMaterial = (value: unknown): string => {
  if (value instanceof Uint8Array) return `a Buffer of ${value.length} bytes (not shown)`
  if (looksLikeMaterial(value))
    return `a text of ${(value as string).length} characters that looks like PEM or DER (not shown)`
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object' && value !== null) return 'an object'
  return show(value)
}

/** PEM items of an option: a string, a Buffer or an array of them. */
const pemItems = (option: string, value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).map(item =>
    typeof item === 'string' || Buffer.isBuffer(item)
      ? item.toString()
      : invalidOption(option, `must be PEM (a string, a Buffer or an array of them), got ${showMaterial(item)}`),
  )

/**
 * The CA certificates of PEM texts; throws with the reason (no
 * certificate, one that does not parse, one that is not a CA). @internal
 */
export const parseCaBundle = (pems: readonly string[]): X509Certificate[] => {
  const out: X509Certificate[] = []
  for (const pem of pems) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    if (blocks.length === 0) throw new Error(`holds no PEM certificate: ${showMaterial(pem.slice(0, 40))}`)
    for (const block of blocks) {
      let cert: X509Certificate
      try {
        cert = new X509Certificate(block)
      } catch {
        throw new Error(`holds a certificate that does not parse (block ${out.length + 1})`)
      }
      if (!cert.ca) throw new Error(`holds a certificate that is not a CA: ${show(cert.subject)}`)
      out.push(cert)
    }
  }
  return out
}

/**
 * The CRLs of PEM texts (`X509 CRL` blocks), checked against the anchors
 * (`compileCrls`); throws with the reason. @internal
 */
export const parseCrlPems = (
  pems: readonly string[],
  anchors: readonly X509Certificate[],
  now: number,
  skewMs: number,
): Revocations => {
  const ders: Buffer[] = []
  for (const pem of pems) {
    const blocks = pem.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? []
    if (blocks.length === 0) throw new Error(`holds no PEM CRL (X509 CRL): ${showMaterial(pem.slice(0, 40))}`)
    for (const b of blocks) ders.push(Buffer.from(b.slice(24, -22).replace(/\s/g, ''), 'base64'))
  }
  return compileCrls(ders, anchors, now, skewMs)
}

/**
 * `ca` (PEM or a watcher) and `crl` as the current-trust getter; undefined
 * without anchors. @internal
 */
export const compileTrustMaterial = (
  ca: unknown,
  crl: unknown,
  skewMs: number,
): (() => ForwardedTrust | undefined) | undefined => {
  const o = 'clientCert.forwarded'
  const getter = isObject(ca) ? (ca as Record<symbol, unknown>)[kForwardedTrust] : undefined
  if (typeof getter === 'function') {
    if (crl !== undefined)
      invalidOption(`${o}.crl`, "comes from the watcher given as ca (watchForwardedCa's crl), not from this option")
    return getter as () => ForwardedTrust | undefined
  }
  const caPems = ca === undefined ? [] : pemItems(`${o}.ca`, ca)
  const anchors = parsed(`${o}.ca`, () => parseCaBundle(caPems))
  if (anchors.length === 0) {
    if (crl !== undefined) invalidOption(`${o}.crl`, 'needs ca: a CRL is checked against the CA that signed it')
    return undefined
  }
  const crlPems = crl === undefined ? [] : pemItems(`${o}.crl`, crl)
  const crls =
    crl === undefined ? undefined : parsed(`${o}.crl`, () => parseCrlPems(crlPems, anchors, Date.now(), skewMs))
  const trust: ForwardedTrust = { anchors, crls }
  return () => trust
}

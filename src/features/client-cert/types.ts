/**
 * The client-certificate types the feature's modules share, apart from
 * options.ts so that crl.ts, policy.ts and the rest (which options.ts
 * imports) can name them without a cycle.
 */
import type { X509Certificate } from 'node:crypto'
import type { SubjectAltNames } from './der.js'

/**
 * Why a request has no accepted client certificate. @public
 * - `missing`: no certificate was presented
 * - `expired` / `not_yet_valid`: outside its validity window (with the clock skew)
 * - `untrusted`: not issued by a configured CA, bad signature, no
 *   verification signal, or the server trusts public CAs
 * - `revoked`: listed in a CRL (reported by Node or the proxy)
 * - `wrong_purpose`: no `clientAuth` extended key usage, or the leaf is a CA
 * - `not_allowed`: verified, but not on the identity allow-list
 * - `malformed`: a forwarded certificate header that does not decode
 */
export type ClientCertFailure =
  'missing' | 'expired' | 'not_yet_valid' | 'untrusted' | 'revoked' | 'wrong_purpose' | 'not_allowed' | 'malformed'

/** A failure, as attached to the request and logged. @public */
export interface ClientCertError {
  reason: ClientCertFailure
  /** the low-level cause (Node's `authorizationError`, the proxy's verify value, ...) */
  detail: string
}

/** Where a forwarded client certificate comes from. @public */
export type ForwardedCertSource = 'rfc9440' | 'xfcc' | 'nginx' | 'haproxy' | 'aws-alb' | 'traefik'

/**
 * A verified client certificate, as attached to the request (frozen: one
 * object serves every request of a connection). @public
 */
export interface ClientCertificate {
  /** subject distinguished name, one `key=value` per line (Node's format) */
  subject: string
  /** issuer distinguished name, one `key=value` per line */
  issuer: string
  /** the subject's common names, decoded from the certificate */
  readonly commonNames: readonly string[]
  /** subject alternative names, decoded from the certificate (never split from a string) */
  san: SubjectAltNames
  /** serial number, upper-case hex */
  serialNumber: string
  validFrom: Date
  validTo: Date
  /** SHA-256 fingerprint, upper-case hex with colons */
  fingerprint256: string
  /** where it came from: the TLS socket or the named forwarded source */
  source: 'socket' | ForwardedCertSource
  /** the parsed certificate */
  x509: X509Certificate
}

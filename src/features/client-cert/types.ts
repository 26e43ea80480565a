/**
 * The client-certificate failure types, apart from options.ts so that
 * crl.ts (which options.ts imports) can name them without a cycle.
 */

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

/**
 * Secure defaults for a TLS server the app runs itself (`https`, `http2`,
 * Fastify `https:`), after Mozilla's server-side TLS "intermediate"
 * configuration. @private
 */
import { createHash } from 'node:crypto'
import type { SecureContextOptions, TlsOptions } from 'node:tls'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { showMaterial } from '../features/client-cert/material.js'

/**
 * Mozilla's "intermediate" configuration, guidelines version 6.0: file
 * `src/static/guidelines/6.0.json` of github.com/mozilla/ssl-config-generator
 * (commit 8debe30f), read 2026-11-29; the page is
 * https://wiki.mozilla.org/Security/Server_Side_TLS.
 *
 * - versions TLSv1.2 and TLSv1.3 (Node 20's default minimum is already 1.2);
 * - TLS 1.2 ciphers: ECDHE with AEAD only, in Mozilla's order. Node's
 *   `tls.DEFAULT_CIPHERS` also allows CBC-mode suites
 *   (`ECDHE-RSA-AES128-SHA256`, ...), finite-field DHE and `HIGH`, which
 *   Mozilla dropped; the TLS 1.3 suites are Node's own three (unchanged);
 * - `server_preferred_order: false`: every listed suite is strong, so the
 *   client picks (ChaCha20 on hardware without AES). Node's own default is
 *   `honorCipherOrder: true`;
 * - curves X25519, prime256v1, secp384r1 (Mozilla lists X25519MLKEM768
 *   first, which the OpenSSL 3.0 of Node 20 does not know; OpenSSL refuses a
 *   curve list with an unknown name, so it is left out).
 */
export const MOZILLA_INTERMEDIATE = Object.freeze({
  guidelines: '6.0',
  minVersion: 'TLSv1.2' as const,
  ciphers: [
    // TLS 1.3 (OpenSSL takes these names in the same list)
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    // TLS 1.2
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  ecdhCurve: 'X25519:prime256v1:secp384r1',
  honorCipherOrder: false,
})

/**
 * Client certificates at the TLS layer: `'none'` asks for none;
 * `'optional'` asks and lets the handshake finish whatever the client
 * sends (proxy-aware's `clientCert` then answers 403 with a logged
 * reason, or lets `mode: 'optional'` routes through); `'required'` makes
 * Node refuse the handshake without a valid certificate. @public
 */
export type ClientCertMode = 'none' | 'optional' | 'required'

type Pem = string | Buffer

/** The key material of a TLS server. @public */
export interface TlsMaterial {
  /** PEM private key */
  key: Pem
  /** PEM certificate, followed by its intermediates */
  cert: Pem
  /** PEM bundle of the CAs that issue client certificates */
  ca?: Pem | Pem[] | undefined
  /** PEM CRLs: one per CA of the client chains (OpenSSL checks every level) */
  crl?: Pem | Pem[] | undefined
}

/**
 * Options of `tlsOptions`: the material, the client-certificate mode, and
 * any other `tls` option, which wins over the defaults (except the ones
 * proxy-aware derives: `sessionIdContext`, `requestCert`,
 * `rejectUnauthorized`). @public
 */
export interface TlsOptionsInput
  extends
    TlsMaterial,
    Omit<TlsOptions, 'key' | 'cert' | 'ca' | 'crl' | 'sessionIdContext' | 'requestCert' | 'rejectUnauthorized'> {
  /** @default 'none' */
  clientCert?: ClientCertMode
}

/** What `tlsOptions` returns: pass it to `https.createServer`, `http2.createSecureServer` or Fastify's `https`. @public */
export type SecureServerOptions = TlsOptions & {
  key: Pem
  cert: Pem
  sessionIdContext: string
  requestCert: boolean
  rejectUnauthorized: boolean
}

const MODES: readonly ClientCertMode[] = ['none', 'optional', 'required']

const list = (v: Pem | Pem[] | undefined): Pem[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

/**
 * The `sessionIdContext` of a CA bundle and its CRLs: OpenSSL resumes a
 * session (session id or ticket) only in the context it was made in, so a
 * client certificate verified under one CA (or before a CRL listed it) is
 * never resumed under another. 32 hex characters, OpenSSL's maximum.
 * @private
 */
export const sessionIdContextOf = (ca: Pem | Pem[] | undefined, crl: Pem | Pem[] | undefined): string => {
  const h = createHash('sha256').update('proxy-aware sessionIdContext v1\0')
  for (const item of list(ca)) h.update(String(item).trim()).update('\0')
  h.update('\x01')
  for (const item of list(crl)) h.update(String(item).trim()).update('\0')
  return h.digest('hex').slice(0, 32)
}

/**
 * The secure-context part (what `server.setSecureContext` takes): defaults,
 * then the caller's options, then the material and the derived
 * `sessionIdContext`. @private
 */
export const contextOptions = (
  input: Omit<TlsOptionsInput, 'clientCert'>,
): SecureContextOptions & { sessionIdContext: string } => {
  const { key, cert, ca, crl, ...rest } = input
  const out: SecureContextOptions & { sessionIdContext: string } = {
    minVersion: MOZILLA_INTERMEDIATE.minVersion,
    ciphers: MOZILLA_INTERMEDIATE.ciphers,
    ecdhCurve: MOZILLA_INTERMEDIATE.ecdhCurve,
    honorCipherOrder: MOZILLA_INTERMEDIATE.honorCipherOrder,
    ...rest,
    key,
    cert,
    sessionIdContext: sessionIdContextOf(ca, crl),
  }
  if (ca !== undefined) out.ca = split(ca, 'CERTIFICATE')
  if (crl !== undefined) out.crl = split(crl, 'X509 CRL')
  return out
}

/**
 * One item per PEM block: Node reads a single CRL from each `crl` item (a
 * bundle of CRLs, as nginx's `ssl_crl` takes it, would apply its first
 * only). An item with one block or none (for Node to refuse) is kept. @private
 */
export const split = (v: Pem | Pem[], label: string): Pem | Pem[] => {
  const block = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g')
  const items = list(v)
  const out = items.flatMap(item => {
    const blocks = String(item).match(block)
    return blocks === null || blocks.length === 1 ? [item] : blocks
  })
  // nothing to split: as given
  return out.length === items.length ? v : out
}

/**
 * Every item of a material option is PEM text: a path (what `watchTls`
 * takes under the same names) or DER would fail later in Node
 * (`ERR_OSSL_PEM_NO_START_LINE`). Shown only when it cannot be material.
 */
const checkPem = (name: string, v: unknown): void => {
  if (v === undefined) return
  for (const item of list(v as Pem | Pem[])) {
    const pem = (typeof item === 'string' || Buffer.isBuffer(item)) && String(item).includes('-----BEGIN ')
    if (!pem)
      throw new ProxyAwareConfigError(
        name,
        `must be PEM (the file's contents, e.g. readFileSync(path), not its path), got ${showMaterial(item)}`,
      )
  }
}

/**
 * Server options with current recommended defaults (Mozilla
 * "intermediate", see `MOZILLA_INTERMEDIATE`), `sessionIdContext` derived
 * from the CA bundle and CRLs, and `requestCert` / `rejectUnauthorized`
 * set for the client-certificate mode. Throws `ProxyAwareConfigError` on
 * a missing key or certificate, an unknown mode, a mode that asks for
 * client certificates without `ca` (Node would trust every public CA), or
 * a `sessionIdContext`, `requestCert` or `rejectUnauthorized` of its own.
 *
 * @example
 * https.createServer(tlsOptions({ key, cert, ca, clientCert: 'optional' }), app)
 * @public
 */
export function tlsOptions(input: TlsOptionsInput): SecureServerOptions {
  if (typeof input !== 'object' || input === null)
    throw new ProxyAwareConfigError('tlsOptions', `must be an object, got ${showMaterial(input)}`)
  for (const own of ['sessionIdContext', 'requestCert', 'rejectUnauthorized']) {
    if (own in input) {
      throw new ProxyAwareConfigError(own, 'is derived by tlsOptions (from ca, crl and clientCert): leave it out')
    }
  }
  const { clientCert = 'none', ...rest } = input
  if (!MODES.includes(clientCert)) {
    throw new ProxyAwareConfigError('clientCert', `must be one of ${MODES.join(', ')}, got ${show(clientCert)}`)
  }
  for (const name of ['key', 'cert'] as const) {
    const v = rest[name] as unknown
    if ((typeof v !== 'string' && !Buffer.isBuffer(v)) || v.length === 0) {
      throw new ProxyAwareConfigError(
        name,
        `must be a PEM string or Buffer, got ${Buffer.isBuffer(v) ? 'an empty Buffer' : showMaterial(v)}`,
      )
    }
  }
  if (clientCert !== 'none' && list(rest.ca).every(c => c.length === 0)) {
    throw new ProxyAwareConfigError(
      'ca',
      `is required with clientCert: ${show(clientCert)}: without it Node accepts certificates from every public CA`,
    )
  }
  for (const name of ['key', 'cert', 'ca', 'crl'] as const) checkPem(name, rest[name])
  return {
    ...contextOptions(rest),
    requestCert: clientCert !== 'none',
    rejectUnauthorized: clientCert === 'required',
  } as SecureServerOptions
}

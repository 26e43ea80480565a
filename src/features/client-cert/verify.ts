/**
 * Certificate checks: the leaf checks we always do ourselves, chain
 * verification against a CA bundle (for forwarded certificates), and the
 * per-socket verification of mTLS the app terminates. @internal
 */
import { createHash, X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { checkRevocation, type Revocations } from './crl.js'
import { derExtensions, derFields, KU_DIGITAL_SIGNATURE } from './der.js'
import type { ClientCertError, ClientCertFailure, ClientCertificate, ForwardedCertSource } from './types.js'

/** A checked certificate with its validity as numbers. @internal */
interface Checked {
  cert: ClientCertificate
  from: number
  to: number
  /** keyUsage bits (`DerExtensions.keyUsage`) */
  keyUsage: number | undefined
  /** the earliest notAfter of the certificate and the CAs of its verified path (ms) */
  validUntil: number
}

/** The outcome of obtaining and verifying a certificate. @internal */
export type Evaluation = { ok: true; checked: Checked } | { ok: false; error: ClientCertError; status?: 400 | 431 }

export const failure = (reason: ClientCertFailure, detail: string, status?: 400 | 431): Evaluation =>
  status === undefined ? { ok: false, error: { reason, detail } } : { ok: false, error: { reason, detail }, status }

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

/** Describe a parsed certificate. @internal */
export const describe = (
  x509: X509Certificate,
  source: 'socket' | ForwardedCertSource,
  validUntil = Date.parse(x509.validTo),
): Checked => {
  const fields = derFields(x509.raw)
  const validFrom = new Date(x509.validFrom)
  const validTo = new Date(x509.validTo)
  const { dns, uri, email, ip } = fields.san
  return {
    // shared by the requests of a socket (and of a forwarded-cache entry): frozen
    cert: Object.freeze({
      subject: x509.subject,
      issuer: x509.issuer,
      commonNames: Object.freeze(fields.commonNames),
      san: Object.freeze({
        dns: Object.freeze(dns),
        uri: Object.freeze(uri),
        email: Object.freeze(email),
        ip: Object.freeze(ip),
      }),
      serialNumber: x509.serialNumber,
      validFrom,
      validTo,
      fingerprint256: x509.fingerprint256,
      source,
      x509,
    }),
    from: validFrom.getTime(),
    to: validTo.getTime(),
    keyUsage: derExtensions(x509.raw).keyUsage,
    validUntil,
  }
}

/** The validity window, with the allowed clock skew. @internal */
const checkTime = (
  c: { from: number; to: number },
  now: number,
  skewMs: number,
  what: string,
): ClientCertError | undefined => {
  if (now + skewMs < c.from)
    return { reason: 'not_yet_valid', detail: `${what} is not valid before ${new Date(c.from).toISOString()}` }
  if (now - skewMs > c.to) return { reason: 'expired', detail: `${what} expired at ${new Date(c.to).toISOString()}` }
  return undefined
}

/**
 * An extended key usage that does not allow `clientAuth` (absent allows
 * everything). anyExtendedKeyUsage alone is not enough, as for OpenSSL's
 * `sslclient` purpose (and so for Node's own TLS).
 */
const noClientAuth = (x509: X509Certificate): string | undefined => {
  const eku = x509.keyUsage as string[] | undefined
  return eku !== undefined && !eku.includes(CLIENT_AUTH) ? eku.join(', ') : undefined
}

/**
 * Leaf checks: validity window (and the path's, `validUntil`), not a CA, extended key usage `clientAuth`,
 * key usage (when present) `digitalSignature`. @internal
 */
export const checkLeaf = (c: Checked, now: number, skewMs: number): ClientCertError | undefined => {
  const time = checkTime(c, now, skewMs, 'the certificate')
  if (time !== undefined) return time
  // a CA of the path that expires while a connection (or a cached verdict) stays open
  if (now - skewMs > c.validUntil)
    return { reason: 'untrusted', detail: `a CA of its path expired at ${new Date(c.validUntil).toISOString()}` }
  const x509 = c.cert.x509
  if (x509.ca) return { reason: 'wrong_purpose', detail: 'the certificate is a CA certificate' }
  const eku = noClientAuth(x509)
  if (eku !== undefined) return { reason: 'wrong_purpose', detail: `extended key usage ${eku} has no clientAuth` }
  // a TLS client signs the handshake (OpenSSL also takes keyAgreement, for static DH that Node cannot negotiate)
  if (c.keyUsage !== undefined && (c.keyUsage & KU_DIGITAL_SIGNATURE) === 0) {
    return { reason: 'wrong_purpose', detail: 'key usage has no digitalSignature' }
  }
  return undefined
}

/**
 * Critical extensions the verifier understands: the ones it enforces, and
 * certificatePolicies, which cannot fail a path unless policyConstraints
 * or inhibitAnyPolicy (both always critical, so refused) ask for an
 * explicit policy (RFC 5280 §6.1). Name constraints are refused even when
 * not critical.
 */
const KNOWN_CRITICAL = new Set([
  '2.5.29.15', // keyUsage (the leaf's here, the CAs' keyCertSign by checkIssued)
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.32', // certificatePolicies
  '2.5.29.37', // extKeyUsage
])

/** Extensions of any certificate of the path that we cannot enforce fail closed. */
const checkExtensions = (x509: X509Certificate, what: string): ClientCertError | undefined => {
  const ext = derExtensions(x509.raw)
  if (ext.nameConstraints)
    return { reason: 'untrusted', detail: `${what} has name constraints, which are not enforced in the app` }
  const unknown = ext.critical.find(oid => !KNOWN_CRITICAL.has(oid))
  if (unknown !== undefined)
    return { reason: 'untrusted', detail: `${what} has an unsupported critical extension ${unknown}` }
  return undefined
}

/** Checks of a CA in the path (intermediate or anchor), `depth` intermediates above the leaf. */
const checkCa = (
  ca: X509Certificate,
  depth: number,
  now: number,
  skewMs: number,
  what: string,
): ClientCertError | undefined => {
  const time = checkTime({ from: Date.parse(ca.validFrom), to: Date.parse(ca.validTo) }, now, skewMs, what)
  if (time !== undefined) return { reason: 'untrusted', detail: time.detail }
  const len = derFields(ca.raw).pathLen
  if (len !== undefined && depth > len) return { reason: 'untrusted', detail: 'path length constraint exceeded' }
  // OpenSSL's sslclient purpose: a CA's extended key usage limits what it may issue
  const eku = noClientAuth(ca)
  if (eku !== undefined)
    return { reason: 'wrong_purpose', detail: `${what} has extended key usage ${eku}, without clientAuth` }
  return checkExtensions(ca, what)
}

const issuedBy = (child: X509Certificate, parent: X509Certificate): boolean => {
  if (!child.checkIssued(parent)) return false
  try {
    return child.verify(parent.publicKey)
    /* c8 ignore start: OpenSSL raises only for keys it cannot use at all; fail closed */
  } catch {
    return false
  }
  /* c8 ignore stop */
}

/**
 * A path of CAs from `cert` up to a self-signed certificate of `anchors`
 * (the first found), the issuers looked for among the anchors first, then
 * the pool; above a certificate of `anchors`, among the anchors only. Depth first, each certificate expanded once (`seen`), so a
 * crafted pool costs at most one issuer scan per certificate and the
 * depth is bounded by the number of certificates (the forwarded chain by
 * `maxChainLength`, a socket's by the handshake).
 */
const findPath = (
  cert: X509Certificate,
  pool: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  seen: Set<string>,
  above: readonly X509Certificate[],
): X509Certificate[] | undefined => {
  // once the path reaches a certificate of ca, its issuer must be in ca too
  // (as OpenSSL: a CA of ca is not vouched for by one the peer sent)
  const trusted = anchors.some(a => a.fingerprint256 === cert.fingerprint256)
  for (const issuer of trusted ? anchors : [...anchors, ...pool]) {
    if (seen.has(issuer.fingerprint256) || !issuedBy(cert, issuer)) continue
    seen.add(issuer.fingerprint256)
    const path = [...above, issuer]
    // a self-signed certificate ends a path: trusted only when it is in ca
    if (issuedBy(issuer, issuer)) {
      if (anchors.includes(issuer)) return path
      continue
    }
    const up = findPath(issuer, pool, anchors, seen, path)
    if (up !== undefined) return up
  }
  return undefined
}

const oneLine = (dn: string) => dn.replace(/\n/g, ', ')

/**
 * The checks of each CA of a path (`path[i]` has `i` CAs between it and
 * the leaf); a certificate of `ca` is named "the CA", one sent with the
 * leaf "the intermediate".
 */
const checkPath = (
  path: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now: number,
  skewMs: number,
): ClientCertError | undefined => {
  for (const [depth, ca] of path.entries()) {
    const what = `${anchors.includes(ca) ? 'the CA' : 'the intermediate'} ${oneLine(ca.subject)}`
    if (!ca.ca) return { reason: 'untrusted', detail: `${what}, an issuer in the chain, is not a CA` }
    const err = checkCa(ca, depth, now, skewMs, what)
    if (err !== undefined) return err
  }
  return undefined
}

/** The outcome of `verifyChain`. @internal */
export type ChainVerdict =
  | {
      ok: true
      /** the CAs above the leaf, its issuer first, the self-signed anchor of `ca` last */
      path: X509Certificate[]
      /** the earliest notAfter of the leaf and its path, ms since the epoch */
      validUntil: number
    }
  | { ok: false; error: ClientCertError }

/**
 * Build and verify a path from `leaf` through `pool` up to a self-signed
 * certificate of `anchors` (as OpenSSL without partial chains: a CA of
 * `ca` that is not self-signed does not end the path, its issuer must
 * be found too), then check every CA of it, the anchor included:
 * signatures, CA flags, validity, path lengths, the CAs' extended key
 * usage, no name constraints or unknown critical extensions anywhere
 * (Node has no chain verifier outside the TLS handshake), and with `crls`
 * the revocation of every certificate of the path, the anchor included,
 * as `openssl verify -crl_check_all`. The first path found is the only one
 * checked. @internal
 */
export const verifyChain = (
  leaf: X509Certificate,
  pool: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now: number,
  skewMs: number,
  crls?: Revocations,
): ChainVerdict => {
  const leafError = checkExtensions(leaf, 'the certificate')
  if (leafError !== undefined) return { ok: false, error: leafError }
  const path = findPath(leaf, pool, anchors, new Set([leaf.fingerprint256]), [])
  if (path === undefined) {
    const issued = [...anchors, ...pool].some(c => issuedBy(leaf, c))
    const detail = issued ? 'the chain does not reach a self-signed CA of ca' : 'not issued by a configured CA'
    return { ok: false, error: { reason: 'untrusted', detail } }
  }
  const error = checkPath(path, anchors, now, skewMs) ?? (crls && checkRevocation([leaf, ...path], crls, now, skewMs))
  if (error !== undefined) return { ok: false, error }
  const validUntil = Math.min(...[leaf, ...path].map(c => Date.parse(c.validTo)))
  return { ok: true, path, validUntil }
}

/** Node's `authorizationError` codes mapped to our reasons. */
const NODE_REASONS: Record<string, ClientCertFailure> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not_yet_valid',
  CERT_REVOKED: 'revoked',
  INVALID_PURPOSE: 'wrong_purpose',
}

/** The TLS socket view we need. @internal */
export type SocketLike = Partial<
  Pick<TLSSocket, 'authorized' | 'authorizationError' | 'getPeerX509Certificate' | 'getPeerCertificate'>
> & {
  server?: { requestCert?: boolean; ca?: unknown } | null
}

/** The PEM certificates of a CA option (string, Buffer or an array of them). @internal */
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/**
 * A TLS server's trust anchors, parsed from its `ca` (re-read when
 * `setSecureContext` replaces it), and the intermediates of the paths
 * verified on it, by fingerprint: a resumed session carries the leaf
 * only. Only certificates that a verified path used are kept (issued
 * under the server's ca), so the map cannot grow beyond that PKI.
 */
interface ServerTrust {
  ca: unknown
  anchors: X509Certificate[]
  intermediates: Map<string, X509Certificate>
}
const serverTrust = new WeakMap<object, ServerTrust>()

const parseCa = (ca: unknown): X509Certificate[] => {
  const out: X509Certificate[] = []
  for (const item of Array.isArray(ca) ? ca : [ca]) {
    if (typeof item !== 'string' && !Buffer.isBuffer(item)) continue
    for (const block of item.toString().match(PEM_CERTIFICATE) ?? []) {
      try {
        out.push(new X509Certificate(block))
      } catch {
        // Node refuses such a ca at startup; an anchor less only refuses more
      }
    }
  }
  return out
}

const trustOf = (server: object & { ca?: unknown }): ServerTrust => {
  let trust = serverTrust.get(server)
  if (trust === undefined || trust.ca !== server.ca) {
    trust = { ca: server.ca, anchors: parseCa(server.ca), intermediates: trust?.intermediates ?? new Map() }
    serverTrust.set(server, trust)
  }
  return trust
}

/** The certificates above the leaf that Node reports for the peer (read before getPeerX509Certificate). @internal */
export const peerChain = (socket: SocketLike): X509Certificate[] => {
  const out: X509Certificate[] = []
  let c = socket.getPeerCertificate?.(true)?.issuerCertificate
  const seen = new Set<object>()
  while (c?.raw !== undefined && !seen.has(c)) {
    seen.add(c)
    out.push(new X509Certificate(c.raw))
    c = c.issuerCertificate
  }
  return out
}

/**
 * Verify the client certificate of a TLS socket. Node's verdict
 * (`authorized`) comes from the secure context that handled the
 * handshake, and an SNI context (`addContext`, `SNICallback`) may trust
 * other CAs than the server's `ca` (none given: Node's roots and
 * NODE_EXTRA_CA_CERTS): the chain is verified again against the server's
 * `ca`, whichever context was used. Node reports `authorized === true`
 * with no certificate on a TLS 1.3 session resumed by a client that never
 * sent one (nodejs/node#35317): no certificate is always `missing`,
 * whatever `authorized` says. @internal
 */
export const verifySocket = (socket: SocketLike | null | undefined, now: number, skewMs: number): Evaluation => {
  if (socket == null || typeof socket.getPeerX509Certificate !== 'function') {
    return failure('missing', 'not a TLS connection')
  }
  const server = socket.server
  if (server != null && server.requestCert === true && server.ca == null) {
    // Node would accept any publicly issued certificate
    return failure('untrusted', 'the server has requestCert without ca (it would trust every public CA)')
  }
  // first: after getPeerX509Certificate, Node 20 reports no issuer chain
  const chain = peerChain(socket)
  const x509 = socket.getPeerX509Certificate()
  if (x509 === undefined) return failure('missing', 'no client certificate on the connection')
  if (socket.authorized !== true) {
    const code = String(socket.authorizationError)
    return failure(NODE_REASONS[code] ?? 'untrusted', code)
  }
  if (server == null)
    return failure('untrusted', 'the TLS socket has no server, so no ca to verify the certificate against')
  const trust = trustOf(server)
  const verdict = verifyChain(x509, [...chain, ...trust.intermediates.values()], trust.anchors, now, skewMs)
  if (!verdict.ok) return verdict
  for (const ca of verdict.path) if (!trust.anchors.includes(ca)) trust.intermediates.set(ca.fingerprint256, ca)
  return { ok: true, checked: describe(x509, 'socket', verdict.validUntil) }
}

/** SHA-256 of bytes, lower-case hex. @internal */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/**
 * The request's TLS connection. An HTTP/2 compatibility request's `socket`
 * is a new proxy per stream; its session's stands for the connection.
 * The key of the per-connection verdicts of clientCert and trustCertificate. @internal
 */
export const connectionOf = (req: object): unknown => {
  const r = req as { socket?: unknown; stream?: { session?: { socket?: unknown } | null } }
  return r.stream?.session?.socket ?? r.socket
}

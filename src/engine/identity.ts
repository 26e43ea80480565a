/**
 * The `trustCertificate` option: a socket peer is a trusted proxy when the
 * TLS client certificate it presented was verified by the server and
 * matches an allow-list, whatever its address.
 */
import type { X509Certificate } from 'node:crypto'
import { checkOptionNames, ProxyAwareConfigError, show } from '../core/errors.js'
import { checkTlsRuntime } from '../core/runtime.js'
import { normalizeFingerprint } from '../features/client-cert/policy.js'
import { closeConnection, connectionVerdict, revokedNow, type Stamped } from '../features/client-cert/connection.js'
import { checkLeaf, connectionOf, type SocketLike, verifySocket } from '../features/client-cert/verify.js'

/**
 * Certificate identities of the proxies whose forwarded headers are
 * believed (any listed value admits). @public
 */
export interface TrustCertificateOptions {
  /**
   * SPIFFE IDs (`spiffe://trust-domain/path`): the certificate's only URI
   * SAN must be one of them (an X.509-SVID has exactly one)
   */
  uri?: readonly string[]
  /** DNS names (exact, case-insensitive, no wildcards), matched against the DNS SANs */
  dns?: readonly string[]
  /** SHA-256 fingerprints of the certificate, hex with or without colons, any case */
  fingerprint256?: readonly string[]
}

/**
 * The compiled option: the allow-list entry that the verified certificate
 * of the request's connection matches (`uri:...`, `dns:...`,
 * `fingerprint256:...`), or undefined. @internal
 */
export type PeerIdentity = (req: object) => string | undefined

/**
 * Why `id` is not a SPIFFE ID, or undefined. SPIFFE-ID.md §2.1-2.2
 * (github.com/spiffe/spiffe, standards/, read 2026-11-29): trust domain
 * lowercase `[a-z0-9._-]`, no userinfo or port; path segments
 * `[a-zA-Z0-9._-]`, not empty, `.` or `..`, no trailing `/`, no
 * percent-encoding, no query or fragment; X509-SVID.md §2: a leaf's ID has
 * a path. At most 2048 bytes (§2.3).
 */
const spiffeProblem = (id: string): string | undefined => {
  if (!id.startsWith('spiffe://')) return 'a SPIFFE ID starts with spiffe://'
  if (id.length > 2048) return 'longer than 2048 bytes'
  const slash = id.indexOf('/', 9)
  const domain = slash < 0 ? id.slice(9) : id.slice(9, slash)
  if (!/^[a-z0-9._-]{1,255}$/.test(domain))
    return 'the trust domain must be 1-255 characters of a-z, 0-9, ".", "-", "_"'
  if (slash < 0) return "a proxy's SPIFFE ID has a path (spiffe://trust-domain/path)"
  for (const segment of id.slice(slash + 1).split('/')) {
    if (!/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..') {
      return 'path segments are characters of A-Z, a-z, 0-9, ".", "-", "_", neither empty nor "." or ".."'
    }
  }
  return undefined
}

/** Why `name` is not an exact DNS name (letters, digits, hyphens), or undefined. */
const dnsProblem = (name: string): string | undefined => {
  if (name.includes('*')) return 'wildcards are not supported: list exact names'
  if (name.length > 253 || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name))
    return 'not a DNS name (labels of letters, digits and inner hyphens, no trailing dot)'
  return undefined
}

/** A list of strings, each normalised or refused with the reason. */
const entries = (
  option: string,
  value: unknown,
  check: (s: string) => string | undefined,
  normalize: (s: string) => string,
): Set<string> | undefined => {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw new ProxyAwareConfigError(option, `must be an array of strings, got ${show(value)}`)
  const out = new Set<string>()
  // Array.from visits holes too
  for (const entry of Array.from(value as unknown[])) {
    if (typeof entry !== 'string')
      throw new ProxyAwareConfigError(option, `has an entry that is not a string: ${show(entry)}`)
    const problem = check(entry)
    if (problem !== undefined)
      throw new ProxyAwareConfigError(option, `has an invalid entry ${show(entry)}: ${problem}`)
    out.add(normalize(entry))
  }
  return out
}

const same = (s: string) => s

/**
 * Compile `trustCertificate`; undefined when it is not set. Throws
 * `ProxyAwareConfigError` naming the option and the value. @internal
 */
export function compileTrustCertificate(value: unknown): PeerIdentity | undefined {
  if (value === undefined) return undefined
  const o = 'trustCertificate'
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProxyAwareConfigError(o, `must be an object of uri, dns and fingerprint256 lists, got ${show(value)}`)
  }
  const v = value as Record<string, unknown>
  checkOptionNames(v, ['uri', 'dns', 'fingerprint256'], o)
  const uri = entries(`${o}.uri`, v.uri, spiffeProblem, same)
  const dns = entries(`${o}.dns`, v.dns, dnsProblem, s => s.toLowerCase())
  const fp = entries(
    `${o}.fingerprint256`,
    v.fingerprint256,
    s => (normalizeFingerprint(s) === undefined ? 'not a SHA-256 fingerprint (64 hex digits)' : undefined),
    s => normalizeFingerprint(s)!,
  )
  // the core, Express and Fastify alike: a runtime whose TLS server cannot
  // be verified against refuses at startup, naming it (never trusts nothing silently)
  checkTlsRuntime(o)
  if ((uri?.size ?? 0) + (dns?.size ?? 0) + (fp?.size ?? 0) === 0) {
    throw new ProxyAwareConfigError(o, `lists no identity: every peer would be refused, got ${show(value)}`)
  }

  // The entry the verified certificate matched and its validity, per
  // connection: its certificate never changes, its address may be shared;
  // made again when the server's CA or CRLs are reloaded.
  type Verdict = { label: string; from: number; to: number } | null
  const verdicts = new WeakMap<object, Stamped<Verdict>>()
  const match = (socket: SocketLike, recheck: boolean, chain: X509Certificate[]): Verdict => {
    const now = Date.now()
    const result = verifySocket(socket, now, 0)
    if (!result.ok || checkLeaf(result.checked, now, 0) !== undefined) return null
    if (recheck && revokedNow(socket, chain, now, 0) !== undefined) return null
    const cert = result.checked.cert
    let label: string | undefined
    // an X.509-SVID has exactly one URI SAN; validators reject more (X509-SVID.md §2)
    if (uri !== undefined && cert.san.uri.length === 1 && uri.has(cert.san.uri[0]!)) label = `uri:${cert.san.uri[0]}`
    else if (dns !== undefined) {
      const name = cert.san.dns.find(d => dns.has(d.toLowerCase()))
      if (name !== undefined) label = `dns:${name.toLowerCase()}`
    }
    if (label === undefined && fp?.has(cert.fingerprint256)) label = `fingerprint256:${cert.fingerprint256}`
    return label === undefined ? null : { label, from: result.checked.from, to: result.checked.validUntil }
  }
  return req => {
    const socket = connectionOf(req)
    // a plain HTTP socket has no certificate to prove anything with
    if (socket == null || (socket as { encrypted?: unknown }).encrypted !== true) return undefined
    const { value: verdict, before } = connectionVerdict(verdicts, socket, (recheck, chain) =>
      match(socket as SocketLike, recheck, chain),
    )
    if (verdict === null) {
      // trusted under the old material, not under the new: as a new connection would be, and closed
      if (before != null) closeConnection(req, socket)
      return undefined
    }
    // a keep-alive connection can outlive its certificate
    const now = Date.now()
    return now < verdict.from || now > verdict.to ? undefined : verdict.label
  }
}

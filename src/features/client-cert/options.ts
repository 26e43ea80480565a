/**
 * The `clientCert` option: public types and their validation at startup.
 * @internal
 */
import { X509Certificate } from 'node:crypto'
import { checkOptionNames, ProxyAwareConfigError, show } from '../../core/errors.js'
import { integerIn } from '../../core/options.js'
import { checkX509Runtime } from '../../core/runtime.js'
import { BARE, parseAddress } from '../../parse/ip.js'
import type { SubjectAltNames } from './der.js'
import { compileCrls, type Revocations } from './crl.js'
import type { PresetContext } from '../../vendors/index.js'
import { compileTrust } from '../../engine/trust.js'

export type { ClientCertError, ClientCertFailure } from './types.js'

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

/**
 * Identity allow-list: a certificate is allowed when any listed value
 * matches (OR across lists). Or a predicate. @public
 */
export type ClientCertAllow =
  | {
      /** SHA-256 fingerprints, hex with or without colons, any case */
      fingerprint256?: readonly string[]
      /** exact SAN URIs, e.g. SPIFFE IDs `spiffe://example.org/ns/prod/sa/web` */
      uri?: readonly string[]
      /** exact SAN DNS names (case-insensitive) */
      dns?: readonly string[]
      /** exact SAN e-mail addresses (case-insensitive) */
      email?: readonly string[]
      /** exact subject common names */
      commonName?: readonly string[]
    }
  | ((cert: ClientCertificate) => boolean)

/** The part of the policy a route may override. @public */
export interface ClientCertRoutePolicy {
  /** `required`: refuse requests without an accepted certificate; `optional`: let them through without one */
  mode?: 'required' | 'optional'
  /** identity allow-list */
  allow?: ClientCertAllow
  /** status of the refusal @default 403 */
  status?: number
}

/** A certificate forwarded by the trusted proxy that terminated mTLS. @public */
export interface ForwardedClientCertOptions {
  /** which proxy convention to read; no auto-detection */
  source: ForwardedCertSource
  /**
   * `aws-alb` only, and required there: the load balancer's mutual
   * authentication mode. `verify`: it verified the certificate against its
   * trust store and sends `X-Amzn-Mtls-Clientcert-Leaf`. `passthrough`: it
   * sends the unverified chain in `X-Amzn-Mtls-Clientcert`; `ca` is
   * required. The other mode's header is refused (400).
   */
  mode?: 'verify' | 'passthrough'
  /**
   * PEM bundle of trust anchors: verify the forwarded certificate (and
   * the forwarded chain) in the app. Required unless the source carries
   * a verification signal (`nginx`, `haproxy`, `aws-alb` verify mode,
   * `verifyHeader`) or `proxyVerifies` is set; always required in `aws-alb`
   * passthrough mode. Or what `watchForwardedCa` (`proxy-aware/tls`)
   * returns: the bundle and CRLs read from files, reloaded when they change.
   */
  ca?: string | Buffer | readonly (string | Buffer)[] | ForwardedCaSource
  /**
   * PEM CRLs (`X509 CRL` blocks) of the CAs in `ca`, each signed by one of
   * them: a listed certificate is refused (`revoked`). With CRLs, every
   * certificate of the path needs its issuer's CRL (else `untrusted`),
   * and a CRL past its nextUpdate refuses its CA's certificates. Requires
   * `ca` as PEM (a `watchForwardedCa` watcher reads its own `crl` file).
   */
  crl?: string | Buffer | readonly (string | Buffer)[]
  /**
   * Header carrying the certificate, for `nginx` and `haproxy` (which you
   * configure yourself). @default 'x-ssl-client-cert'
   */
  certHeader?: string
  /**
   * Header carrying the proxy's verification result for the same hop.
   * `nginx`/`haproxy` default to `x-ssl-client-verify` (nginx
   * `$ssl_client_verify`: `SUCCESS`; HAProxy `ssl_c_verify`: `0`). For
   * other sources, set it with `verifyValue` (e.g. GCP
   * `{client_cert_chain_verified}`: `true`).
   */
  verifyHeader?: string
  /** the value of `verifyHeader` meaning "verified" (sources other than nginx/haproxy) */
  verifyValue?: string
  /**
   * Declare that the proxy refuses connections whose certificate fails its
   * verification (Envoy `require_client_certificate` with a validation
   * context, Traefik `RequireAndVerifyClientCert`), so a forwarded
   * certificate is a verified one. @default false
   */
  proxyVerifies?: boolean
  /** largest accepted certificate header, in bytes (431 above) @default 16384 */
  maxHeaderBytes?: number
  /** most certificates in a forwarded chain @default 8 */
  maxChainLength?: number
}

/**
 * Trust material that changes at run time: what `watchForwardedCa`
 * (`proxy-aware/tls`) returns. @public
 */
export interface ForwardedCaSource {
  /** the first load */
  readonly ready: Promise<unknown>
}

/** The anchors and CRLs forwarded certificates are verified against now. @internal */
export interface ForwardedTrust {
  anchors: X509Certificate[]
  crls: Revocations | undefined
}

/** Where a watcher keeps its current `ForwardedTrust` (undefined before a first good load). @internal */
export const kForwardedTrust = Symbol.for('proxy-aware.forwardedTrust')

/** `clientCert.clockSkew`'s default, in ms. @internal */
export const DEFAULT_SKEW_MS = 60_000

/** The `clientCert` policy. @public */
export interface ClientCertPolicy extends ClientCertRoutePolicy {
  /** read the certificate from a trusted proxy's headers instead of the TLS socket */
  forwarded?: ForwardedClientCertOptions
  /** allowance, in seconds, when checking validity dates @default 60 */
  clockSkew?: number
}

/** The `clientCert` option of the core and both adapters. @public */
export interface ClientCertOptions {
  /**
   * Require (or accept) a client certificate: verified on the app's own
   * TLS socket (`requestCert`), or forwarded by a trusted proxy.
   */
  clientCert?: ClientCertPolicy
}

/** Normalised forwarded options. @internal */
export interface ForwardedConfig {
  source: ForwardedCertSource
  /** `aws-alb`'s mode, undefined for other sources */
  albMode: 'verify' | 'passthrough' | undefined
  /** the current anchors and CRLs (undefined: a watcher that has not loaded yet); no `ca`: undefined */
  trust: (() => ForwardedTrust | undefined) | undefined
  certHeader: string
  verifyHeader: string | undefined
  verifyValue: string | undefined
  proxyVerifies: boolean
  maxHeaderBytes: number
  maxChainLength: number
  /** every header of this source (stripped from untrusted peers) */
  headers: string[]
}

/** Normalised route-level policy. @internal */
export interface RouteConfig {
  required: boolean
  allow: ((cert: ClientCertificate) => boolean) | undefined
  status: number
}

/** Normalised policy. @internal */
export interface ClientCertConfig extends RouteConfig {
  forwarded: ForwardedConfig | undefined
  clockSkewMs: number
}

const SOURCES: readonly ForwardedCertSource[] = ['rfc9440', 'xfcc', 'nginx', 'haproxy', 'aws-alb', 'traefik']

const invalidOption = (option: string, message: string): never => {
  throw new ProxyAwareConfigError(option, message)
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** A header name: lower-cased token characters. */
const headerName = (option: string, value: unknown, fallback: string | undefined): string | undefined => {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(value)) {
    invalidOption(option, `must be a header name, got ${show(value)}`)
  }
  return (value as string).toLowerCase()
}

const stringList = (option: string, value: unknown, map: (s: string) => string | undefined): Set<string> => {
  if (!Array.isArray(value) || value.some(v => typeof v !== 'string' || map(v) === undefined)) {
    invalidOption(option, `must be an array of strings, got ${show(value)}`)
  }
  return new Set((value as string[]).map(v => map(v)!))
}

/** `AB:CD:...` from any spelling of a SHA-256 fingerprint. @internal */
export const normalizeFingerprint = (s: string): string | undefined => {
  const hex = s.replace(/:/g, '').toUpperCase()
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined
  return hex.match(/../g)!.join(':')
}

const compileAllow = (option: string, allow: unknown): RouteConfig['allow'] => {
  if (typeof allow === 'function') return allow as (cert: ClientCertificate) => boolean
  if (!isObject(allow)) return invalidOption(option, `must be an object of lists or a function, got ${show(allow)}`)
  checkOptionNames(allow, ['fingerprint256', 'uri', 'dns', 'email', 'commonName'], option)
  const lower = (s: string) => s.toLowerCase()
  const same = (s: string) => s
  const fp =
    allow.fingerprint256 === undefined
      ? undefined
      : stringList(`${option}.fingerprint256`, allow.fingerprint256, normalizeFingerprint)
  const uri = allow.uri === undefined ? undefined : stringList(`${option}.uri`, allow.uri, same)
  const dns = allow.dns === undefined ? undefined : stringList(`${option}.dns`, allow.dns, lower)
  const email = allow.email === undefined ? undefined : stringList(`${option}.email`, allow.email, lower)
  const cn = allow.commonName === undefined ? undefined : stringList(`${option}.commonName`, allow.commonName, same)
  if (fp === undefined && uri === undefined && dns === undefined && email === undefined && cn === undefined) {
    invalidOption(option, 'lists nothing: every certificate would be refused')
  }
  return cert =>
    (fp?.has(cert.fingerprint256) ?? false) ||
    (uri !== undefined && cert.san.uri.some(u => uri.has(u))) ||
    (dns !== undefined && cert.san.dns.some(d => dns.has(d.toLowerCase()))) ||
    (email !== undefined && cert.san.email.some(e => email.has(e.toLowerCase()))) ||
    (cn !== undefined && cert.commonNames.some(c => cn.has(c)))
}

/** Validate the route-overridable part. @internal */
export const compileRoutePolicy = (
  option: string,
  value: Record<string, unknown>,
  base: RouteConfig | undefined,
  extra: readonly string[] = [],
): RouteConfig => {
  checkOptionNames(value, ['mode', 'allow', 'status', ...extra], option)
  const mode = value.mode
  if (mode !== undefined && mode !== 'required' && mode !== 'optional') {
    invalidOption(`${option}.mode`, `must be 'required' or 'optional', got ${show(mode)}`)
  }
  const status = value.status
  if (status !== undefined && (!Number.isInteger(status) || (status as number) < 400 || (status as number) > 499)) {
    invalidOption(`${option}.status`, `must be a 4xx status code, got ${show(status)}`)
  }
  return {
    required: mode === undefined ? (base?.required ?? true) : mode === 'required',
    allow: value.allow === undefined ? base?.allow : compileAllow(`${option}.allow`, value.allow),
    status: (status as number | undefined) ?? base?.status ?? 403,
  }
}

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

/** Run a parser of option values, as a startup error of `option`. */
const parsed = <T>(option: string, parse: () => T): T => {
  try {
    return parse()
  } catch (err) {
    return invalidOption(option, (err as Error).message)
  }
}

/** `ca` (PEM or a watcher) and `crl` as the current-trust getter; undefined without anchors. */
const compileTrustMaterial = (ca: unknown, crl: unknown, skewMs: number): ForwardedConfig['trust'] => {
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

const SOURCE_HEADERS: Record<ForwardedCertSource, readonly string[]> = {
  'rfc9440': ['client-cert', 'client-cert-chain'],
  'xfcc': ['x-forwarded-client-cert'],
  'nginx': [],
  'haproxy': [],
  'aws-alb': [
    'x-amzn-mtls-clientcert',
    'x-amzn-mtls-clientcert-leaf',
    'x-amzn-mtls-clientcert-serial-number',
    'x-amzn-mtls-clientcert-issuer',
    'x-amzn-mtls-clientcert-subject',
    'x-amzn-mtls-clientcert-validity',
  ],
  'traefik': ['x-forwarded-tls-client-cert', 'x-forwarded-tls-client-cert-info'],
}

/**
 * Standard request headers (and prefixes): never a certificate or verify
 * header, since the source's headers are deleted from untrusted peers'
 * requests and listed in Vary.
 */
const STANDARD_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'transfer-encoding',
  'expect',
  'date',
  'via',
  'cookie',
  'authorization',
  'user-agent',
  'origin',
  'referer',
  'range',
  'cache-control',
  'pragma',
  'vary',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
])
const STANDARD_PREFIXES = ['accept', 'content-', 'if-', 'proxy-', 'sec-']

/** A configured header name must be the source's own, used once. */
const ownHeader = (option: string, name: string, taken: readonly string[]): void => {
  if (STANDARD_HEADERS.has(name) || STANDARD_PREFIXES.some(p => name.startsWith(p))) {
    invalidOption(
      option,
      `must not be a standard header, got ${show(name)}: the certificate headers are deleted from untrusted peers' requests and listed in Vary; use a header of its own (e.g. x-ssl-client-cert)`,
    )
  }
  if (taken.includes(name))
    invalidOption(option, `names a header already read for this source (${taken.join(', ')}), got ${show(name)}`)
}

/** A whole number from 1 to `max`, `fallback` when undefined. */
const positive = (option: string, value: unknown, fallback: number, max: number): number =>
  value === undefined ? fallback : integerIn(option, value, 1, max)

const compileForwarded = (value: unknown, skewMs: number): ForwardedConfig => {
  const o = 'clientCert.forwarded'
  if (!isObject(value)) return invalidOption(o, `must be an object with a source, got ${show(value)}`)
  checkX509Runtime(o)
  checkOptionNames(
    value,
    [
      'source',
      'mode',
      'ca',
      'crl',
      'certHeader',
      'verifyHeader',
      'verifyValue',
      'proxyVerifies',
      'maxHeaderBytes',
      'maxChainLength',
    ],
    o,
  )
  const source = value.source as ForwardedCertSource
  if (!SOURCES.includes(source))
    invalidOption(`${o}.source`, `must be one of ${SOURCES.join(', ')}, got ${show(source)}`)
  const alb = source === 'aws-alb'
  const albMode = value.mode
  if (!alb && albMode !== undefined)
    invalidOption(`${o}.mode`, `applies to the aws-alb source only, got ${show(albMode)}`)
  if (alb && albMode !== 'verify' && albMode !== 'passthrough') {
    invalidOption(
      `${o}.mode`,
      `is required for aws-alb: 'verify' (the load balancer verifies against its trust store and sends X-Amzn-Mtls-Clientcert-Leaf) or 'passthrough' (it sends the unverified chain in X-Amzn-Mtls-Clientcert; needs ca), got ${show(albMode)}`,
    )
  }
  const own = source === 'nginx' || source === 'haproxy'
  if (!own && value.certHeader !== undefined) {
    invalidOption(`${o}.certHeader`, `applies to the nginx and haproxy sources only (${source} has fixed header names)`)
  }
  const certHeader = headerName(`${o}.certHeader`, value.certHeader, own ? 'x-ssl-client-cert' : '')!
  const verifyHeader = headerName(`${o}.verifyHeader`, value.verifyHeader, own ? 'x-ssl-client-verify' : undefined)
  const verifyValue = value.verifyValue
  if (own && verifyValue !== undefined) {
    invalidOption(`${o}.verifyValue`, `is fixed for ${source} (${source === 'nginx' ? 'SUCCESS' : '0'})`)
  }
  if (!own && (verifyValue === undefined) !== (value.verifyHeader === undefined)) {
    invalidOption(
      `${o}.verifyValue`,
      `and verifyHeader go together, got ${show(verifyValue)} and ${show(value.verifyHeader)}`,
    )
  }
  if (verifyValue !== undefined && (typeof verifyValue !== 'string' || verifyValue === '')) {
    invalidOption(`${o}.verifyValue`, `must be a non-empty string, got ${show(verifyValue)}`)
  }
  const proxyVerifies = value.proxyVerifies ?? false
  if (typeof proxyVerifies !== 'boolean')
    invalidOption(`${o}.proxyVerifies`, `must be a boolean, got ${show(proxyVerifies)}`)
  const trust = compileTrustMaterial(value.ca, value.crl, skewMs)
  if (albMode === 'passthrough' && trust === undefined) {
    invalidOption(
      `${o}.ca`,
      'is required in aws-alb passthrough mode: the load balancer forwards the chain without verifying it',
    )
  }
  // aws-alb verify mode: the load balancer refuses certificates its trust store does not verify
  if (verifyHeader === undefined && !proxyVerifies && trust === undefined && !alb) {
    invalidOption(
      `${o}.ca`,
      `is required: the ${source} source carries no verification signal, so set ca (verify in the app), verifyHeader/verifyValue, or proxyVerifies: true if the proxy refuses unverified certificates`,
    )
  }
  const headers = [...SOURCE_HEADERS[source]]
  if (own) {
    ownHeader(`${o}.certHeader`, certHeader, headers)
    headers.push(certHeader)
  }
  if (verifyHeader !== undefined) {
    ownHeader(`${o}.verifyHeader`, verifyHeader, headers)
    headers.push(verifyHeader)
  }
  return {
    source,
    albMode: albMode as ForwardedConfig['albMode'],
    trust,
    certHeader,
    verifyHeader,
    verifyValue: verifyValue as string | undefined,
    proxyVerifies: proxyVerifies as boolean,
    maxHeaderBytes: positive(`${o}.maxHeaderBytes`, value.maxHeaderBytes, 16384, 1 << 20),
    maxChainLength: positive(`${o}.maxChainLength`, value.maxChainLength, 8, 32),
    headers,
  }
}

/**
 * Addresses that are never a proxy of the user's: one of each
 * documentation range, RFC 5737 (192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24) and RFC 3849 (2001:db8::/32), checked 2026-11-29.
 */
const NEVER_A_PROXY = ['192.0.2.1', '198.51.100.1', '203.0.113.1', '2001:db8::1']

/**
 * With forwarded certificates, a `trust` (function or list) that believes
 * a documentation address would believe an arbitrary peer: every client
 * could send its own certificate header. Probed at hops 0 and 1.
 */
const checkTrustProbe = (trust: unknown, ctx: PresetContext): void => {
  const { match } = compileTrust(trust, ctx)
  for (const address of NEVER_A_PROXY) {
    for (const hop of [0, 1]) {
      // parseAddress fills the scratch record the matcher reads
      if (match(parseAddress(address, 0, address.length, BARE), hop, address)) {
        invalidOption(
          'trust',
          `trusts ${address} (hop ${hop}), a documentation address (RFC 5737 / RFC 3849) that is never your proxy: with clientCert.forwarded, every client could send its own certificate header. List your proxies' addresses, or make the function return true only for them, got ${show(trust)}`,
        )
      }
    }
  }
}

/**
 * Validate the `clientCert` option; undefined when it is not set. `trust`
 * is the engine's (already validated) `trust` option: a forwarded
 * certificate is believed only from a peer that `trust` checks. @internal
 */
export function compileClientCert(
  value: unknown,
  trust?: unknown,
  ctx: PresetContext = {},
): ClientCertConfig | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) return invalidOption('clientCert', `must be an object, got ${show(value)}`)
  // a number here is a hop count >= 1 (compileTrust refuses 0)
  if (value.forwarded !== undefined && (trust === true || typeof trust === 'number')) {
    invalidOption(
      'clientCert.forwarded',
      `needs trust to list the proxy's addresses, got trust: ${show(trust)}, which believes any peer: every client could send its own certificate header`,
    )
  }
  if (value.forwarded !== undefined) checkTrustProbe(trust, ctx)
  const route = compileRoutePolicy('clientCert', value, undefined, ['forwarded', 'clockSkew'])
  const skew = value.clockSkew ?? DEFAULT_SKEW_MS / 1000
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0 || skew > 86400) {
    invalidOption('clientCert.clockSkew', `must be a number of seconds from 0 to 86400, got ${show(skew)}`)
  }
  return {
    ...route,
    forwarded: value.forwarded === undefined ? undefined : compileForwarded(value.forwarded, (skew as number) * 1000),
    clockSkewMs: (skew as number) * 1000,
  }
}

/**
 * Certificates forwarded by a trusted proxy: strict decoders for each
 * source's headers, and the same hop's verification signal. Read only
 * when the immediate peer is trusted. @internal
 */
import { BACKSLASH, COLON, COMMA, EQUALS, QUOTE, SEMICOLON } from '../../parse/chars.js'
import { X509Certificate } from 'node:crypto'
import { headerString, ListCursor } from '../../parse/list.js'
import type { ForwardedConfig } from './forwarded-options.js'
import type { ClientCertError, ClientCertFailure, ForwardedCertSource } from './types.js'
import { sha256 } from './verify.js'

type Headers = Record<string, string | string[] | undefined>

/** What the headers hold. @internal */
type Decoded =
  /** no certificate forwarded */
  | { kind: 'none'; detail: string }
  /** the headers do not decode */
  | { kind: 'bad'; status: 400 | 431; detail: string }
  /**
   * a certificate; `signal` is the proxy's verdict for this hop: true,
   * an error, or undefined when the source carries none
   */
  | { kind: 'cert'; leaf: X509Certificate; chain: X509Certificate[]; signal: true | ClientCertError | undefined }

/** The non-empty trimmed entries of a comma list, left to right. */
const listItems = (s: string): string[] => {
  const c = new ListCursor().reset(s)
  const out: string[] = []
  // the cursor walks right to left: push and reverse (unshift is quadratic)
  while (c.prev()) out.push(s.slice(c.start, c.end))
  return out.reverse()
}

const badRequest = (detail: string, status: 400 | 431 = 400): Decoded => ({ kind: 'bad', status, detail })

const one = (h: Headers, name: string): string | undefined => headerString(h[name])

const isB64 = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47

/** Standard Base64 with padding, nothing else (no whitespace, no base64url). @internal */
const strictBase64 = (s: string): Buffer | undefined => {
  const n = s.length
  if (n === 0 || n % 4 !== 0) return undefined
  let end = n
  if (s.charCodeAt(end - 1) === EQUALS) end--
  if (s.charCodeAt(end - 1) === EQUALS) end--
  for (let i = 0; i < end; i++) if (!isB64(s.charCodeAt(i))) return undefined
  return Buffer.from(s, 'base64')
}

/** One DER certificate, with nothing after it. */
const parseDer = (der: Buffer): X509Certificate | undefined => {
  try {
    const x = new X509Certificate(der)
    return x.raw.length === der.length ? x : undefined
  } catch {
    return undefined
  }
}

const BEGIN = '-----BEGIN CERTIFICATE-----'
const END = '-----END CERTIFICATE-----'
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13

/** Every PEM certificate block of `s`; undefined if anything else is there. */
const pemBlocks = (s: string): X509Certificate[] | undefined => {
  const out: X509Certificate[] = []
  let i = 0
  for (;;) {
    while (i < s.length && isSpace(s.charCodeAt(i))) i++
    if (i === s.length) return out
    if (!s.startsWith(BEGIN, i)) return undefined
    const stop = s.indexOf(END, i)
    if (stop < 0) return undefined
    let body = ''
    for (let k = i + BEGIN.length; k < stop; k++) {
      const c = s.charCodeAt(k)
      if (!isSpace(c)) body += s[k]
    }
    const der = strictBase64(body)
    const x = der && parseDer(der)
    if (x === undefined) return undefined
    out.push(x)
    i = stop + END.length
  }
}

const urlDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** URL-encoded PEM (nginx, Envoy, ALB): `max` blocks at most. */
const urlPem = (value: string, what: string, max: number): X509Certificate[] | Decoded => {
  const text = urlDecode(value)
  const blocks = text === undefined ? undefined : pemBlocks(text)
  if (blocks === undefined || blocks.length === 0) return badRequest(`${what} is not URL-encoded PEM`)
  if (blocks.length > max) return badRequest(`${what} holds ${blocks.length} certificates, expected at most ${max}`)
  return blocks
}

const derItem = (s: string, what: string): X509Certificate | Decoded => {
  const der = strictBase64(s)
  const x = der && parseDer(der)
  return x ?? badRequest(`${what} is not base64 DER of one certificate`)
}

/** An RFC 8941 byte sequence `:base64:`. */
const byteSequence = (s: string, what: string): X509Certificate | Decoded => {
  const n = s.length
  if (n < 2 || s.charCodeAt(0) !== COLON || s.charCodeAt(n - 1) !== COLON)
    return badRequest(`${what} is not a :base64: byte sequence`)
  return derItem(s.slice(1, n - 1), what)
}

const isDecoded = (v: unknown): v is Decoded => (v as Decoded).kind !== undefined

// -- verification signals ---------------------------------------------------

const NGINX_REASONS: Record<string, ClientCertFailure> = {
  'certificate has expired': 'expired',
  'certificate is not yet valid': 'not_yet_valid',
  'certificate revoked': 'revoked',
  'unsupported certificate purpose': 'wrong_purpose',
}

/** OpenSSL X509_V_ERR_* numbers, as HAProxy's `ssl_c_verify` gives them. */
const OPENSSL_REASONS: Record<string, ClientCertFailure> = {
  9: 'not_yet_valid',
  10: 'expired',
  23: 'revoked',
  26: 'wrong_purpose',
}

const signalOf = (cfg: ForwardedConfig, h: Headers): true | ClientCertError | undefined => {
  if (cfg.verifyHeader === undefined) return undefined
  const v = one(h, cfg.verifyHeader)
  if (v === undefined) return { reason: 'untrusted', detail: `no ${cfg.verifyHeader} header` }
  if (cfg.source === 'nginx') {
    if (v === 'SUCCESS') return true
    if (v.startsWith('FAILED:')) return { reason: NGINX_REASONS[v.slice(7)] ?? 'untrusted', detail: v }
    return { reason: v === 'NONE' ? 'missing' : 'untrusted', detail: `${cfg.verifyHeader}: ${v}` }
  }
  if (cfg.source === 'haproxy') {
    if (v === '0') return true
    return { reason: OPENSSL_REASONS[v] ?? 'untrusted', detail: `${cfg.verifyHeader}: ${v}` }
  }
  return v === cfg.verifyValue ? true : { reason: 'untrusted', detail: `${cfg.verifyHeader}: ${v}` }
}

// -- sources -----------------------------------------------------------------

type Reader = (cfg: ForwardedConfig, h: Headers) => Decoded

const cert = (
  leaf: X509Certificate,
  chain: X509Certificate[],
  signal: true | ClientCertError | undefined,
): Decoded => ({ kind: 'cert', leaf, chain, signal })

const rfc9440: Reader = (cfg, h) => {
  const value = one(h, 'client-cert')
  const chainValue = one(h, 'client-cert-chain')
  if (value === undefined) {
    return chainValue === undefined
      ? { kind: 'none', detail: 'no Client-Cert header' }
      : badRequest('Client-Cert-Chain without Client-Cert')
  }
  const leaf = byteSequence(value.trim(), 'Client-Cert')
  if (isDecoded(leaf)) return leaf
  const chain: X509Certificate[] = []
  if (chainValue !== undefined) {
    const items = listItems(chainValue)
    if (items.length === 0 || items.length > cfg.maxChainLength)
      return badRequest(`Client-Cert-Chain must hold 1 to ${cfg.maxChainLength} certificates`)
    for (const item of items) {
      const x = byteSequence(item, 'Client-Cert-Chain')
      if (isDecoded(x)) return x
      chain.push(x)
    }
  }
  return cert(leaf, chain, signalOf(cfg, h))
}

/**
 * Split an XFCC value at `sep` outside double quotes. Undefined on an
 * unterminated quote.
 */
const splitQuoted = (s: string, sep: number): string[] | undefined => {
  const out: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (quoted) {
      if (c === BACKSLASH)
        i++ // backslash escapes the next character
      else if (c === QUOTE) quoted = false
    } else if (c === QUOTE) {
      quoted = true
    } else if (c === sep) {
      out.push(s.slice(start, i))
      start = i + 1
    }
  }
  if (quoted) return undefined
  out.push(s.slice(start))
  return out
}

const unquote = (v: string): string => {
  if (v.length < 2 || v.charCodeAt(0) !== QUOTE) return v
  let out = ''
  for (let i = 1; i < v.length - 1; i++) {
    if (v.charCodeAt(i) === BACKSLASH) i++
    out += v[i]
  }
  return out
}

/**
 * The last element of an XFCC value: the text after the rightmost comma
 * outside double quotes, found by scanning from the right. The element our
 * trusted proxy appended is read the same whatever a client put before it
 * (an unbalanced quote on the left cannot swallow it). A quote counts as
 * escaped when an odd number of backslashes precede it.
 */
const lastElement = (s: string): string => {
  let quoted = false
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i)
    if (c === QUOTE) {
      let slashes = 0
      while (i - slashes - 1 >= 0 && s.charCodeAt(i - slashes - 1) === BACKSLASH) slashes++
      if (slashes % 2 === 0) quoted = !quoted
    } else if (c === COMMA && !quoted) {
      return s.slice(i + 1)
    }
  }
  return s
}

const xfcc: Reader = (cfg, h) => {
  const value = one(h, 'x-forwarded-client-cert')
  if (value === undefined) return { kind: 'none', detail: 'no x-forwarded-client-cert header' }
  // the last element is the one our trusted proxy appended
  const pairs = splitQuoted(lastElement(value), SEMICOLON)
  if (pairs === undefined) return badRequest('x-forwarded-client-cert has an unterminated quote')
  const fields: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) return badRequest('x-forwarded-client-cert has a pair without a key')
    const key = pair.slice(0, eq).trim().toLowerCase()
    if (key === 'cert' || key === 'chain' || key === 'hash') {
      if (fields[key] !== undefined) return badRequest(`x-forwarded-client-cert repeats ${key}`)
      fields[key] = unquote(pair.slice(eq + 1).trim())
    }
  }
  if (fields.cert === undefined) {
    return {
      kind: 'none',
      detail:
        "the x-forwarded-client-cert element has no Cert (set Envoy's set_current_client_cert_details cert: true)",
    }
  }
  const leaf = urlPem(fields.cert, 'XFCC Cert', 1)
  if (isDecoded(leaf)) return leaf
  if (fields.hash !== undefined && fields.hash.toLowerCase() !== sha256(leaf[0]!.raw)) {
    return badRequest('XFCC Hash is not the SHA-256 of Cert')
  }
  let chain: X509Certificate[] = []
  if (fields.chain !== undefined) {
    const c = urlPem(fields.chain, 'XFCC Chain', cfg.maxChainLength + 1)
    if (isDecoded(c)) return c
    // Envoy's Chain starts with the leaf
    chain = c[0]!.raw.equals(leaf[0]!.raw) ? c.slice(1) : c
  }
  return cert(leaf[0]!, chain, signalOf(cfg, h))
}

const nginx: Reader = (cfg, h) => {
  const value = one(h, cfg.certHeader)
  const signal = signalOf(cfg, h)
  if (value === undefined || value === '') {
    return { kind: 'none', detail: signal === true ? `no ${cfg.certHeader} header` : signal!.detail }
  }
  const leaf = urlPem(value, cfg.certHeader, 1)
  return isDecoded(leaf) ? leaf : cert(leaf[0]!, [], signal)
}

const haproxy: Reader = (cfg, h) => {
  const value = one(h, cfg.certHeader)
  const signal = signalOf(cfg, h)
  if (value === undefined || value === '') {
    return { kind: 'none', detail: signal === true ? `no ${cfg.certHeader} header` : signal!.detail }
  }
  const leaf = derItem(value, cfg.certHeader)
  return isDecoded(leaf) ? leaf : cert(leaf, [], signal)
}

const ALB_LEAF = 'x-amzn-mtls-clientcert-leaf'
const ALB_CHAIN = 'x-amzn-mtls-clientcert'

/**
 * AWS ALB, in the configured mode only: the other mode's header means the
 * request did not come the way the load balancer is set up.
 */
const awsAlb: Reader = (cfg, h) => {
  const verify = cfg.albMode === 'verify'
  const other = verify ? ALB_CHAIN : ALB_LEAF
  if (h[other] !== undefined) {
    return badRequest(
      `${verify ? 'X-Amzn-Mtls-Clientcert' : 'X-Amzn-Mtls-Clientcert-Leaf'} is not sent in ${cfg.albMode} mode`,
    )
  }
  if (verify) {
    // the ALB verified the chain against its trust store and sends the leaf
    const leafValue = one(h, ALB_LEAF)
    if (leafValue === undefined) return { kind: 'none', detail: 'no X-Amzn-Mtls-Clientcert-Leaf header' }
    const leaf = urlPem(leafValue, 'X-Amzn-Mtls-Clientcert-Leaf', 1)
    return isDecoded(leaf) ? leaf : cert(leaf[0]!, [], signalOf(cfg, h) ?? true)
  }
  // passthrough: the whole chain, leaf first, verified by nobody (ca is required)
  const chainValue = one(h, ALB_CHAIN)
  if (chainValue === undefined) return { kind: 'none', detail: 'no X-Amzn-Mtls-Clientcert header' }
  const chain = urlPem(chainValue, 'X-Amzn-Mtls-Clientcert', cfg.maxChainLength + 1)
  return isDecoded(chain) ? chain : cert(chain[0]!, chain.slice(1), signalOf(cfg, h))
}

const traefik: Reader = (cfg, h) => {
  const value = one(h, 'x-forwarded-tls-client-cert')
  if (value === undefined) return { kind: 'none', detail: 'no X-Forwarded-Tls-Client-Cert header' }
  const items = listItems(value)
  if (items.length === 0 || items.length > cfg.maxChainLength + 1) {
    return badRequest(`X-Forwarded-Tls-Client-Cert must hold 1 to ${cfg.maxChainLength + 1} certificates`)
  }
  const certs: X509Certificate[] = []
  for (const item of items) {
    const x = derItem(item, 'X-Forwarded-Tls-Client-Cert')
    if (isDecoded(x)) return x
    certs.push(x)
  }
  return cert(certs[0]!, certs.slice(1), signalOf(cfg, h))
}

const READERS: Record<ForwardedCertSource, Reader> = { rfc9440, xfcc, nginx, haproxy, 'aws-alb': awsAlb, traefik }

/** The source's header values, as an unambiguous cache key. @internal */
export const forwardedKey = (cfg: ForwardedConfig, h: Headers): string =>
  JSON.stringify(cfg.headers.map(name => one(h, name) ?? null))

/** Decode the certificate the trusted proxy forwarded. @internal */
export const readForwarded = (cfg: ForwardedConfig, h: Headers): Decoded => {
  let size = 0
  for (const name of cfg.headers) size += one(h, name)?.length ?? 0
  if (size > cfg.maxHeaderBytes)
    return badRequest(`certificate headers hold ${size} bytes, more than ${cfg.maxHeaderBytes}`, 431)
  return READERS[cfg.source](cfg, h)
}

/**
 * Delete the source's headers (from `headers`, `headersDistinct` and
 * `rawHeaders`): an untrusted peer's copies must never reach the app.
 * Node builds `headers` and `headersDistinct` lazily from `rawHeaders`
 * and a header count taken at parse time, so both are built before
 * `rawHeaders` shrinks (else a later read throws, or a copy built
 * earlier keeps the forged value). @internal
 */
export const stripForwarded = (
  cfg: ForwardedConfig,
  req: { headers: Headers; headersDistinct?: Record<string, string[] | undefined>; rawHeaders?: string[] },
): void => {
  const h = req.headers
  let found = false
  for (const name of cfg.headers) {
    if (h[name] !== undefined) {
      delete h[name]
      found = true
    }
  }
  if (!found) return
  const distinct = req.headersDistinct
  if (distinct != null) for (const name of cfg.headers) delete distinct[name]
  const raw = req.rawHeaders
  if (!Array.isArray(raw)) return
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (cfg.headers.includes(raw[i]!.toLowerCase())) raw.splice(i, 2)
  }
}

/**
 * `httpsRedirect`: a safe redirect from http to https, acting on the trust
 * engine's verdict, so a forged `X-Forwarded-Proto` from an untrusted peer
 * never skips it.
 */
import { QUESTION, SLASH } from '../parse/chars.js'
import type { IncomingMessage } from 'node:http'
import { checkOptionNames, ProxyAwareConfigError, show } from '../core/errors.js'
import { plainObject } from '../core/options.js'
import { parseHost } from '../parse/host.js'
import { compileHosts, urlName } from './hosts.js'
import type { Answer, Feature, FeatureCompiler, FeatureContext } from './feature.js'

/** Paths never redirected. @public */
export type ExemptOption = readonly (string | RegExp)[] | ((path: string, req: IncomingMessage) => boolean)

/** Options of `httpsRedirect`. `host` or `allowedHosts` is required. @public */
export interface HttpsRedirectOptions {
  /**
   * The canonical host to redirect to (`example.com`, `example.com:8443`,
   * `[2001:db8::1]`). When set, the request's own host is never used for
   * the target.
   */
  host?: string
  /**
   * Hosts the request may name, used as the redirect target when `host` is
   * not set (or checked first when it is): exact names, `*.example.com`
   * (any subdomain, not `example.com` itself), IPv4 addresses and bracketed
   * IPv6 literals. Case-insensitive; a trailing dot is ignored; the
   * request's port is ignored (`port` decides). Any other host gets 400.
   */
  allowedHosts?: readonly string[]
  /** The HTTPS port written in the target, omitted when 443. @default 443 */
  port?: number
  /** Status for GET and HEAD. @default 301 */
  status?: 301 | 302 | 307 | 308
  /**
   * Status for other methods (OPTIONS is never redirected): 403 refuses
   * them, because their body already crossed the network in clear; 307 or
   * 308 redirect them keeping method and body.
   * @default 403
   */
  otherMethods?: 403 | 307 | 308
  /**
   * Paths served over http as they are (health checks,
   * `/.well-known/acme-challenge/`): exact paths, prefixes ending in `/`,
   * RegExps, or a predicate. Matched against the path only, never the
   * query.
   */
  exempt?: ExemptOption
}

/** Whether a path has a `.` or `..` segment, percent-encoded or not. */
const hasDotSegment = (path: string): boolean => {
  for (const segment of path.split('/')) {
    const s = segment.length <= 6 ? segment.toLowerCase().replaceAll('%2e', '.') : ''
    if (s === '.' || s === '..') return true
  }
  return false
}

const compileExempt = (value: unknown): ((path: string, req: IncomingMessage) => boolean) | undefined => {
  if (value === undefined) return undefined
  if (typeof value === 'function') return value as (path: string, req: IncomingMessage) => boolean
  const invalidExempt = (entry: unknown, why: string) =>
    new ProxyAwareConfigError(
      'httpsRedirect.exempt',
      `${why}, got ${show(entry)}${entry instanceof RegExp ? ` (${entry})` : ''}`,
    )
  if (!Array.isArray(value)) throw invalidExempt(value, 'must be an array of paths and RegExps, or a function')
  const exact = new Set<string>()
  const prefixes: string[] = []
  const patterns: RegExp[] = []
  for (const entry of value as unknown[]) {
    if (entry instanceof RegExp) {
      // a global or sticky RegExp remembers lastIndex between requests
      if (entry.global || entry.sticky) throw invalidExempt(entry, 'must not use the g or y flag')
      patterns.push(entry)
    } else if (typeof entry === 'string' && entry.charCodeAt(0) === SLASH) {
      if (entry.endsWith('/')) prefixes.push(entry)
      else exact.add(entry)
    } else {
      throw invalidExempt(entry, 'entries must be paths starting with "/" or RegExps')
    }
  }
  return path => {
    if (exact.has(path)) return true
    for (const p of prefixes) if (path.startsWith(p)) return true
    for (const r of patterns) if (r.test(path)) return true
    return false
  }
}

const STATUSES = [301, 302, 307, 308]
const OTHER_STATUSES = [403, 307, 308]

const answer = (status: number, body: string, location?: string): Answer => {
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  }
  if (location !== undefined) headers.location = location
  return { status, headers, body }
}

/**
 * Path and query of the request target in origin form, or undefined when
 * it cannot be one. An absolute-form target (`http://evil.com/x`) gives
 * its path and query: the authority in it is never used. A character that
 * cannot go in a header makes the target unusable (400, not a crash).
 */
const originForm = (url: string): string | undefined => {
  let start = 0
  if (url.charCodeAt(0) !== SLASH) {
    // absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]
    const sep = url.indexOf('://')
    if (sep < 1) return undefined
    let i = sep + 3
    while (i < url.length) {
      const c = url.charCodeAt(i)
      if (c === SLASH || c === QUESTION) break // '/' or '?'
      i++
    }
    if (i === url.length) return '/'
    start = i
  }
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c <= 32 || c === 127 || c > 255) return undefined
  }
  const rest = start === 0 ? url : url.slice(start)
  return rest.charCodeAt(0) === QUESTION ? `/${rest}` : rest
}

/** Whether the request carries a forwarded-protocol header at all. */
const claimsHttps = (req: IncomingMessage): boolean =>
  req.headers['x-forwarded-proto'] !== undefined || req.headers.forwarded !== undefined

/** How many `Host` lines the request carried. */
const hostLines = (req: IncomingMessage): number => {
  const raw = req.rawHeaders
  let n = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 4 && name.toLowerCase() === 'host') n++
  }
  return n
}

/** stands for `httpsRedirect: true`, which names no host */
const NEEDS_HOST: Readonly<Record<string, unknown>> = Object.freeze({})

/** `httpsRedirect.port`: 443 unless given. */
const redirectPort = (o: Readonly<Record<string, unknown>>): number => {
  if (o.port === undefined) return 443
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535) {
    throw new ProxyAwareConfigError('httpsRedirect.port', `must be a port number from 1 to 65535, got ${show(o.port)}`)
  }
  return o.port
}

/** `httpsRedirect.host` as it goes in a Location (with its port, or `portSuffix`), undefined when not given. */
const canonicalHost = (o: Readonly<Record<string, unknown>>, portSuffix: string): string | undefined => {
  if (o.host === undefined) return undefined
  const parts = typeof o.host === 'string' ? parseHost(o.host) : undefined
  if (parts === undefined) {
    throw new ProxyAwareConfigError(
      'httpsRedirect.host',
      `must be a host name with an optional port (\`example.com\`, \`example.com:8443\`), got ${show(o.host)}`,
    )
  }
  if (parts.port !== null && o.port !== undefined) {
    throw new ProxyAwareConfigError(
      'httpsRedirect.host',
      `has a port and \`httpsRedirect.port\` is set too: give the port once, got ${show(o.host)}`,
    )
  }
  return urlName(parts.hostname) + (parts.port === null ? portSuffix : parts.port === 443 ? '' : `:${parts.port}`)
}

/** `httpsRedirect.status` (safe methods) and `otherMethods`. */
const redirectStatuses = (o: Readonly<Record<string, unknown>>): { status: number; otherStatus: number } => {
  const status = o.status ?? 301
  if (!STATUSES.includes(status as number)) {
    throw new ProxyAwareConfigError('httpsRedirect.status', `must be 301, 302, 307 or 308, got ${show(status)}`)
  }
  const otherStatus = o.otherMethods ?? 403
  if (!OTHER_STATUSES.includes(otherStatus as number)) {
    throw new ProxyAwareConfigError('httpsRedirect.otherMethods', `must be 403, 307 or 308, got ${show(otherStatus)}`)
  }
  return { status: status as number, otherStatus: otherStatus as number }
}

/** Compile `httpsRedirect`. @internal */
const compileHttpsRedirect = (value: unknown): Feature | undefined => {
  if (value === undefined || value === false) return undefined
  // `true` alone cannot work: say what it needs, not only what type it has
  const o = plainObject('httpsRedirect', value === true ? NEEDS_HOST : value)
  checkOptionNames(o, ['host', 'allowedHosts', 'port', 'status', 'otherMethods', 'exempt'], 'httpsRedirect')
  if (o === NEEDS_HOST || (o.host === undefined && o.allowedHosts === undefined)) {
    throw new ProxyAwareConfigError(
      'httpsRedirect',
      `needs \`host\` (the canonical host to redirect to) or \`allowedHosts\` (the hosts a request may name), e.g. httpsRedirect: { host: 'example.com' }: the target of a redirect must never come from an unchecked request (Host header injection makes it an open redirect)${o === NEEDS_HOST ? ', got true' : ''}`,
    )
  }
  const port = redirectPort(o)
  const portSuffix = port === 443 ? '' : `:${port}`
  const canonical = canonicalHost(o, portSuffix)
  const allowed =
    o.allowedHosts === undefined ? undefined : compileHosts('httpsRedirect.allowedHosts', o.allowedHosts, true)
  const { status, otherStatus } = redirectStatuses(o)
  const exempt = compileExempt(o.exempt)

  let warned = false
  const refuse = (ctx: FeatureContext, why: string): Answer => {
    ctx.log.info({ host: ctx.req.headers.host }, `proxy-aware: httpsRedirect: ${why}`)
    return answer(400, `Bad Request: ${why}\n`)
  }

  return {
    check(ctx: FeatureContext): Answer | undefined {
      if (ctx.resolution.protocol === 'https') return undefined
      const req = ctx.req
      const method = req.method
      if (method === 'OPTIONS') return undefined
      // always set on a server's request; Express passes originalUrl
      const url = ctx.url ?? (req.url as string)
      const target = originForm(url)
      if (exempt !== undefined && target !== undefined) {
        const q = target.indexOf('?')
        const path = q < 0 ? target : target.slice(0, q)
        // a path with . or .. segments is never exempt: the browser or a
        // proxy may resolve `/.well-known/acme-challenge/../../admin` to a
        // path that is not
        if (!hasDotSegment(path) && exempt(path, req)) return undefined
      }
      const safe = method === 'GET' || method === 'HEAD'
      if (!warned && ctx.resolution.reason === 'untrusted-peer' && claimsHttps(req)) {
        // the usual cause of redirect loops: the proxy is not in `trust`
        warned = true
        ctx.log.warn(
          { peer: ctx.resolution.peer },
          'proxy-aware: httpsRedirect: a request from an untrusted peer says it came over https (X-Forwarded-Proto or Forwarded); it is redirected. If that peer is your TLS-terminating proxy, add it to `trust`, or every request will loop. (Logged once.)',
        )
      }
      if (!safe && otherStatus === 403) {
        return answer(403, 'Forbidden: this request must be sent over https\n')
      }
      if (target === undefined) return refuse(ctx, 'the request target cannot be redirected')
      if (hostLines(req) > 1) return refuse(ctx, 'more than one Host header')
      let host = canonical
      if (allowed !== undefined) {
        const r = ctx.resolution
        if (r.hostname === undefined) {
          return refuse(ctx, req.headers.host === undefined ? 'missing Host header' : 'malformed Host header')
        }
        if (!allowed(r.hostname)) return refuse(ctx, 'host not allowed')
        host ??= urlName(r.hostname) + portSuffix
      }
      const location = `https://${host}${target}`
      return answer(safe ? status : otherStatus, `Redirecting to ${location}\n`, location)
    },
  }
}

/** `httpsRedirect`. @internal */
export const httpsRedirectFeature: FeatureCompiler = {
  options: ['httpsRedirect'],
  compile: options => compileHttpsRedirect(options.httpsRedirect),
}

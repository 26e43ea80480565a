/**
 * `secureCookies`: every `Set-Cookie` on a response to an `https` request
 * gets the `Secure` attribute exactly once, whatever wrote it and whenever.
 */
import { EQUALS, SEMICOLON, isWs } from '../parse/chars.js'
import { checkOptionNames, ProxyAwareConfigError, show } from '../core/errors.js'
import type { Logger } from '../core/options.js'
import { mapHeader, onHeaders } from '../response/hook.js'
import type { Feature, FeatureCompiler, FeatureContext } from './feature.js'

/** Options of `secureCookies` (`true` means all defaults). @public */
export interface SecureCookiesOptions {
  /**
   * Warn through the logger (Fastify's `request.log`, Express's `logger`
   * option) about cookies browsers will reject: a `__Host-` cookie with
   * `Domain` or without `Path=/`, and, on http responses, `__Host-` /
   * `__Secure-` cookies and `SameSite=None` cookies.
   * @default true
   */
  warn?: boolean
}

/** What one `Set-Cookie` value says about itself. @internal */
interface CookieFacts {
  /** the cookie name (before the first `=` of the name-value pair), trimmed */
  name: string
  secure: boolean
  sameSiteNone: boolean
  domain: boolean
  /** the `Path` attribute value, or undefined when absent */
  path: string | undefined
}

/**
 * Read a `Set-Cookie` value (RFC 6265bis 5.6): the name-value pair runs to
 * the first `;`, attributes follow, separated by `;`, names compared
 * case-insensitively. A cookie named or valued `secure` is not the
 * attribute; a comma (as in `Expires=Wed, 21 Oct 2026 ...`) is just a
 * character. @internal
 */
const readCookie = (s: string): CookieFacts => {
  const len = s.length
  let semi = s.indexOf(';')
  if (semi < 0) semi = len
  let eq = s.indexOf('=')
  if (eq < 0 || eq > semi) eq = -1
  let ns = 0
  let ne = eq < 0 ? 0 : eq // no `=`: a nameless cookie (the pair is its value)
  while (ns < ne && isWs(s.charCodeAt(ns))) ns++
  while (ne > ns && isWs(s.charCodeAt(ne - 1))) ne--
  const facts: CookieFacts = {
    name: s.slice(ns, ne),
    secure: false,
    sameSiteNone: false,
    domain: false,
    path: undefined,
  }
  let i = semi + 1
  while (i < len) {
    let end = s.indexOf(';', i)
    if (end < 0) end = len
    let as = i
    while (as < end && isWs(s.charCodeAt(as))) as++
    let an = as
    while (an < end && s.charCodeAt(an) !== EQUALS) an++ // '='
    let ae = an
    while (ae > as && isWs(s.charCodeAt(ae - 1))) ae--
    let vs = an + 1
    let ve = end
    while (vs < ve && isWs(s.charCodeAt(vs))) vs++
    while (ve > vs && isWs(s.charCodeAt(ve - 1))) ve--
    // the attribute names compared in place (no lower-cased copy: this runs
    // for every cookie of every https response)
    if (equalsI(s, as, ae, 'secure')) facts.secure = true
    else if (equalsI(s, as, ae, 'domain')) facts.domain = true
    else if (equalsI(s, as, ae, 'path')) facts.path = an < end ? s.slice(vs, ve) : ''
    else if (equalsI(s, as, ae, 'samesite')) facts.sameSiteNone = an < end && equalsI(s, vs, ve, 'none')
    i = end + 1
  }
  return facts
}

/**
 * `s[from, to)` is `lower` (lower-case ASCII letters, digits, `_`, `-`),
 * ignoring the case of letters.
 */
const equalsI = (s: string, from: number, to: number, lower: string): boolean =>
  to - from === lower.length && startsI(s, from, lower)

/** `s` has `lower` at `from`, ignoring the case of letters (as `equalsI`). */
const startsI = (s: string, from: number, lower: string): boolean => {
  if (s.length - from < lower.length) return false
  for (let k = 0; k < lower.length; k++) {
    const c = s.charCodeAt(from + k)
    const l = lower.charCodeAt(k)
    // an upper-case letter of `s` matches its lower-case form only
    if (c !== l && !(c >= 65 && c <= 90 && c + 32 === l)) return false
  }
  return true
}

/** `s` starts with `prefix` (lower case), case-insensitively. */
const startsWithI = (s: string, prefix: string) => startsI(s, 0, prefix)

/**
 * Why browsers will reject a cookie (its name prefix rules, or
 * `SameSite=None` over http), or undefined. Called after `Secure` was
 * added on https, so only what proxy-aware cannot fix is reported.
 */
const cookieProblem = (facts: CookieFacts, secureOrigin: boolean): string | undefined => {
  const host = startsWithI(facts.name, '__host-')
  if (!host && !startsWithI(facts.name, '__secure-')) {
    return !secureOrigin && facts.sameSiteNone
      ? 'a SameSite=None cookie set over http is rejected by browsers'
      : undefined
  }
  const prefix = host ? '__Host-' : '__Secure-'
  if (!secureOrigin) return `a ${prefix} cookie set over http is rejected by browsers`
  if (host && facts.domain) return 'a __Host- cookie must not have a Domain attribute'
  if (host && facts.path !== '/') return 'a __Host- cookie must have Path=/'
  return undefined
}

/** Append `; Secure` to a cookie string, respecting a trailing `;`. */
const addSecure = (s: string): string => {
  let end = s.length
  while (end > 0 && isWs(s.charCodeAt(end - 1))) end--
  return end > 0 && s.charCodeAt(end - 1) === SEMICOLON ? `${s.slice(0, end)} Secure` : `${s}; Secure`
}

/**
 * Compile `secureCookies` (`true`, `false`, `undefined` or an options
 * object). @internal
 */
const compileSecureCookies = (value: unknown): Feature | undefined => {
  if (value === undefined || value === false) return undefined
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new ProxyAwareConfigError('secureCookies', `must be true, false or an options object, got ${show(value)}`)
  }
  let warn = true
  if (value !== true) {
    checkOptionNames(value, ['warn'], 'secureCookies')
    const w = (value as SecureCookiesOptions).warn
    if (w !== undefined && typeof w !== 'boolean') {
      throw new ProxyAwareConfigError('secureCookies.warn', `must be a boolean, got ${show(w)}`)
    }
    warn = w ?? true
  }
  return {
    onResponse(ctx: FeatureContext) {
      const secure = ctx.resolution.protocol === 'https'
      // Over http cookies are left alone; only prefix warnings are useful.
      if (!secure && !warn) return
      const log: Logger = ctx.log
      const fix = (cookie: unknown): unknown => {
        if (cookie === undefined || cookie === null) return cookie
        const s = typeof cookie === 'string' ? cookie : String(cookie)
        const facts = readCookie(s)
        if (warn) {
          const problem = cookieProblem(facts, secure)
          if (problem !== undefined) log.warn({ cookie: facts.name }, `proxy-aware: secureCookies: ${problem}`)
        }
        return secure && !facts.secure ? addSecure(s) : cookie
      }
      const map = (value: unknown): unknown => {
        if (!Array.isArray(value)) return fix(value)
        let copy: unknown[] | undefined
        for (let i = 0; i < value.length; i++) {
          const v = fix(value[i])
          if (v === value[i]) continue
          copy ??= value.slice()
          copy[i] = v
        }
        return copy ?? value
      }
      const hooked = onHeaders(ctx.res, (headers, out) => mapHeader(headers, out, 'set-cookie', map))
      if (!hooked)
        log.warn(
          {},
          'proxy-aware: secureCookies: this response is neither a node:http ServerResponse nor a node:http2 Http2ServerResponse; cookies are left alone',
        )
    },
  }
}

/** The `secureCookies` feature. @internal */
export const secureCookiesFeature: FeatureCompiler = {
  options: ['secureCookies'],
  compile: options => compileSecureCookies(options.secureCookies),
}

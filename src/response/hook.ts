/**
 * `secureCookies`: every `Set-Cookie` on a response to an `https` request
 * gets the `Secure` attribute exactly once, whatever wrote it and whenever.
 *
 * Also the response hook HSTS uses: `onHeaders(res, edit)` runs `edit` on
 * the exact header set about to be serialised. @private
 */
import { OutgoingMessage, ServerResponse } from 'node:http'
import { checkOptionNames, ProxyAwareConfigError, show } from './errors.js'
import type { Feature, FeatureCompiler, FeatureContext, Logger } from './features.js'

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

/** A header set in any of the shapes Node serialises. @private */
export type HeaderSet =
  | Record<string, unknown>
  | unknown[]
  | null
  | undefined

/**
 * Rewrites the headers about to be written: returns the headers to write
 * (the same object when nothing changed). `out` is true when `headers` is
 * the response's own header map (`{ lowercased: [name, value] }`).
 */
export type HeaderEdit = (headers: HeaderSet, out: boolean) => HeaderSet

// Node keeps the headers set with setHeader/appendHeader under this symbol;
// writeHead passes that map (or, when none was set, its own argument
// untouched) to _storeHeader.
const kOutHeaders = Object.getOwnPropertySymbols(new OutgoingMessage())
  .find(s => s.description === 'kOutHeaders')

type Store = (this: ServerResponse, firstLine: string, headers: HeaderSet) => void
interface Storable { _storeHeader?: Store, [key: symbol]: unknown }

/**
 * The pending edits of each HTTP/1 response, under a symbol. Not a wrapper
 * on the response (an own `_storeHeader` function on every response cost
 * microseconds per request in Node's http code) and not a WeakMap (its
 * entries for short-lived responses made garbage collection dearer).
 */
const kEdit = Symbol('proxy-aware.headerEdit')
interface Editable { [kEdit]?: HeaderEdit }
let patched = false

/**
 * Wrap `ServerResponse.prototype._storeHeader` once, the first time a
 * response needs an edit. Responses without an edit pass straight through.
 */
const patchStoreHeader = (): boolean => {
  if (patched) return true
  const proto = ServerResponse.prototype as unknown as Storable
  const store = proto._storeHeader
  /* c8 ignore next -- every Node version we support has it */
  if (typeof store !== 'function') return false
  proto._storeHeader = function storeHeader(this: ServerResponse, firstLine: string, headers: HeaderSet) {
    const edit = (this as Editable)[kEdit]
    // (kept after use: a _storeHeader that throws on a bad header value is
    // called again by the next writeHead, and the edits are idempotent)
    if (edit === undefined) return store.call(this, firstLine, headers)
    const own = (this as unknown as Storable)[kOutHeaders!]
    return store.call(this, firstLine, edit(headers, headers != null && headers === own))
  }
  patched = true
  return true
}
type Respond = (this: unknown, headers: HeaderSet, ...rest: unknown[]) => unknown
interface Stream { respond?: Respond, pushStream?: (this: unknown, ...args: unknown[]) => unknown }
interface Respondable { stream?: Stream }

/**
 * Run `edit` on the headers of `res` at the last moment before they are
 * serialised. Hooking `writeHead` (the on-headers way) is not enough: a
 * wrapper installed before ours runs after ours, and `cookies` (used by
 * cookie-session) writes through `OutgoingMessage.prototype.setHeader`,
 * bypassing any patch on the instance.
 *
 * Every HTTP/1 response, however its headers were given (setHeader,
 * appendHeader, setHeaders, writeHead with an object, a flat array or an
 * array of pairs, implicit headers from write/end), goes through
 * `_storeHeader` exactly once, with the final set. Every HTTP/2
 * compatibility response (`Http2ServerResponse`) sends its header block
 * through `res.stream.respond(headers, options)` exactly once, from
 * writeHead, flushHeaders or the implicit headers of write/end, with its
 * whole header map (the app's own `res.stream.respond` calls pass there
 * too). 1xx blocks (`writeEarlyHints`, `writeContinue`, through
 * `additionalHeaders`), trailers and `respondWithFile`/`respondWithFD`
 * are not edited.
 *
 * Returns false when `res` is neither, and nothing is hooked.
 * @private
 */
export const onHeaders = (res: ServerResponse, edit: HeaderEdit): boolean => {
  if (res instanceof ServerResponse && kOutHeaders !== undefined && patchStoreHeader()) {
    // an edit added later runs first, as an outer wrapper would
    const r = res as Editable
    const before = r[kEdit]
    r[kEdit] = before === undefined ? edit : (headers, out) => before(edit(headers, out), out)
    return true
  }
  const stream = (res as unknown as Respondable).stream
  if (typeof stream?.respond !== 'function') return false
  hookStream(stream, edit)
  return true
}

/**
 * Edit the headers an HTTP/2 stream responds with, and those of every
 * stream it pushes: `res.createPushResponse` (whose Http2ServerResponse
 * responds through its pushed stream) and `res.stream.pushStream` both
 * push through `stream.pushStream`.
 */
const hookStream = (stream: Stream, edit: HeaderEdit): void => {
  const respond = stream.respond!
  // the map passed is the response's own: edited as a caller's object
  // (copied on change), so what the app reads back stays what it wrote
  stream.respond = function respondWithEdit(this: unknown, headers: HeaderSet, ...rest: unknown[]) {
    return respond.call(this, asObject(edit(headers, false)), ...rest)
  }
  const push = stream.pushStream
  if (typeof push !== 'function') return
  stream.pushStream = function pushStreamWithEdit(this: unknown, ...args: unknown[]) {
    const last = args.length - 1
    const callback = args[last]
    // anything else is Node's to reject
    if (typeof callback === 'function') {
      args[last] = function pushed(this: unknown, err: unknown, pushedStream: Stream | undefined, ...rest: unknown[]) {
        if (typeof pushedStream?.respond === 'function') hookStream(pushedStream, edit)
        return (callback as (...a: unknown[]) => unknown).call(this, err, pushedStream, ...rest)
      }
    }
    return push.apply(this, args)
  }
}

/**
 * HTTP/2's `respond` takes an object: fold the flat array that `addHeader`
 * made from the compat map back into one. The names are unique: the map's
 * keys, plus one name `addHeader` was only asked to add when absent.
 */
const asObject = (headers: HeaderSet): HeaderSet => {
  if (!Array.isArray(headers)) return headers
  const out: Record<string, unknown> = {}
  for (let i = 0; i < headers.length; i += 2) out[String(headers[i]).toLowerCase()] = headers[i + 1]
  return out as HeaderSet
}

/** `name` lower-cased equals `lower` (which is lower case). */
const sameName = (name: unknown, lower: string): boolean =>
  typeof name === 'string' && name.length === lower.length && name.toLowerCase() === lower

/**
 * Apply `map` to every value of header `lower` in `headers`, whatever its
 * shape. Returns `headers` itself when `map` changed nothing; a caller's
 * object or array is copied, never mutated; the response's own map is
 * updated in place. @private
 */
const mapHeader = (
  headers: HeaderSet,
  out: boolean,
  lower: string,
  map: (value: unknown) => unknown,
): HeaderSet => {
  if (headers == null) return headers
  if (out) {
    const entry = (headers as Record<string, [string, unknown] | undefined>)[lower]
    if (entry !== undefined) entry[1] = map(entry[1])
    return headers
  }
  if (Array.isArray(headers)) {
    let copy: unknown[] | undefined
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (let i = 0; i < headers.length; i++) {
        const pair = headers[i] as unknown[]
        if (!sameName(pair[0], lower)) continue
        const value = map(pair[1])
        if (value === pair[1]) continue
        copy ??= headers.slice()
        copy[i] = [pair[0], value]
      }
    } else {
      for (let i = 0; i < headers.length; i += 2) {
        if (!sameName(headers[i], lower)) continue
        const value = map(headers[i + 1])
        if (value === headers[i + 1]) continue
        copy ??= headers.slice()
        copy[i + 1] = value
      }
    }
    return copy ?? headers
  }
  let copy: Record<string, unknown> | undefined
  for (const key of Object.keys(headers)) {
    if (!sameName(key, lower)) continue
    const value = map(headers[key])
    if (value === headers[key]) continue
    copy ??= { ...headers }
    copy[key] = value
  }
  return copy ?? headers
}

/** Whether header `lower` is present in `headers`. @private */
export const hasHeader = (headers: HeaderSet, out: boolean, lower: string): boolean => {
  if (headers == null) return false
  if (out) return (headers as Record<string, unknown>)[lower] !== undefined
  if (Array.isArray(headers)) {
    const nested = headers.length > 0 && Array.isArray(headers[0])
    for (let i = 0; i < headers.length; i += nested ? 1 : 2) {
      if (sameName(nested ? (headers[i] as unknown[])[0] : headers[i], lower)) return true
    }
    return false
  }
  for (const key of Object.keys(headers)) if (sameName(key, lower)) return true
  return false
}

/**
 * Add header `name: value` to `headers` (same shape rules as `mapHeader`).
 * @private
 */
export const addHeader = (headers: HeaderSet, out: boolean, name: string, value: string): HeaderSet => {
  if (headers == null) return { [name]: value }
  if (out) {
    (headers as Record<string, unknown>)[name.toLowerCase()] = [name, value]
    return headers
  }
  if (Array.isArray(headers)) {
    return headers.length > 0 && Array.isArray(headers[0])
      ? [...headers, [name, value]]
      : [...headers, name, value]
  }
  // a flat array, not `{ ...headers, [name]: value }`: that copy is a
  // dictionary-mode object, which Node's _storeHeader walks slowly
  // (measured: most of HSTS's cost per request)
  const flat: unknown[] = []
  const object = headers as Record<string, unknown>
  for (const key in object) if (Object.hasOwn(object, key)) flat.push(key, object[key])
  flat.push(name, value)
  return flat as HeaderSet
}

/** What one `Set-Cookie` value says about itself. @private */
interface CookieFacts {
  /** the cookie name (before the first `=` of the name-value pair), trimmed */
  name: string
  secure: boolean
  sameSiteNone: boolean
  domain: boolean
  /** the `Path` attribute value, or undefined when absent */
  path: string | undefined
}

const isWs = (c: number) => c === 32 || c === 9

/**
 * Read a `Set-Cookie` value (RFC 6265bis 5.6): the name-value pair runs to
 * the first `;`, attributes follow, separated by `;`, names compared
 * case-insensitively. A cookie named or valued `secure` is not the
 * attribute; a comma (as in `Expires=Wed, 21 Oct 2026 ...`) is just a
 * character. @private
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
  const facts: CookieFacts = { name: s.slice(ns, ne), secure: false, sameSiteNone: false, domain: false, path: undefined }
  let i = semi + 1
  while (i < len) {
    let end = s.indexOf(';', i)
    if (end < 0) end = len
    let as = i
    while (as < end && isWs(s.charCodeAt(as))) as++
    let an = as
    while (an < end && s.charCodeAt(an) !== 61) an++ // '='
    let ae = an
    while (ae > as && isWs(s.charCodeAt(ae - 1))) ae--
    const attr = s.slice(as, ae).toLowerCase()
    let vs = an + 1
    let ve = end
    while (vs < ve && isWs(s.charCodeAt(vs))) vs++
    while (ve > vs && isWs(s.charCodeAt(ve - 1))) ve--
    if (attr === 'secure') facts.secure = true
    else if (attr === 'domain') facts.domain = true
    else if (attr === 'path') facts.path = an < end ? s.slice(vs, ve) : ''
    else if (attr === 'samesite') facts.sameSiteNone = an < end && s.slice(vs, ve).toLowerCase() === 'none'
    i = end + 1
  }
  return facts
}

/** `s` starts with `prefix` (lower case), case-insensitively. */
const startsWithI = (s: string, prefix: string) =>
  s.length >= prefix.length && s.slice(0, prefix.length).toLowerCase() === prefix

/**
 * Why browsers will reject a cookie (its name prefix rules, or
 * `SameSite=None` over http), or undefined. Called after `Secure` was
 * added on https, so only what proxy-aware cannot fix is reported.
 */
const cookieProblem = (facts: CookieFacts, secureOrigin: boolean): string | undefined => {
  const host = startsWithI(facts.name, '__host-')
  if (!host && !startsWithI(facts.name, '__secure-')) {
    return !secureOrigin && facts.sameSiteNone ? 'a SameSite=None cookie set over http is rejected by browsers' : undefined
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
  return end > 0 && s.charCodeAt(end - 1) === 59 ? `${s.slice(0, end)} Secure` : `${s}; Secure`
}


/**
 * Compile `secureCookies` (`true`, `false`, `undefined` or an options
 * object). @private
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
      if (!hooked) log.warn({}, 'proxy-aware: secureCookies: this response is neither a node:http ServerResponse nor a node:http2 Http2ServerResponse; cookies are left alone')
    },
  }
}

/** The `secureCookies` feature. @private */
export const secureCookiesFeature: FeatureCompiler = {
  options: ['secureCookies'],
  compile: options => compileSecureCookies(options.secureCookies),
}

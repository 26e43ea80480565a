/**
 * The response hook: `onHeaders(res, edit)` runs `edit` on the exact header
 * set about to be serialised (HTTP/1 `_storeHeader`, HTTP/2 `respond` /
 * `pushStream`; on Bun, the native handle's `writeHead` / `writeHeadAndEnd`),
 * whatever wrote the headers and whenever.
 */
import { OutgoingMessage, ServerResponse } from 'node:http'
import { ownShapeAfterSetPrototype } from '../core/runtime.js'

/** A header set in any of the shapes Node serialises. @internal */
export type HeaderSet = Record<string, unknown> | unknown[] | null | undefined

/**
 * Rewrites the headers about to be written: returns the headers to write
 * (the same object when nothing changed). `out` is true when `headers` is
 * the response's own header map (`{ lowercased: [name, value] }`).
 */
type HeaderEdit = (headers: HeaderSet, out: boolean) => HeaderSet

// Node keeps the headers set with setHeader/appendHeader under this symbol;
// writeHead passes that map (or, when none was set, its own argument
// untouched) to _storeHeader.
const kOutHeaders = Object.getOwnPropertySymbols(new OutgoingMessage()).find(s => s.description === 'kOutHeaders')

type Store = (this: ServerResponse, firstLine: string, headers: HeaderSet) => void
interface Storable {
  _storeHeader?: Store
  [key: symbol]: unknown
}

/**
 * The pending edits of each HTTP/1 response, under a symbol (or in EDITS,
 * below). Not a wrapper on the response (an own `_storeHeader` function on
 * every response cost microseconds per request in Node's http code).
 */
const kEdit = Symbol('proxy-aware.headerEdit')
interface Editable {
  [kEdit]?: HeaderEdit
}
let patched = false
/**
 * Where V8 gives an object whose prototype was set a hidden class of its
 * own (Node 20 and 22, see ownShapeAfterSetPrototype), a property added to
 * such a response (Express sets the prototype of each) allocates a new
 * hidden class: the edits of those responses are kept in this WeakMap.
 * Other responses keep theirs under the symbol (a WeakMap costs them more:
 * Fastify with every HTTPS option, Node 20, callgrind, 2026-12-07, one run
 * each: 117k instructions per request with the symbol, 139k with a WeakMap
 * for every response).
 */
// (coverage is collected on Node 20: V8 13+ runs the suite on Node 24, 26)
/* c8 ignore next */
const EDITS: WeakMap<object, HeaderEdit> | undefined = ownShapeAfterSetPrototype() ? new WeakMap() : undefined
/**
 * The edit of `res`, wherever its first edit was stored: a response whose
 * prototype changed since (@fastify/express runs Express's init on
 * Fastify's raw response) keeps its edits in one place.
 */
const editOf = (res: object): HeaderEdit | undefined => EDITS?.get(res) ?? (res as Editable)[kEdit]
/** Store the edit of `res`: beside its earlier edit, or where its prototype says. */
const setEdit = (res: object, edit: HeaderEdit, hadOne: boolean): void => {
  const table = hadOne
    ? EDITS?.has(res) === true
    : EDITS !== undefined && Object.getPrototypeOf(res) !== ServerResponse.prototype
  if (table) EDITS!.set(res, edit)
  else (res as Editable)[kEdit] = edit
}

/**
 * Bun's `node:http` server keeps a native handle (a `NodeHTTPResponse`) on
 * each ServerResponse under a symbol described `handle`; a response with a
 * handle never calls `_storeHeader`: `end`, `write`, `flushHeaders` and
 * `_send` render the header map into a flat `[name, value, ...]` array and
 * pass it as the third argument of `handle.writeHead(status, message,
 * headers, ...)` or `handle.writeHeadAndEnd(status, message, headers, ...)`
 * (read in Bun 1.4.5's built-in `node:http` module, 2026-12-06). Node's and
 * Deno's responses have no such symbol.
 */
const HANDLE_METHODS = ['writeHead', 'writeHeadAndEnd'] as const
type NativeSend = (
  this: NativeHandle,
  status: unknown,
  message: unknown,
  headers: HeaderSet,
  ...rest: unknown[]
) => unknown
/** @internal */
export interface NativeHandle {
  [kEdit]?: HeaderEdit
}
const kHooked = Symbol('proxy-aware.nativeHooked')

/** The symbol a response keeps a native handle under, if any. @internal */
export const handleKeyOf = (res: object): symbol | undefined =>
  Object.getOwnPropertySymbols(res).find(s => s.description === 'handle')

/** undefined: not looked yet; null: this runtime's responses have none. */
let handleKey: symbol | null | undefined

/**
 * The handle symbol of this runtime's ServerResponse (Bun), looked up once
 * on a response that is never sent. @internal
 */
export const nativeHandleKey = (): symbol | undefined => {
  if (handleKey === undefined) {
    const probe = { method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers: {} }
    handleKey = handleKeyOf(new ServerResponse(probe as never)) ?? null
  }
  return handleKey ?? undefined
}

/**
 * Run `edit` on what `handle` sends: wrap `writeHead` and `writeHeadAndEnd`
 * on its prototype once (the edit of each handle is under `kEdit`, as on
 * responses). False, and nothing hooked, when either is missing. @internal
 */
export const hookNativeHandle = (handle: NativeHandle, edit: HeaderEdit): boolean => {
  const proto = Object.getPrototypeOf(handle) as Record<string | symbol, unknown>
  if (proto[kHooked] !== true) {
    if (!HANDLE_METHODS.every(name => typeof proto[name] === 'function')) return false
    for (const name of HANDLE_METHODS) {
      const send = proto[name] as NativeSend
      proto[name] = function sendWithEdit(this: NativeHandle, status, message, headers, ...rest) {
        const own = this[kEdit]
        return send.call(this, status, message, own === undefined ? headers : own(headers, false), ...rest)
      } satisfies NativeSend
    }
    proto[kHooked] = true
  }
  handle[kEdit] = edit
  return true
}

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
    const edit = editOf(this)
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
interface Stream {
  respond?: Respond
  pushStream?: (this: unknown, ...args: unknown[]) => unknown
}
interface Respondable {
  stream?: Stream
}

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
 * On Bun, a response with a native handle sends the final header set
 * through the handle (see `hookNativeHandle`); one without (made by
 * light-my-request, or the self-test) goes through `_storeHeader` as on
 * Node. `handle` is the symbol of the native handle (tests pass their own).
 *
 * Returns false when `res` is neither, and nothing is hooked.
 * @internal
 */
export const onHeaders = (res: ServerResponse, edit: HeaderEdit, handle = nativeHandleKey()): boolean => {
  if (res instanceof ServerResponse && kOutHeaders !== undefined && patchStoreHeader()) {
    // an edit added later runs first, as an outer wrapper would
    const before = editOf(res)
    const edits: HeaderEdit = before === undefined ? edit : (headers, out) => before(edit(headers, out), out)
    setEdit(res, edits, before !== undefined)
    const native = handle === undefined ? undefined : (res as unknown as Storable)[handle]
    return native == null || hookNativeHandle(native as NativeHandle, edits)
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
 * updated in place. @internal
 */
export const mapHeader = (
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

/** Whether header `lower` is present in `headers`. @internal */
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
 * @internal
 */
export const addHeader = (headers: HeaderSet, out: boolean, name: string, value: string): HeaderSet => {
  if (headers == null) return { [name]: value }
  if (out) {
    ;(headers as Record<string, unknown>)[name.toLowerCase()] = [name, value]
    return headers
  }
  if (Array.isArray(headers)) {
    return headers.length > 0 && Array.isArray(headers[0]) ? [...headers, [name, value]] : [...headers, name, value]
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

/**
 * Startup self-test of the Node internals the response hook (`onHeaders`
 * in hook.ts) relies on: HTTP/1 `ServerResponse.prototype._storeHeader`
 * and the HTTP/2 compatibility layer sending its headers through
 * `res.stream.respond`, and on Bun the native handle a ServerResponse
 * sends through. A runtime release may change any of them; then
 * `secureCookies` and `hsts` would silently stop working, so they refuse to
 * start instead. The test runs the real hook on responses that are never
 * sent. @internal
 */
import { IncomingMessage, ServerResponse } from 'node:http'
import { Http2ServerResponse } from 'node:http2'
import { EventEmitter } from 'node:events'
import { Socket } from 'node:net'
import { ProxyAwareConfigError } from '../core/errors.js'
import type { FeatureCompiler } from '../features/feature.js'
import { runtimeName } from '../core/runtime.js'
import { addHeader, hasHeader, type HeaderSet, nativeHandleKey, onHeaders } from './hook.js'

const MARK = 'X-Proxy-Aware-Self-Test'
const mark = (headers: HeaderSet, out: boolean): HeaderSet => addHeader(headers, out, MARK, '1')

/**
 * An HTTP/1 response, hooked, then `send` (which calls `writeHead`);
 * returns what went wrong, or undefined.
 */
const request = (): IncomingMessage => {
  const req = new IncomingMessage(new Socket())
  req.method = 'GET'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  return req
}

const http1 = (send: (res: ServerResponse) => void): string | undefined => {
  const res = new ServerResponse(request())
  if (!onHeaders(res, mark)) return 'http.ServerResponse.prototype._storeHeader (or the response header map) is missing'
  send(res)
  // what Node will write to the socket (not sent: there is no connection)
  const serialised = (res as unknown as { _header?: unknown })._header
  if (typeof serialised !== 'string' || !serialised.includes(`\r\n${MARK}: 1\r\n`)) {
    return 'the headers a ServerResponse writes no longer pass through ServerResponse.prototype._storeHeader'
  }
  return undefined
}

/** The same through an HTTP/2 compatibility response on a stand-in stream. */
const http2 = (): string | undefined => {
  let sent: Record<string, unknown> | undefined
  const stream = Object.assign(new EventEmitter(), {
    headersSent: false,
    destroyed: false,
    respond(headers: Record<string, unknown>) {
      sent = headers
    },
  })
  const res = new Http2ServerResponse(stream as never)
  if (!onHeaders(res as unknown as ServerResponse, mark)) return 'http2.Http2ServerResponse has no stream.respond'
  res.setHeader('Set-Cookie', 'a=1')
  res.writeHead(200)
  if (sent?.[MARK.toLowerCase()] !== '1') {
    return 'the headers an Http2ServerResponse sends no longer pass through res.stream.respond'
  }
  return undefined
}

/**
 * A stand-in for Bun's native response handle (`NodeHTTPResponse`): records
 * the header sets the response sends it.
 */
const standInHandle = (sent: HeaderSet[]) =>
  new (class StandIn {
    flags = 0
    bufferedAmount = 0
    writeHead(_status: unknown, _message: unknown, headers: HeaderSet) {
      sent.push(headers)
    }
    writeHeadAndEnd(_status: unknown, _message: unknown, headers: HeaderSet) {
      sent.push(headers)
      return 0
    }
    cork(run: () => void) {
      run()
    }
    write() {
      return 0
    }
  })()

/**
 * Bun: a ServerResponse with a native handle (under `key`) sends its final
 * header set through the handle: checked with a stand-in handle, through
 * `end` (writeHeadAndEnd) and `write` (writeHead). Nothing to check where
 * responses have no handle (Node, Deno). `Response` is for tests. @internal
 */
export const nativeHandle = (
  key: symbol | undefined = nativeHandleKey(),
  Response: typeof ServerResponse = ServerResponse,
): string | undefined => {
  if (key === undefined) return undefined
  const sends: ((res: ServerResponse) => void)[] = [res => res.end(), res => res.write('x')]
  for (const send of sends) {
    const sent: HeaderSet[] = []
    const req = request() as unknown as Record<symbol, unknown>
    req[key] = standInHandle(sent)
    const res = new Response(req as unknown as IncomingMessage)
    onHeaders(res, mark, key)
    res.setHeader('Set-Cookie', 'a=1')
    send(res)
    if (sent.length !== 1 || !hasHeader(sent[0], false, MARK.toLowerCase())) {
      return "the headers a ServerResponse writes no longer pass through its native handle's writeHead / writeHeadAndEnd"
    }
  }
  return undefined
}

/** Run the self-test (uncached); returns what failed, or null. @internal */
export const selfTest = (): string | null => {
  try {
    // both shapes _storeHeader is handed: the response's own header map,
    // and the object given to writeHead
    return (
      http1(res => {
        res.setHeader('Set-Cookie', 'a=1')
        res.writeHead(200)
      }) ??
      http1(res => res.writeHead(200, { 'Set-Cookie': 'a=1' })) ??
      http2() ??
      nativeHandle() ??
      null
    )
  } catch (e) {
    return `the self-test threw: ${(e as Error).message}`
  }
}

/** undefined: not run yet; null: passed; a string: what failed. */
let verdict: string | null | undefined

/** The self-test's result, run once per process. */
export const responseHookProblem = (): string | null => {
  if (verdict === undefined) verdict = selfTest()
  return verdict
}

/**
 * `compiler`, refusing to compile (when configured) on a runtime whose
 * internals fail the self-test: never run without the hook. @internal
 */
export const needsResponseHook = (
  compiler: FeatureCompiler,
  without: string,
  problemOf: () => string | null = responseHookProblem,
): FeatureCompiler => ({
  options: compiler.options,
  compile(options, engine) {
    const feature = compiler.compile(options, engine)
    if (feature === undefined) return undefined
    const problem = problemOf()
    if (problem !== null) {
      throw new ProxyAwareConfigError(
        compiler.options[0]!,
        `cannot be enforced on ${runtimeName()}: ${problem}. proxy-aware hooks these internals of node:http and is tested on Node 20, 22, 24 and 26, Deno 2.9 and Bun 1.4; it refuses to start rather than ${without}. Run a tested runtime version, or turn the option off.`,
      )
    }
    return feature
  },
})

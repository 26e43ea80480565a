/**
 * proxy-aware for OpenTelemetry: hooks for `@opentelemetry/instrumentation-http`
 * that put proxy-aware's decision (client IP, protocol, host) on every HTTP
 * server span, in place of the instrumentation's own guesses (it takes the
 * leftmost `X-Forwarded-For` entry, which any client can write).
 *
 * Imports nothing from OpenTelemetry: the types below are structural, so
 * the package works (and type-checks) whether or not OpenTelemetry is
 * installed.
 * @module
 */
import { type ClientRequest, IncomingMessage } from 'node:http'
import { compileEngine, type TrustProxy } from '../engine/index.js'
import type { TrustProxyOptions } from '../engine/options.js'
import type { Resolution } from '../engine/resolution.js'
import { DEFAULT_FEATURES } from '../features/index.js'

export type { TrustProxy } from '../engine/index.js'
export type { TrustProxyOptions } from '../engine/options.js'
export type { Resolution } from '../engine/resolution.js'
export { ProxyAwareConfigError } from '../core/errors.js'

/** An OpenTelemetry attribute value, as far as these hooks set them. @public */
export type SpanAttributeValue = string | number

/** The part of an OpenTelemetry `Span` the request hook uses. @public */
export interface SpanLike {
  setAttribute(key: string, value: SpanAttributeValue): unknown
  /** the SDK span's recorded attributes (read to find old semconv names) */
  readonly attributes?: Readonly<Record<string, unknown>>
}

/**
 * Options of `HttpInstrumentation` that proxy-aware fills in: spread them
 * into its configuration.
 * @public
 */
export interface OtelHooks {
  /**
   * Called by the instrumentation for each incoming request before the
   * server span starts: returns the trusted `client.address`,
   * `client.port`, `network.peer.address`, `url.scheme`, `server.address`
   * and `server.port`, which the instrumentation merges over its own.
   * An attribute proxy-aware cannot vouch for is returned as `undefined`,
   * which removes the instrumentation's guess.
   */
  startIncomingSpanHook(request: IncomingMessage): Record<string, SpanAttributeValue | undefined>
  /**
   * Called with the started span: overrides the pre-1.21 attribute names
   * that the instrumentation reads from headers (`http.client_ip`,
   * `http.scheme`, `net.host.name`, `http.host`) on spans that carry them,
   * for instrumentation versions that still emit them (up to 0.220, by
   * default or with `OTEL_SEMCONV_STABILITY_OPT_IN=http/dup`).
   */
  requestHook(span: SpanLike, request: IncomingMessage | ClientRequest): void
}

/** IPv6 literals lose their brackets: semconv addresses are bare IPs. */
const bare = (hostname: string | undefined): string | undefined =>
  hostname !== undefined && hostname.charCodeAt(0) === 91 /* [ */ ? hostname.slice(1, -1) : hostname

/** The stable HTTP semconv attributes for one resolution. */
const stableAttributes = (r: Resolution, req: IncomingMessage): Record<string, SpanAttributeValue | undefined> => ({
  'client.address': r.ip,
  // the client's port is known only when the client is the socket peer
  'client.port': r.source === 'socket' && r.ip !== undefined ? req.socket?.remotePort : undefined,
  'network.peer.address': r.peer,
  'url.scheme': r.protocol,
  'server.address': bare(r.hostname),
  'server.port': r.port ?? undefined,
})

/**
 * Old (pre-1.21) semconv names that come from request headers, and how to
 * read them from a resolution. (`net.peer.ip` and `net.host.port` are the
 * socket's own and right as they are.)
 */
const OLD_NAMES: ReadonlyArray<readonly [string, (r: Resolution) => SpanAttributeValue | undefined]> = [
  ['http.client_ip', r => r.ip],
  ['http.scheme', r => r.protocol],
  ['net.host.name', r => bare(r.hostname)],
  ['http.host', r => r.host],
]

/**
 * Hooks for `@opentelemetry/instrumentation-http` that write proxy-aware's
 * decision into HTTP server spans. Pass the engine your server uses
 * (`createTrustProxy(...)`: the decision is then made once per request and
 * shared), or the same options object you give the Fastify plugin or the
 * Express middleware (the decision is a function of the options and the
 * request, so both see the same answer). Nothing runs unless the
 * instrumentation calls a hook.
 *
 * @example
 * import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
 * import { otelHooks } from 'proxy-aware/otel'
 * const options = { trust: ['loopback', '10.0.0.0/8'] }
 * new HttpInstrumentation({ ...otelHooks(options) })
 * await app.register(trustProxy, options) // or app.use(trustProxy(options))
 * @public
 */
export function otelHooks(proxy: TrustProxy | TrustProxyOptions): OtelHooks {
  // `logger` is the Express middleware's own option: the same object works
  // (anything else, null included, is options: compileEngine says what is wrong)
  const { resolve } =
    typeof (proxy as TrustProxy | null)?.resolve === 'function'
      ? (proxy as TrustProxy)
      : compileEngine(proxy as TrustProxyOptions, ['logger'], DEFAULT_FEATURES)
  return {
    startIncomingSpanHook: function proxyAwareSpanAttributes(request) {
      return stableAttributes(resolve(request), request)
    },
    requestHook: function proxyAwareOldSpanAttributes(span, request) {
      // outgoing requests (ClientRequest) have no client to report
      if (!(request instanceof IncomingMessage)) return
      const recorded = span.attributes
      if (recorded === undefined) return
      const r = resolve(request)
      for (const [name, read] of OLD_NAMES) {
        if (!(name in recorded)) continue
        const value = read(r)
        // setAttribute cannot remove: an untrusted guess becomes empty
        span.setAttribute(name, value ?? '')
      }
    },
  }
}

export default otelHooks

/**
 * The Express glue: request getters on the app's prototypes, the `trust
 * proxy` setting, and the middleware that runs the features (wrapped by
 * `src/express.ts`).
 */
import type { NextFunction, Request, Response } from 'express'
import { escapeText } from '../core/escape.js'
import { checkLogger, type Logger } from '../core/options.js'
import { objectSet, type ObjectSet, ownShapeAfterSetPrototype } from '../core/runtime.js'
import { warnTo } from '../engine/diagnostics.js'
import { compileEngine, type Engine } from '../engine/index.js'
import type { TrustProxyOptions } from '../engine/options.js'
import type { Explanation } from '../engine/explain.js'
import type { RequestLike, Resolution } from '../engine/resolution.js'
import type { TrustFunction } from '../engine/trust.js'
import { type FeatureCompiler, sendAnswer } from '../features/feature.js'
import {
  type ClientCertError,
  type ClientCertificate,
  clientCertErrorOf,
  clientCertOf,
} from '../features/client-cert/index.js'
import { type ProxyProtocolInfo, proxyProtocolOf } from '../proxy-protocol/info.js'

/** Options of the Express middleware. @public */
export interface ExpressTrustProxyOptions extends TrustProxyOptions {
  /**
   * Where warnings and rejected requests are reported (pino-compatible).
   * Express has no logger of its own. @default a logger that drops
   * everything, except the misconfiguration warnings, which then go to
   * `process.emitWarning`
   */
  logger?: Logger
}

declare global {
  // Express's Request type lives in the global Express namespace
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * Everything proxy-aware decided about this request: client IP, the
       * chain walked, protocol, host, and why the walk stopped.
       */
      proxyAware: Resolution
      /**
       * The decision trail behind `proxyAware`, for diagnostics: each
       * address, whether it was trusted and by which `trust` entry, why the
       * walk stopped, which header gave the protocol and the host.
       */
      explainProxyAware(): Explanation
      /** the verified, allowed client certificate (`clientCert` option), or undefined */
      readonly clientCert: ClientCertificate | undefined
      /** why there is no accepted client certificate, or undefined */
      readonly clientCertError: ClientCertError | undefined
      /**
       * The PROXY protocol header of this request's connection (server
       * wrapped with `proxyProtocol()` from `proxy-aware/proxy-protocol`),
       * or undefined.
       */
      readonly proxyProtocol: ProxyProtocolInfo | undefined
    }
  }
}

/** The middleware, with the compiled trust predicate attached. @public */
export interface TrustProxyMiddleware {
  (req: Request, res: Response, next: NextFunction): void
  /** The compiled predicate, also installed as the app's `trust proxy` (`trust: true` is installed as `true`). */
  trust: TrustFunction
}

type Readers = Record<string, (r: Resolution, req: Request, engine: Engine) => unknown>
/** what warnIfPartial reads of an Express router (4 and 5 alike) */
type Stack = { stack: Array<{ handle: unknown; route?: unknown; name?: string }> }

/** every getter proxy-aware installed and every trust predicate it set as `trust proxy`, in any app */
const ours = new WeakSet<object>()
/** the getter `name` has on the prototypes above `proto`, if any */
const getterAbove = (proto: object, name: string): ((this: unknown) => unknown) | undefined => {
  for (
    let p = Object.getPrototypeOf(proto) as object | null;
    p !== null;
    p = Object.getPrototypeOf(p) as object | null
  ) {
    const d = Object.getOwnPropertyDescriptor(p, name)
    if (d !== undefined) return d.get
  }
  return undefined
}

/** What each request property reports, from the resolution (Express 5). */
const READERS_5: Readers = {
  proxyAware: r => r,
  // a method, of the engine that decided
  explainProxyAware: (_r, req, engine) => () => engine.explain(req as unknown as RequestLike),
  ip: r => r.ip,
  // Express's order: client first, the socket peer left out
  // (a trusted Unix-socket peer has no address and is not in r.ips)
  ips: r => (r.peer === undefined ? r.ips.slice() : r.ips.slice(1)).reverse(),
  protocol: r => r.protocol,
  secure: r => r.secure,
  host: r => r.host,
  hostname: r => r.hostname,
  clientCert: (_r, req) => clientCertOf(req),
  clientCertError: (_r, req) => clientCertErrorOf(req),
  proxyProtocol: (_r, req) => proxyProtocolOf(req),
}
/** Express 4's req.host is (a deprecated alias of) the hostname, no port. */
const READERS_4: Readers = { ...READERS_5, host: r => r.hostname }

/** The resolution of a request, from the engine's resolver. */
type Result = (req: Request) => Resolution
/**
 * Express sets the prototype of every request: where that gives each
 * request a hidden class of its own (Node 20 and 22), every property added
 * to one costs a new hidden class, so the middleware keeps its state in
 * WeakMaps (measured in docs/benchmarks.md#an-express-route).
 */
const WEAK = ownShapeAfterSetPrototype()

/**
 * Getters on an app's request prototype (`app.request`): defined once,
 * they cost nothing per request, whereas own accessors defined on every
 * request cost ~15 µs (V8 turns the request into a dictionary object).
 * They answer for every request of the app and its sub-apps, not only
 * those that pass the middleware: a route before it, outside its mount
 * path or a limiter ahead of it would otherwise reach Express's getters,
 * which read the `trust proxy` set below the Express way (X-Forwarded-Host
 * whatever `forwardedHost` says, the leftmost X-Forwarded-Proto).
 */
const install = (proto: object, readers: Readers, passed: ObjectSet, result: Result, engine: Engine) => {
  for (const name of Object.keys(readers)) {
    const read = readers[name]!
    const before = Object.getOwnPropertyDescriptor(proto, name)?.get
    const get = function (this: Request) {
      if (!passed.has(this)) {
        // another proxy-aware middleware installed earlier on this app, or
        // on the app this one is mounted in, answers requests that did not
        // pass this one (it decides for them the same way, in turn)
        const up = before ?? getterAbove(proto, name)
        if (up !== undefined && ours.has(up)) return up.call(this) as unknown
      }
      return read(result(this), this, engine)
    }
    ours.add(get)
    Object.defineProperty(proto, name, { configurable: true, enumerable: true, get })
  }
}

/** Warn, at an app's first request, when the middleware cannot cover all of it. */
const warnIfPartial = (req: Request, log: Logger, trustEveryone: boolean, middleware: TrustProxyMiddleware) => {
  // until the first request through the middleware, Express answered with
  // a setting the app chose: warn when that was looser than no trust
  const prior: unknown = req.app.get('trust proxy')
  if (prior !== false && !(prior === true && trustEveryone) && !ours.has(prior as object)) {
    log.warn(
      { trustProxy: String(prior) },
      "proxy-aware: the app set Express's trust proxy itself (before or after the middleware): until a request passed the middleware, req.ip and req.protocol followed the app's setting, and proxy-aware has now replaced it with its own decision; remove the app.set('trust proxy', ...) call (proxy-aware keeps trust proxy in agreement with its trust option)",
    )
  }
  // the getters cover the whole app; the policies only what comes after
  // the middleware, and the getters nothing of an app this one is mounted in
  if (req.baseUrl !== '') {
    log.warn(
      { mountPath: escapeText(req.baseUrl) },
      `proxy-aware: the middleware runs under ${escapeText(req.baseUrl)}: its policies do not run for other paths, nor does it decide for the app this is mounted in; mount it first, at the root`,
    )
    return
  }
  // Express 4 keeps the router in app._router, Express 5 in app.router
  const app = req.app as unknown as { _router?: Stack; router: Stack }
  const { stack } = app._router ?? app.router
  const at = stack.findIndex(layer => layer.handle === middleware)
  const routes = stack
    .slice(0, Math.max(at, 0))
    .filter(layer => layer.route !== undefined || layer.name === 'router' || layer.name === 'mounted_app').length
  if (routes > 0)
    log.warn(
      { routes },
      `proxy-aware: ${routes} route(s) or router(s) come before the middleware: its policies do not run for them; mount it first`,
    )
}

/** Own accessors for a request without Express (plain http, connect). */
const ownAccessors = (result: Result, engine: Engine): PropertyDescriptorMap => {
  const own: PropertyDescriptorMap = {}
  for (const name of Object.keys(READERS_5)) {
    const read = READERS_5[name]!
    own[name] = {
      configurable: true,
      enumerable: true,
      get(this: Request) {
        return read(result(this), this, engine)
      },
    }
  }
  return own
}

/** The Express middleware running `features` (see `trustProxy` in src/express.ts). */
export function expressMiddleware(
  options: ExpressTrustProxyOptions,
  features: readonly FeatureCompiler[],
): TrustProxyMiddleware {
  // first, so that warnings at startup (a stale preset) reach it; a
  // missing options object is compileEngine's to report
  const log = checkLogger('logger', (options as Partial<ExpressTrustProxyOptions> | undefined)?.logger)
  const engine = compileEngine(options, ['logger'], features, warnTo(log), WEAK)
  const { resolve, trust } = engine
  ours.add(trust)
  const result = (req: Request): Resolution => resolve(req as unknown as Parameters<typeof resolve>[0])
  // the requests that came through this middleware
  const passed = objectSet('proxy-aware.passed', WEAK)
  const trustEveryone = options.trust === true
  // the apps' request prototypes (app.request) that carry our getters: a
  // request's prototype is cheap to read, its `app` property is not where
  // Express requests have hidden classes of their own (see WEAK)
  const installed = new WeakSet<object>()
  // without Express (plain http, connect): own accessors on the request
  const own = ownAccessors(result, engine)

  const middleware = function proxyAware(req: Request, res: Response, next: NextFunction) {
    if (!installed.has(Object.getPrototypeOf(req) as object)) {
      const app = req.app as Request['app'] | undefined
      if (app === undefined) Object.defineProperties(req, own)
      else {
        // a request whose prototype is not its app's (another middleware set
        // one above it) comes here each time, and finds the getters installed
        const request = (app as unknown as { request: object }).request
        if (!installed.has(request)) {
          installed.add(request)
          warnIfPartial(req, log, trustEveryone, middleware)
          // Keep Express's own setting in agreement, so libraries that read it
          // (express-rate-limit's validations) see the same decision; `true`
          // stays `true`, so their warnings about trusting everyone still fire.
          app.set('trust proxy', trustEveryone ? true : trust)
          // req.param() is Express 4 only (removed in 5)
          const readers = typeof (req as { param?: unknown }).param === 'function' ? READERS_4 : READERS_5
          install(request, readers, passed, result, engine)
        }
      }
    }
    passed.add(req)
    if (engine.hasFeatures) {
      const ctx = { req, res, resolution: result(req), log, route: undefined, url: req.originalUrl }
      const answer = engine.run(ctx)
      if (answer !== undefined) {
        sendAnswer(req, res, answer)
        return
      }
    }
    next()
  } as TrustProxyMiddleware
  middleware.trust = trust
  return middleware
}

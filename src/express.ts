/**
 * proxy-aware for Express 4 and 5: `app.use(trustProxy(options))`.
 * @module
 */
import type { NextFunction, Request, Response } from 'express'
import { compileEngine, type Resolution, type TrustProxyOptions } from './resolve.js'
import type { TrustFunction } from './trust.js'
import { type Logger, silentLogger } from './features.js'
import {
  type ClientCertError,
  type ClientCertificate,
  clientCertErrorOf,
  clientCertOf,
  type ClientCertRoutePolicy,
  compileClientCertPolicy,
} from './mtls.js'

export type { Resolution, TrustProxyOptions } from './resolve.js'
export { ProxyAwareConfigError } from './errors.js'

/** Options of the Express middleware. @public */
export interface ExpressTrustProxyOptions extends TrustProxyOptions {
  /**
   * Where warnings and rejected requests are reported (pino-compatible).
   * Express has no logger of its own. @default a logger that drops everything
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
      /** the verified, allowed client certificate (`clientCert` option), or undefined */
      readonly clientCert: ClientCertificate | undefined
      /** why there is no accepted client certificate, or undefined */
      readonly clientCertError: ClientCertError | undefined
    }
  }
}

/** The middleware, with the compiled trust predicate attached. @public */
export interface TrustProxyMiddleware {
  (req: Request, res: Response, next: NextFunction): void
  /** The compiled predicate (also installed as the app's `trust proxy`). */
  trust: TrustFunction
}


/**
 * Create the Express middleware. Install it first:
 *
 * @example
 * import { trustProxy } from 'proxy-aware/express'
 * app.use(trustProxy({ trust: ['loopback', '10.0.0.0/8'] }))
 * app.get('/', (req, res) => res.json({ ip: req.ip, secure: req.secure }))
 * @public
 */
export function trustProxy(options: ExpressTrustProxyOptions): TrustProxyMiddleware {
  const engine = compileEngine(options, ['logger'])
  const { resolve, trust } = engine
  const log = options.logger ?? silentLogger
  const result = (req: Request): Resolution => resolve(req as unknown as Parameters<typeof resolve>[0])
  // Own accessors shadow the getters Express defines on its request
  // prototypes, including in mounted sub-apps (which swap the prototype).
  const descriptors: PropertyDescriptorMap = {
    proxyAware: { configurable: true, enumerable: true, get(this: Request) { return result(this) } },
    ip: { configurable: true, enumerable: true, get(this: Request) { return result(this).ip } },
    ips: { configurable: true, enumerable: true, get(this: Request) { return result(this).ips.slice(1).reverse() } },
    protocol: { configurable: true, enumerable: true, get(this: Request) { return result(this).protocol } },
    secure: { configurable: true, enumerable: true, get(this: Request) { return result(this).secure } },
    host: { configurable: true, enumerable: true, get(this: Request) { return result(this).host } },
    hostname: { configurable: true, enumerable: true, get(this: Request) { return result(this).hostname } },
    clientCert: { configurable: true, enumerable: true, get(this: Request) { return clientCertOf(this) } },
    clientCertError: { configurable: true, enumerable: true, get(this: Request) { return clientCertErrorOf(this) } },
  }
  const configured = new WeakSet<object>()
  const middleware = function proxyAware(req: Request, res: Response, next: NextFunction) {
    const app = req.app
    if (app !== undefined && !configured.has(app)) {
      // Keep Express's own setting in agreement, so libraries that read it
      // (express-rate-limit's validations) see the same decision.
      app.set('trust proxy', trust)
      configured.add(app)
    }
    Object.defineProperties(req, descriptors)
    if (engine.hasFeatures) {
      const ctx = { req, res, resolution: result(req), log, route: undefined }
      const answer = engine.check(ctx)
      if (answer !== undefined) {
        res.writeHead(answer.status, answer.headers)
        res.end(req.method === 'HEAD' ? undefined : answer.body)
        return
      }
      engine.respond(ctx)
    }
    next()
  } as TrustProxyMiddleware
  middleware.trust = trust
  return middleware
}

/**
 * A client-certificate policy for one router or route, on top of the
 * `clientCert` option of `trustProxy` (set its `mode: 'optional'`, then
 * require or restrict certificates where needed).
 *
 * @example
 * app.use(trustProxy({ trust: 'loopback', clientCert: { mode: 'optional' } }))
 * admin.use(clientCertPolicy({ mode: 'required', allow: { uri: ['spiffe://example.org/admin'] } }))
 * @public
 */
export function clientCertPolicy(options: ClientCertRoutePolicy & { logger?: Logger }): (req: Request, res: Response, next: NextFunction) => void {
  const { apply, logger } = compileClientCertPolicy(options)
  const log = logger ?? silentLogger
  return function proxyAwareClientCertPolicy(req, res, next) {
    const answer = apply({ req, log, peer: req.proxyAware?.peer })
    if (answer !== undefined) {
      res.writeHead(answer.status, answer.headers)
      res.end(req.method === 'HEAD' ? undefined : answer.body)
      return
    }
    next()
  }
}

export default trustProxy

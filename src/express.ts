/**
 * proxy-aware for Express 4 and 5: `app.use(trustProxy(options))`.
 * @module
 */
import type { NextFunction, Request, Response } from 'express'
import { expressMiddleware, type ExpressTrustProxyOptions, type TrustProxyMiddleware } from './adapters/express.js'
import type { Logger } from './core/options.js'
import { sendAnswer } from './features/feature.js'
import { type ClientCertRoutePolicy, compileClientCertPolicy } from './features/client-cert/index.js'
import { DEFAULT_FEATURES } from './features/index.js'

export type { ExpressTrustProxyOptions, TrustProxyMiddleware } from './adapters/express.js'
export type { TrustProxyOptions } from './engine/options.js'
export type { Resolution } from './engine/resolution.js'
export type { Explanation } from './engine/explain.js'
export type { ProxyProtocolInfo } from './proxy-protocol/info.js'
export { ProxyAwareConfigError } from './core/errors.js'

/**
 * Create the Express middleware. Mount it first, at the root: once a
 * request has passed it, `req.ip`, `req.ips` (client first, the socket peer
 * left out, `[]` when the peer is not trusted), `req.protocol`,
 * `req.secure`, `req.hostname`, `req.host` and `req.proxyAware` report
 * proxy-aware's decision for every request of the app, in mounted sub-apps
 * and routers too, also routes before the middleware or outside its mount
 * path (its policies run only where it runs). `req.host` keeps each major's
 * meaning: `host[:port]` on Express 5, the hostname on Express 4. The app's
 * `trust proxy` setting is set to the compiled predicate, so libraries that
 * read it agree; leave it unset yourself.
 *
 * @example
 * import { trustProxy } from 'proxy-aware/express'
 * app.use(trustProxy({ trust: ['loopback', '10.0.0.0/8'] }))
 * app.get('/', (req, res) => res.json({ ip: req.ip, secure: req.secure }))
 * @public
 */
export function trustProxy(options: ExpressTrustProxyOptions): TrustProxyMiddleware {
  return expressMiddleware(options, DEFAULT_FEATURES)
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
export function clientCertPolicy(
  options: ClientCertRoutePolicy & { logger?: Logger },
): (req: Request, res: Response, next: NextFunction) => void {
  const { apply, logger: log } = compileClientCertPolicy(options)
  return function proxyAwareClientCertPolicy(req, res, next) {
    const answer = apply({ req, log, peer: req.proxyAware?.peer })
    if (answer !== undefined) {
      sendAnswer(req, res, answer)
      return
    }
    next()
  }
}

export default trustProxy

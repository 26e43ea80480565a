/**
 * proxy-aware for Fastify 5: `app.register(trustProxy, options)`.
 * @module
 */
import fp from 'fastify-plugin'
import { fastifyPlugin } from './adapters/fastify.js'
import { DEFAULT_FEATURES } from './features/index.js'

export type { FastifyTrustProxyOptions } from './adapters/fastify.js'
export type { TrustProxyOptions } from './engine/options.js'
export type { Resolution } from './engine/resolution.js'
export type { Explanation } from './engine/explain.js'
export type { ProxyProtocolInfo } from './proxy-protocol/info.js'
export { ProxyAwareConfigError } from './core/errors.js'

/**
 * The Fastify plugin. Register it once, on the root instance: from then on
 * `request.ip`, `request.ips` (nearest first, the socket peer included, as
 * Fastify orders them), `request.protocol`, `request.host`,
 * `request.hostname`, `request.port` and `request.proxyAware` report
 * proxy-aware's decision in every route, hook and plugin, registered
 * before or after it. The decision is made once per request, on first
 * read. Fails at startup if Fastify's own `trustProxy` is set, if it is
 * registered twice, or for any bad option.
 *
 * @example
 * import trustProxy from 'proxy-aware/fastify'
 * const app = Fastify()
 * await app.register(trustProxy, { trust: ['loopback', '10.0.0.0/8'] })
 * app.get('/', req => ({ ip: req.ip, protocol: req.protocol }))
 * @public
 */
export const trustProxy = fp(fastifyPlugin(DEFAULT_FEATURES), { fastify: '5.x', name: 'proxy-aware' })
export default trustProxy

/**
 * proxy-aware for Fastify 5: `app.register(trustProxy, options)`.
 * @module
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import { ProxyAwareConfigError } from './errors.js'
import { compileEngine, type Resolution, type TrustProxyOptions } from './resolve.js'
import {
  assertClientCertServer,
  checkRoutePolicy,
  type ClientCertError,
  type ClientCertificate,
  clientCertErrorOf,
  clientCertOf,
  type ClientCertRoutePolicy,
} from './mtls.js'

export type { Resolution, TrustProxyOptions } from './resolve.js'
export { ProxyAwareConfigError } from './errors.js'

/** Options of the Fastify plugin. @public */
export interface FastifyTrustProxyOptions extends TrustProxyOptions {}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Everything proxy-aware decided about this request: client IP, the
     * chain walked, protocol, host, and why the walk stopped.
     */
    readonly proxyAware: Resolution
    /** the verified, allowed client certificate (`clientCert` option), or undefined */
    readonly clientCert: ClientCertificate | undefined
    /** why there is no accepted client certificate, or undefined */
    readonly clientCertError: ClientCertError | undefined
  }
  interface FastifyContextConfig {
    /** per-route client-certificate policy, or `false` to skip the check on this route */
    clientCert?: ClientCertRoutePolicy | false
  }
}


const plugin: FastifyPluginCallback<FastifyTrustProxyOptions> = function proxyAware(
  fastify: FastifyInstance,
  options: FastifyTrustProxyOptions,
  done: (err?: Error) => void,
) {
  if (fastify.hasRequestDecorator('proxyAware')) {
    throw new ProxyAwareConfigError('trust', 'is configured twice: proxy-aware is already registered on this Fastify instance')
  }
  const engine = compileEngine(options, [])
  const { resolve } = engine
  fastify.decorateRequest('proxyAware', {
    getter() {
      return resolve(this.raw)
    },
  })
  // request.ip and friends are getters on Fastify's Request prototype:
  // redefining them as getters on this instance's prototype is free per
  // request (nothing runs unless they are read) and order-independent
  // (every plugin, registered before or after us, reads these).
  try {
    fastify.decorateRequest('ip', {
      getter() {
        return resolve(this.raw).ip as string
      },
    })
  } catch (err) {
    if ((err as { code?: string }).code === 'FST_ERR_DEC_ALREADY_PRESENT') {
      throw new ProxyAwareConfigError(
        'trustProxy',
        'is set on Fastify() as well: remove Fastify\'s own trustProxy, proxy-aware replaces it (two trust settings would give two answers for request.ip)',
      )
    }
    /* c8 ignore next */
    throw err
  }
  fastify.decorateRequest('ips', {
    getter() {
      return resolve(this.raw).ips
    },
  })
  fastify.decorateRequest('protocol', {
    getter() {
      return resolve(this.raw).protocol
    },
  })
  fastify.decorateRequest('host', {
    getter() {
      return resolve(this.raw).host ?? ''
    },
  })
  fastify.decorateRequest('hostname', {
    getter() {
      return resolve(this.raw).hostname ?? ''
    },
  })
  fastify.decorateRequest('port', {
    getter() {
      return resolve(this.raw).port
    },
  })
  // client certificates: the TLS server must be set up for them, route
  // overrides are validated at startup
  if (options.clientCert !== undefined) {
    if (options.clientCert.forwarded === undefined) {
      // avvio does not catch a callback plugin's throw: hand it to done
      try {
        assertClientCertServer(fastify.server)
      } catch (err) {
        done(err as Error)
        return
      }
    }
    fastify.decorateRequest('clientCert', { getter() { return clientCertOf(this.raw) } })
    fastify.decorateRequest('clientCertError', { getter() { return clientCertErrorOf(this.raw) } })
    fastify.addHook('onRoute', route => checkRoutePolicy((route.config as { clientCert?: unknown } | undefined)?.clientCert))
  }
  if (engine.hasFeatures) {
    fastify.addHook('onRequest', function proxyAwarePolicies(request, reply, next) {
      const ctx = {
        req: request.raw,
        res: reply.raw,
        resolution: resolve(request.raw),
        log: request.log,
        route: request.routeOptions.config as unknown as Record<string, unknown> | undefined,
      }
      const answer = engine.check(ctx)
      if (answer !== undefined) {
        reply.code(answer.status).headers(answer.headers).send(answer.body)
        return
      }
      engine.respond(ctx)
      next()
    })
  }
  done()
}

/**
 * The Fastify plugin. Register it on the root instance:
 *
 * @example
 * import trustProxy from 'proxy-aware/fastify'
 * const app = Fastify()
 * await app.register(trustProxy, { trust: ['loopback', '10.0.0.0/8'] })
 * app.get('/', req => ({ ip: req.ip, protocol: req.protocol }))
 * @public
 */
export const trustProxy = fp(plugin, { fastify: '5.x', name: 'proxy-aware' })
export default trustProxy

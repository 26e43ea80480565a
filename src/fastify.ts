/**
 * proxy-aware for Fastify 5: `app.register(trustProxy, options)`.
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
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
import { type ProxyProtocolInfo, proxyProtocolOf } from './proxy-protocol/info.js'

export type { Resolution, TrustProxyOptions } from './resolve.js'
export type { ProxyProtocolInfo } from './proxy-protocol/info.js'
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
    /**
     * The PROXY protocol header of this request's connection (server
     * wrapped with `proxyProtocol()` from `proxy-aware/proxy-protocol`),
     * or undefined.
     */
    readonly proxyProtocol: ProxyProtocolInfo | undefined
  }
  interface FastifyContextConfig {
    /** per-route client-certificate policy, or `false` to skip the check on this route */
    clientCert?: ClientCertRoutePolicy | false
  }
}


// async, so that a bad option (thrown while compiling) rejects `register` /
// `ready` instead of escaping avvio as an uncaught exception
const plugin: FastifyPluginAsync<FastifyTrustProxyOptions> = async function proxyAware(
  fastify: FastifyInstance,
  options: FastifyTrustProxyOptions,
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
  fastify.decorateRequest('proxyProtocol', {
    getter() {
      return proxyProtocolOf(this.raw)
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
  } catch {
    // During boot, decorating `ip` fails only when this instance's Request
    // prototype already has its own `ip`: Fastify's trustProxy put it there
    // (or another plugin redefined request.ip).
    throw new ProxyAwareConfigError(
      'trustProxy',
      'is set on Fastify() as well (or another plugin already redefines request.ip): remove Fastify\'s own trustProxy, proxy-aware replaces it (two trust settings would give two answers for request.ip)',
    )
  }
  fastify.decorateRequest('ips', {
    getter() {
      // a copy, like Fastify's own: `request.ips.reverse()` must not
      // rewrite the cached resolution
      return resolve(this.raw).ips.slice()
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
    // the plugin is async: a throw here rejects register()/ready()
    if (options.clientCert.forwarded === undefined) assertClientCertServer(fastify.server)
    fastify.decorateRequest('clientCert', { getter() { return clientCertOf(this.raw) } })
    fastify.decorateRequest('clientCertError', { getter() { return clientCertErrorOf(this.raw) } })
    fastify.addHook('onRoute', route => checkRoutePolicy((route.config as { clientCert?: unknown } | undefined)?.clientCert))
  } else {
    // a route asking for a certificate policy that nothing enforces is a
    // configuration error, not a route open to everyone
    fastify.addHook('onRoute', route => {
      const value = (route.config as { clientCert?: unknown } | undefined)?.clientCert
      if (value !== undefined && value !== false) {
        throw new ProxyAwareConfigError(
          'config.clientCert',
          `is set on route ${route.method} ${route.url}, but proxy-aware has no clientCert option: nothing would check certificates there`,
        )
      }
    })
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
    // Fastify's own headers replace those set on reply.raw when it writes
    // the head: merge a Vary set there (client certificates, RFC 9440) into
    // the route's own Vary rather than lose it
    fastify.addHook('onSend', function proxyAwareVary(_request, reply, payload, next) {
      const ours = reply.raw.getHeader('vary')
      // (reply.getHeader falls back to reply.raw: equal means the route set none)
      const theirs = reply.getHeader('vary')
      if (ours !== undefined && theirs !== ours) reply.header('vary', `${String(theirs)}, ${String(ours)}`)
      next(null, payload)
    })
  }
}

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
export const trustProxy = fp(plugin, { fastify: '5.x', name: 'proxy-aware' })
export default trustProxy

/**
 * The Fastify glue: request getters, the hooks that run the features, and
 * the plugin function (wrapped by `src/fastify.ts`).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { warnTo } from '../engine/diagnostics.js'
import { compileEngine, type Engine } from '../engine/index.js'
import type { TrustProxyOptions } from '../engine/options.js'
import type { Explanation } from '../engine/explain.js'
import type { Resolution } from '../engine/resolution.js'
import type { FeatureCompiler } from '../features/feature.js'
import {
  assertClientCertServer,
  checkRoutePolicy,
  type ClientCertError,
  type ClientCertificate,
  clientCertErrorOf,
  clientCertOf,
  type ClientCertRoutePolicy,
} from '../features/client-cert/index.js'
import { type ProxyProtocolInfo, proxyProtocolOf } from '../proxy-protocol/info.js'
import { addPolicyHooks, internal } from './fastify-hooks.js'

/** Options of the Fastify plugin. @public */
export interface FastifyTrustProxyOptions extends TrustProxyOptions {}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Everything proxy-aware decided about this request: client IP, the
     * chain walked, protocol, host, and why the walk stopped.
     */
    readonly proxyAware: Resolution
    /**
     * The decision trail behind `proxyAware`, for diagnostics: each address,
     * whether it was trusted and by which `trust` entry, why the walk
     * stopped, which header gave the protocol and the host.
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
  interface FastifyContextConfig {
    /** per-route client-certificate policy, or `false` to skip the check on this route */
    clientCert?: ClientCertRoutePolicy | false
  }
}

/**
 * Refuse a registration inside an encapsulated child context: Fastify
 * creates a child instance with the parent instance as its prototype, and
 * decorations made there reach only that child's routes. Every other route
 * would keep Fastify's own `request.ip` (the proxy's address) and have no
 * `request.proxyAware`, silently.
 */
const assertRoot = (fastify: FastifyInstance) => {
  const parent = Object.getPrototypeOf(fastify) as object | null
  /* c8 ignore next -- Fastify 5's root instance is a plain object; a null prototype would be new */
  if (parent === null || internal(parent, 'fastify.children') === undefined) return
  throw new ProxyAwareConfigError(
    'trust',
    `is registered inside an encapsulated plugin${fastify.prefix === '' ? '' : ` (prefix ${show(fastify.prefix)})`}: routes outside it would keep Fastify's own request.ip (the proxy's address) and have no request.proxyAware. Register proxy-aware on the root instance (app.register(trustProxy, ...) at the top level; order does not matter), or wrap the plugin that registers it with fastify-plugin`,
  )
}

/** Refuse a second registration on this instance, or one in an encapsulated child context. */
const assertRegistration = (fastify: FastifyInstance) => {
  if (fastify.hasRequestDecorator('proxyAware')) {
    throw new ProxyAwareConfigError(
      'trust',
      'is configured twice: proxy-aware is already registered on this Fastify instance',
    )
  }
  assertRoot(fastify)
}

/** Decorate requests with what proxy-aware adds: proxyAware, explainProxyAware, proxyProtocol. */
const decorateResolution = (fastify: FastifyInstance, engine: Engine) => {
  const { resolve } = engine
  fastify.decorateRequest('proxyAware', {
    getter() {
      return resolve(this.raw)
    },
  })
  fastify.decorateRequest('explainProxyAware', function (this: FastifyRequest) {
    return engine.explain(this.raw)
  })
  fastify.decorateRequest('proxyProtocol', {
    getter() {
      return proxyProtocolOf(this.raw)
    },
  })
}

/** Redefine Fastify's request.ip, ips, protocol, host, hostname and port from the resolution. */
const replaceRequestGetters = (fastify: FastifyInstance, resolve: Engine['resolve']) => {
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
      "is set on Fastify() as well (or another plugin already redefines request.ip): remove Fastify's own trustProxy, proxy-aware replaces it (two trust settings would give two answers for request.ip)",
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
}

/** Refuse `trustCertificate` on a server that does not verify client certificates (it would never trust by one). */
const assertTrustCertificateServer = (fastify: FastifyInstance, options: FastifyTrustProxyOptions) => {
  const tlsServer = fastify.server as { requestCert?: unknown; ca?: unknown }
  // (trustCertificate on Bun and Deno was refused when the engine compiled it)
  if (options.trustCertificate !== undefined && (tlsServer.requestCert !== true || tlsServer.ca == null)) {
    throw new ProxyAwareConfigError(
      'trustCertificate',
      `needs Fastify's https server to verify client certificates (requestCert: true and an explicit ca), got requestCert: ${show(tlsServer.requestCert)}, ca: ${tlsServer.ca == null ? 'none' : 'set'}`,
    )
  }
}

/** Client certificates: check the TLS server, decorate requests, and validate route policies at startup. */
const addClientCert = (fastify: FastifyInstance, options: FastifyTrustProxyOptions) => {
  if (options.clientCert !== undefined) {
    // the plugin is async: a throw here rejects register()/ready()
    if (options.clientCert.forwarded === undefined) assertClientCertServer(fastify.server)
    fastify.decorateRequest('clientCert', {
      getter() {
        return clientCertOf(this.raw)
      },
    })
    fastify.decorateRequest('clientCertError', {
      getter() {
        return clientCertErrorOf(this.raw)
      },
    })
    fastify.addHook('onRoute', route =>
      checkRoutePolicy((route.config as { clientCert?: unknown } | undefined)?.clientCert),
    )
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
}

/**
 * The Fastify plugin function running `features` (the entry point passes
 * every feature; tests pass their own).
 */
export const fastifyPlugin = (features: readonly FeatureCompiler[]): FastifyPluginAsync<FastifyTrustProxyOptions> =>
  // async, so that a bad option (thrown while compiling) rejects `register` /
  // `ready` instead of escaping avvio as an uncaught exception
  async function proxyAware(fastify: FastifyInstance, options: FastifyTrustProxyOptions) {
    assertRegistration(fastify)
    // misconfiguration warnings go to the app's logger
    const engine = compileEngine(options, [], features, warnTo(fastify.log))
    decorateResolution(fastify, engine)
    replaceRequestGetters(fastify, engine.resolve)
    // a server that does not verify client certificates never trusts by one
    assertTrustCertificateServer(fastify, options)
    // client certificates: the TLS server must be set up for them, route
    // overrides are validated at startup
    addClientCert(fastify, options)
    if (engine.hasFeatures) addPolicyHooks(fastify, engine)
  }

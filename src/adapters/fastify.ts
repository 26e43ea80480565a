/**
 * The Fastify glue: request getters, the hooks that run the features, and
 * the plugin function (wrapped by `src/fastify.ts`).
 */
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import type { Logger } from '../core/options.js'
import { warnTo } from '../engine/diagnostics.js'
import { compileEngine } from '../engine/index.js'
import type { TrustProxyOptions } from '../engine/options.js'
import type { Explanation } from '../engine/explain.js'
import type { Resolution } from '../engine/resolution.js'
import { type Answer, type FeatureCompiler, sendAnswer } from '../features/feature.js'
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

type Listener = (this: unknown, req: IncomingMessage, res: ServerResponse) => void

/**
 * Put `step` before the server's 'request' listeners (Fastify's router is
 * one): when it returns true it has answered, and they do not run. Raw
 * listeners, so that a `once` listener still fires once.
 */
const runFirst = (server: EventEmitter, step: (req: IncomingMessage, res: ServerResponse) => boolean) => {
  const listeners = server.rawListeners('request') as Listener[]
  server.removeAllListeners('request')
  server.on('request', function proxyAwareRequest(this: unknown, req: IncomingMessage, res: ServerResponse) {
    if (step(req, res)) return
    for (const listener of listeners) listener.call(this, req, res)
  })
}

/** One of Fastify's internal symbols on an instance, by its description. */
const internal = (instance: object, description: string): symbol | undefined =>
  Object.getOwnPropertySymbols(instance).find(s => s.description === description)

type Instance = Record<symbol, unknown>
type OnRequest = (request: FastifyRequest, reply: FastifyReply, next: () => void) => void

/**
 * Make `hook` the first onRequest hook of `fastify` and of every child
 * instance already registered (whose hooks Fastify copied from their parent
 * when they were created): each route's hooks are read from its instance at
 * startup, so no hook registered before proxy-aware (an auth gate, a login
 * redirect) can reply before the client-certificate policy ran. Instances
 * created later copy the list with `hook` first.
 */
const addFirst = (fastify: FastifyInstance, hook: OnRequest) => {
  const kHooks = internal(fastify, 'fastify.hooks')
  const kChildren = internal(fastify, 'fastify.children')
  /* c8 ignore next 4 -- Fastify 5 has both; should they go, order matters again */
  if (kHooks === undefined || kChildren === undefined) {
    fastify.addHook('onRequest', hook)
    return
  }
  const add = (instance: Instance) => {
    ;(instance[kHooks] as { onRequest: OnRequest[] }).onRequest.unshift(hook)
    for (const child of instance[kChildren] as Instance[]) add(child)
  }
  add(fastify as unknown as Instance)
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

/**
 * The Fastify plugin function running `features` (the entry point passes
 * every feature; tests pass their own).
 */
export const fastifyPlugin = (features: readonly FeatureCompiler[]): FastifyPluginAsync<FastifyTrustProxyOptions> =>
  // async, so that a bad option (thrown while compiling) rejects `register` /
  // `ready` instead of escaping avvio as an uncaught exception
  async function proxyAware(fastify: FastifyInstance, options: FastifyTrustProxyOptions) {
    if (fastify.hasRequestDecorator('proxyAware')) {
      throw new ProxyAwareConfigError(
        'trust',
        'is configured twice: proxy-aware is already registered on this Fastify instance',
      )
    }
    assertRoot(fastify)
    // misconfiguration warnings go to the app's logger
    const engine = compileEngine(options, [], features, warnTo(fastify.log))
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
    // a server that does not verify client certificates never trusts by one
    const tlsServer = fastify.server as { requestCert?: unknown; ca?: unknown }
    // (trustCertificate on Bun and Deno was refused when the engine compiled it)
    if (options.trustCertificate !== undefined && (tlsServer.requestCert !== true || tlsServer.ca == null)) {
      throw new ProxyAwareConfigError(
        'trustCertificate',
        `needs Fastify's https server to verify client certificates (requestCert: true and an explicit ca), got requestCert: ${show(tlsServer.requestCert)}, ca: ${tlsServer.ca == null ? 'none' : 'set'}`,
      )
    }
    // client certificates: the TLS server must be set up for them, route
    // overrides are validated at startup
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
    if (engine.hasFeatures) {
      // marks a request whose redirect, HSTS and Secure-cookie policies ran
      // in the server's 'request' listener, before Fastify saw it; then its
      // request.log, once Fastify made one
      const kEarly = Symbol('proxy-aware.early')
      type Marked = { [kEarly]?: true | Logger }
      // warnings written with the headers go to request.log when the route
      // ran, else (a framework error) to the app's logger
      const logOf = (req: IncomingMessage): Logger => {
        const log = (req as Marked)[kEarly]
        return typeof log === 'object' ? log : fastify.log
      }
      const earlyLog = (req: IncomingMessage): Logger => ({
        warn: (obj, msg) => logOf(req).warn(obj, msg),
        info: (obj, msg) => logOf(req).info(obj, msg),
      })
      const policies = function proxyAwarePolicies(request: FastifyRequest, reply: FastifyReply, next: () => void) {
        const ctx = {
          req: request.raw,
          res: reply.raw,
          resolution: resolve(request.raw),
          log: request.log,
          route: request.routeOptions.config as unknown as Record<string, unknown> | undefined,
        }
        // fastify.inject() and servers without a 'request' listener come
        // here without the early step: run it now, then the route's
        const raw = request.raw as Marked
        const early = raw[kEarly] !== undefined
        raw[kEarly] = request.log
        const answer = (early ? undefined : engine.run(ctx, 'request')) ?? engine.run(ctx, 'route')
        if (answer !== undefined) {
          reply.code(answer.status).headers(answer.headers).send(answer.body)
          return
        }
        next()
      }
      addFirst(fastify, policies)
      if (engine.hasPhase.request) {
        // Redirect, HSTS and Secure cookies need no route: run them before
        // Fastify's router, so that every response of the server is covered,
        // including those no hook sees (a bad URL, frameworkErrors) and
        // those of hooks that reply before ours
        fastify.addHook('onReady', function proxyAwareServer(done) {
          runFirst(fastify.server, (req, res) => {
            let answer: Answer | undefined
            try {
              answer = engine.run(
                { req, res, resolution: resolve(req), log: earlyLog(req), route: undefined },
                'request',
              )
            } catch {
              // an app's callback threw (an `exempt` predicate): not marked,
              // so the hook runs the policies again and Fastify answers the
              // error (a 500, logged), instead of an uncaught exception
              return false
            }
            if (answer !== undefined) {
              sendAnswer(req, res, answer)
              return true
            }
            ;(req as Marked)[kEarly] = true
            return false
          })
          done()
        })
      }
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

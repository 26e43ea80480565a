/**
 * The Fastify hooks that run the features: the policies first among the
 * onRequest hooks, the early step in the server's 'request' listener, and
 * the Vary merge at onSend.
 */
import type { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../core/options.js'
import type { Engine } from '../engine/index.js'
import { type Answer, sendAnswer } from '../features/feature.js'

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
export const internal = (instance: object, description: string): symbol | undefined =>
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
 * A raw request, marked (under the registration's own symbol) once its
 * redirect, HSTS and Secure-cookie policies ran in the server's 'request'
 * listener, before Fastify saw it; then with its request.log, once Fastify
 * made one.
 */
type Marked = Record<symbol, true | Logger | undefined>

/**
 * Where warnings written with the headers go: request.log when the route
 * ran, else (a framework error) the app's logger.
 */
const logOf = (fastify: FastifyInstance, kEarly: symbol, req: IncomingMessage): Logger => {
  const log = (req as unknown as Marked)[kEarly]
  return typeof log === 'object' ? log : fastify.log
}

/** The logger of the early step: decides at each call, with logOf. */
const earlyLog = (fastify: FastifyInstance, kEarly: symbol, req: IncomingMessage): Logger => ({
  warn: (obj, msg) => logOf(fastify, kEarly, req).warn(obj, msg),
  info: (obj, msg) => logOf(fastify, kEarly, req).info(obj, msg),
})

/** The onRequest hook running the policies (the early ones too, when the early step did not). */
const policiesHook = (engine: Engine, kEarly: symbol): OnRequest => {
  const { resolve } = engine
  return function proxyAwarePolicies(request: FastifyRequest, reply: FastifyReply, next: () => void) {
    const ctx = {
      req: request.raw,
      res: reply.raw,
      resolution: resolve(request.raw),
      log: request.log,
      route: request.routeOptions.config as unknown as Record<string, unknown> | undefined,
    }
    // fastify.inject() and servers without a 'request' listener come
    // here without the early step: run it now, then the route's
    const raw = request.raw as unknown as Marked
    const early = raw[kEarly] !== undefined
    raw[kEarly] = request.log
    const answer = (early ? undefined : engine.run(ctx, 'request')) ?? engine.run(ctx, 'route')
    if (answer !== undefined) {
      reply.code(answer.status).headers(answer.headers).send(answer.body)
      return
    }
    next()
  }
}

/** The early step, run in the server's 'request' listener before Fastify's router. */
const earlyStep = (fastify: FastifyInstance, engine: Engine, kEarly: symbol) => {
  const { resolve } = engine
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    let answer: Answer | undefined
    try {
      answer = engine.run(
        { req, res, resolution: resolve(req), log: earlyLog(fastify, kEarly, req), route: undefined },
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
    ;(req as unknown as Marked)[kEarly] = true
    return false
  }
}

/** Add the hooks that run the features of `engine` (which has some). */
export const addPolicyHooks = (fastify: FastifyInstance, engine: Engine) => {
  // marks the requests whose early policies ran (see Marked)
  const kEarly = Symbol('proxy-aware.early')
  addFirst(fastify, policiesHook(engine, kEarly))
  if (engine.hasPhase.request) {
    // Redirect, HSTS and Secure cookies need no route: run them before
    // Fastify's router, so that every response of the server is covered,
    // including those no hook sees (a bad URL, frameworkErrors) and
    // those of hooks that reply before ours
    fastify.addHook('onReady', function proxyAwareServer(done) {
      runFirst(fastify.server, earlyStep(fastify, engine, kEarly))
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

/**
 * The seam between the trust engine and the features built on it (HTTPS
 * enforcement, client certificates). Each feature is compiled from the
 * options once; the core and both adapters then run every compiled
 * feature's `check` before the app and its `onResponse` on the raw
 * response. @internal
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../core/options.js'
import type { Resolution } from '../engine/resolution.js'
import type { FrontDoorCheck } from '../engine/vendor-headers.js'

/**
 * A response a feature wants sent instead of running the app (a redirect,
 * a 400, a 403). @public
 */
export interface Answer {
  status: number
  headers: Record<string, string>
  body: string
}

/** Per-request context handed to features. @internal */
export interface FeatureContext {
  req: IncomingMessage
  res: ServerResponse
  resolution: Resolution
  log: Logger
  /**
   * The request target as the client sent it, where the framework rewrote
   * `req.url` (Express strips a mount path); defaults to `req.url`.
   */
  url?: string
  /** route-level overrides (Fastify route `config`), keyed by option name */
  route: Record<string, unknown> | undefined
}

/** A compiled feature. @internal */
export interface Feature {
  /** Runs before the app. Returns an answer to short-circuit the request. */
  check?(ctx: FeatureContext): Answer | undefined
  /** Runs before the app, after every check passed: hook the response. */
  onResponse?(ctx: FeatureContext): void
  /**
   * Its check and response hook read the route's config (`ctx.route`):
   * the Fastify adapter runs it once the route is known; the others
   * (redirect, HSTS, Secure cookies) run before routing.
   */
  route?: true
}

/**
 * Which features to run: those that need the route (`'route'`), the
 * others (`'request'`), or all (undefined). @internal
 */
export type Phase = 'request' | 'route'

/** Send a feature's answer on a raw response (no body for HEAD). @internal */
export const sendAnswer = (req: IncomingMessage, res: ServerResponse, answer: Answer): void => {
  res.writeHead(answer.status, answer.headers)
  res.end(req.method === 'HEAD' ? undefined : answer.body)
}

/** What the engine compiled from the options before the features, for features that need it. @internal */
export interface EngineFacts {
  /** the compiled `azureFrontDoorId` */
  frontDoor: FrontDoorCheck | undefined
}

/** Compiles one feature from the options (validating them). @internal */
export interface FeatureCompiler {
  /** the option names this feature owns */
  options: readonly string[]
  /** Returns undefined when the feature is not configured. */
  compile(options: Readonly<Record<string, unknown>>, engine?: EngineFacts): Feature | undefined
}

/**
 * The trust engine: `compileEngine(options, ...)` validates the options once
 * (step 1, `normalizeOptions`), compiles the per-request resolver (step 2,
 * `compileResolver`) and the features (step 3, `compilePolicies`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Logger, silentLogger } from '../core/options.js'
import { type FeatureCompiler, sendAnswer } from '../features/feature.js'
import type { ClientCertOptions } from '../features/client-cert/options.js'
import type { HttpsOptions } from '../features/index.js'
import { emitWarning, type Warn } from '../core/options.js'
import { compileWatch } from './diagnostics.js'
import { withHeaderMismatch } from './header-mismatch.js'
import { compileExplainer, type Explanation } from './explain.js'
import { normalizeOptions, type TrustProxyOptions } from './options.js'
import { compilePolicies, type Policies } from './policies.js'
import type { RequestLike, Resolution } from './resolution.js'
import { compileEngineResolver } from './resolver.js'
import type { TrustFunction } from './trust.js'

/** The compiled trust engine. @public */
export interface TrustProxy {
  /**
   * Decide client IP, protocol and host for `req`. The result is cached on
   * the request: calling again returns the same object.
   */
  resolve(req: RequestLike): Resolution
  /**
   * The compiled predicate, usable as Express's `trust proxy` setting or
   * Fastify's `trustProxy`. Accepts any address form proxy-aware accepts
   * (a port or a zone id is dropped); returns false for anything that is
   * not an IP, and for `0.0.0.0` / `::`.
   */
  trust: TrustFunction
  /** The normalised options. */
  readonly options: Readonly<
    Required<
      Omit<
        TrustProxyOptions,
        | keyof HttpsOptions
        | keyof ClientCertOptions
        | 'platform'
        | 'gcpForwardingRule'
        | 'clientIpHeader'
        | 'clientIpHeaderConfirmed'
        | 'azureFrontDoorId'
        | 'trustCertificate'
        | 'presetsFile'
        | 'allowPresetGrowth'
        | 'maxPresetAge'
      >
    >
  >
  /**
   * Run the configured policies (HTTPS redirect, HSTS, Secure cookies,
   * client certificates) for a plain Node `http`/`https` server. Returns
   * true when proxy-aware has answered the request itself (a redirect, a
   * 400 or a 403): the app must then not handle it.
   *
   * @example
   * http.createServer((req, res) => {
   *   if (proxy.handle(req, res)) return
   *   res.end(`hello ${proxy.resolve(req).ip}`)
   * })
   */
  handle(req: IncomingMessage, res: ServerResponse, log?: Logger): boolean
  /**
   * The decision trail of `req`, for diagnostics (not for the per-request
   * path): each address walked, whether it was trusted and by which `trust`
   * entry, why the walk stopped, and which header gave the protocol and the
   * host. Agrees with `resolve(req)`; render it with `formatExplanation`.
   */
  explain(req: RequestLike): Explanation
}

/** The engine as the adapters see it: the public face and the compiled features. */
export interface Engine extends TrustProxy, Policies {}

/**
 * Compile the options into a trust engine running `featureList`. Adapters
 * own a few options of their own (`adapterOptions`, e.g. Express's `logger`),
 * and say where misconfiguration warnings go (`warn`; default
 * `process.emitWarning`), and whether results are cached in a WeakMap
 * rather than on the request (`weak`, see compileResolver). Throws
 * `ProxyAwareConfigError` for anything doubtful.
 */
export function compileEngine(
  options: TrustProxyOptions,
  adapterOptions: readonly string[],
  featureList: readonly FeatureCompiler[],
  warn: Warn = emitWarning,
  weak?: boolean,
): Engine {
  const config = normalizeOptions(options, [...featureList.flatMap(f => f.options), ...adapterOptions], warn)
  const watch = withHeaderMismatch(compileWatch(config, warn), config, warn)
  const { resolve, trust } = compileEngineResolver(config, watch, weak)
  const explain = compileExplainer(config, resolve)
  const { run, hasFeatures, hasPhase } = compilePolicies(options, featureList, config)
  /** The features for a plain Node server: answer, or hook the response. */
  const handle = (req: IncomingMessage, res: ServerResponse, log: Logger = silentLogger): boolean => {
    const answer = run({ req, res, resolution: resolve(req), log, route: undefined })
    if (answer === undefined) return false
    sendAnswer(req, res, answer)
    return true
  }
  return { resolve, trust, options: config.options, handle, explain, run, hasFeatures, hasPhase }
}

/** The public face of an engine: what `createTrustProxy` returns. */
export const publicFace = ({ resolve, trust, options, handle, explain }: Engine): TrustProxy => ({
  resolve,
  trust,
  options,
  handle,
  explain,
})

/**
 * Client certificates (`clientCert`): verify mTLS the app terminates, or a
 * certificate forwarded by the trusted proxy that terminated it; apply the
 * policy (mode, identity allow-list); attach the verified certificate to
 * the request. @module
 */
import { createHash } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { ServerResponse } from 'node:http'
import { ProxyAwareConfigError, show } from '../../core/errors.js'
import { checkLogger, type Logger } from '../../core/options.js'
import { checkTlsRuntime } from '../../core/runtime.js'
import type { Answer, FeatureCompiler, FeatureContext } from '../feature.js'
import { closeConnection, connectionVerdict, revokedNow, type Stamped } from './connection.js'
import { forwardedKey, readForwarded, stripForwarded } from './forwarded.js'
import type { ForwardedConfig } from './forwarded-options.js'
import type { ForwardedTrust } from './material.js'
import { type ClientCertConfig, compileClientCert } from './options.js'
import { compileRoutePolicy, type RouteConfig } from './policy.js'
import type { ClientCertError, ClientCertificate } from './types.js'
import {
  checkLeaf,
  connectionOf,
  describe,
  type Evaluation,
  failure,
  type SocketLike,
  verifyChain,
  verifySocket,
} from './verify.js'

export type {
  ClientCertAllow,
  ClientCertError,
  ClientCertFailure,
  ClientCertificate,
  ClientCertOptions,
  ClientCertPolicy,
  ClientCertRoutePolicy,
  ForwardedCertSource,
  ForwardedClientCertOptions,
} from './options.js'
export type { SubjectAltNames } from './der.js'

const kEvaluation = Symbol.for('proxy-aware.clientCert.evaluation')
const kResult = Symbol.for('proxy-aware.clientCert')
const kBase = Symbol.for('proxy-aware.clientCert.policy')

/** What was decided for one request. @internal */
interface Result {
  cert: ClientCertificate | undefined
  error: ClientCertError | undefined
}

type Carrier = { [kEvaluation]?: Evaluation; [kResult]?: Result; [kBase]?: RouteConfig }

/**
 * The verified, allowed client certificate of a request, or undefined.
 * Both adapters expose it as `request.clientCert` / `req.clientCert`.
 * @public
 */
export function clientCertOf(req: object): ClientCertificate | undefined {
  return (req as Carrier)[kResult]?.cert
}

/**
 * Why the request has no accepted client certificate (reason and
 * detail), or undefined. Both adapters expose it as `clientCertError`.
 * @public
 */
export function clientCertErrorOf(req: object): ClientCertError | undefined {
  return (req as Carrier)[kResult]?.error
}

/**
 * Check, at startup, the TLS options (or the `https`/`tls` server) that
 * terminate mTLS for `clientCert`: `requestCert` must be on and `ca`
 * explicit (without it Node trusts every public CA). Returns its argument,
 * so it can wrap the options. Throws `ProxyAwareConfigError`; on Bun and
 * Deno always, naming the runtime (see `checkTlsRuntime`).
 *
 * @example
 * https.createServer(assertClientCertServer({ key, cert, ca, requestCert: true, rejectUnauthorized: false }), app)
 * @public
 */
export function assertClientCertServer<T extends object>(server: T): T {
  checkTlsRuntime('clientCert')
  const s = server as { requestCert?: unknown; ca?: unknown; ticketKeys?: unknown; sessionIdContext?: unknown }
  if (s.requestCert !== true) {
    throw new ProxyAwareConfigError(
      'clientCert',
      'needs a TLS server with requestCert: true (and an explicit ca), or clientCert.forwarded when a proxy terminates TLS',
    )
  }
  const ca = s.ca
  const empty = (v: unknown) => v == null || ((typeof v === 'string' || Buffer.isBuffer(v)) && v.length === 0)
  if (empty(ca) || (Array.isArray(ca) && ca.every(empty))) {
    throw new ProxyAwareConfigError(
      'clientCert',
      'needs an explicit ca on the TLS server: with requestCert and no ca, Node accepts certificates from every public CA',
    )
  }
  // a server object always has a sessionIdContext: Node's default is the
  // same for every server of the process (and every process with the same argv)
  const context = s.sessionIdContext
  if (
    s.ticketKeys != null &&
    (typeof context !== 'string' || context === '' || context === defaultSessionIdContext())
  ) {
    throw new ProxyAwareConfigError(
      'clientCert',
      "needs an explicit sessionIdContext, unique to this ca, on a TLS server with ticketKeys: servers sharing ticket keys resume each other's sessions, and a client certificate verified against another server's ca would be accepted here",
    )
  }
  return server
}

/** Node's sessionIdContext when none is given (node:_tls_wrap). */
const defaultSessionIdContext = (): string =>
  createHash('sha1').update(process.argv.join(' ')).digest('hex').slice(0, 32)

const socketCache = new WeakMap<object, Stamped<Evaluation>>()

const refusal = (status: number, log: Logger, error: ClientCertError, peer: string | undefined): Answer => {
  log.warn({ clientCert: error, peer }, `proxy-aware: client certificate refused (${error.reason})`)
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: `${STATUS_CODES[status] ?? 'Client Error'}\n`,
  }
}

/** Verify a forwarded certificate (`check` has made sure the peer is trusted). */
const evaluateForwarded = (
  cfg: ForwardedConfig,
  trust: ForwardedTrust | undefined,
  ctx: FeatureContext,
  now: number,
  skewMs: number,
): Evaluation => {
  const decoded = readForwarded(cfg, ctx.req.headers)
  if (decoded.kind === 'bad') return failure('malformed', decoded.detail, decoded.status)
  if (decoded.kind === 'none') return failure('missing', decoded.detail)
  const { signal } = decoded
  if (signal !== undefined && signal !== true) return { ok: false, error: signal }
  if (cfg.trust !== undefined) {
    // a watcher whose files never loaded: nothing to verify against
    if (trust === undefined) return failure('untrusted', 'clientCert.forwarded.ca has not loaded (see the log)')
    const verdict = verifyChain(decoded.leaf, decoded.chain, trust.anchors, now, skewMs, trust.crls)
    if (!verdict.ok) return verdict
    return { ok: true, checked: describe(decoded.leaf, cfg.source, verdict.validUntil) }
    /* c8 ignore next 4: unreachable, the options require ca, a signal or proxyVerifies (defence in depth) */
  } else if (signal === undefined && !cfg.proxyVerifies) {
    // nobody verified it
    return failure('untrusted', 'the certificate was not verified by the proxy and no ca is configured')
  }
  return { ok: true, checked: describe(decoded.leaf, cfg.source) }
}

/**
 * Verify the certificate of the request's connection, once per connection
 * and again after a reload of the server's CA or CRLs: on HTTP/2,
 * req.socket is a new proxy per stream, the session's socket the
 * connection. A connection accepted under the old material and refused
 * under the new is closed after this response.
 */
const evaluateSocket = (req: FeatureContext['req'], now: number, skewMs: number): Evaluation => {
  const socket = req.socket as unknown as SocketLike | null
  const connection = socket == null ? undefined : (connectionOf(req) as object)
  if (connection === undefined) return verifySocket(socket, now, skewMs)
  const v = connectionVerdict(socketCache, connection, (recheck, chain): Evaluation => {
    const r = verifySocket(socket, now, skewMs)
    const revoked = r.ok && recheck ? revokedNow(connection as SocketLike, chain, now, skewMs) : undefined
    return revoked === undefined ? r : { ok: false, error: revoked }
  })
  if (v.before?.ok === true && !v.value.ok) closeConnection(req, connection)
  return v.value
}

/** Parsing a certificate costs ~100 µs: forwarded results are reused. */
const CACHE_SIZE = 128
/** how long a cached chain verification stands (intermediates and CAs expire too) */
const CACHE_MS = 60_000

/** Results of forwarded-certificate verification by header values. @internal */
type ForwardedCache = Map<string, { at: number; trust: ForwardedTrust | undefined; result: Evaluation }>

/**
 * Obtain and verify the request's certificate, before any allow-list
 * (kept on the request for router policies; cached per socket for TLS
 * the app terminates, by header values for forwarded certificates).
 */
const evaluate = (
  config: ClientCertConfig,
  ctx: FeatureContext,
  untrusted: boolean,
  cache: ForwardedCache,
): Evaluation => {
  const now = Date.now()
  let result: Evaluation
  if (untrusted) {
    result = failure('missing', 'certificate headers from an untrusted peer are ignored')
  } else if (config.forwarded !== undefined) {
    const key = forwardedKey(config.forwarded, ctx.req.headers)
    const hit = cache.get(key)
    // reloaded anchors or CRLs (a new object) make every cached result stale
    const trust = config.forwarded.trust?.()
    if (hit !== undefined && now - hit.at < CACHE_MS && now >= hit.at && hit.trust === trust) {
      result = hit.result
    } else {
      result = evaluateForwarded(config.forwarded, trust, ctx, now, config.clockSkewMs)
      cache.delete(key)
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!)
      cache.set(key, { at: now, trust, result })
    }
  } else {
    result = evaluateSocket(ctx.req, now, config.clockSkewMs)
  }
  if (result.ok) {
    // leaf checks run per request: a keep-alive socket can outlive its certificate
    const err = checkLeaf(result.checked, now, config.clockSkewMs)
    if (err !== undefined) result = { ok: false, error: err }
  }
  ;(ctx.req as unknown as Carrier)[kEvaluation] = result
  return result
}

/** What a policy decision needs. @internal */
interface PolicyContext {
  req: object
  log: Logger
  /** the socket peer, for the log */
  peer: string | undefined
}

/**
 * Apply a policy to an evaluation: record the outcome on the request and
 * return the refusal, if any.
 */
const decide = (policy: RouteConfig, evaluation: Evaluation, ctx: PolicyContext): Answer | undefined => {
  const carrier = ctx.req as unknown as Carrier
  const peer = ctx.peer
  if (!evaluation.ok) {
    carrier[kResult] = { cert: undefined, error: evaluation.error }
    if (evaluation.status !== undefined) return refusal(evaluation.status, ctx.log, evaluation.error, peer)
    if (policy.required) return refusal(policy.status, ctx.log, evaluation.error, peer)
    if (evaluation.error.reason !== 'missing')
      ctx.log.info({ clientCert: evaluation.error, peer }, 'proxy-aware: client certificate not accepted')
    return undefined
  }
  const cert = evaluation.checked.cert
  if (policy.allow !== undefined && !policy.allow(cert)) {
    const error: ClientCertError = { reason: 'not_allowed', detail: `${cert.fingerprint256} is not on the allow-list` }
    carrier[kResult] = { cert: undefined, error }
    if (policy.required) return refusal(policy.status, ctx.log, error, peer)
    ctx.log.info({ clientCert: error, peer }, 'proxy-aware: client certificate not accepted')
    return undefined
  }
  carrier[kResult] = { cert, error: undefined }
  return undefined
}

const appendVary = (res: ServerResponse, names: readonly string[]) => {
  const prev = res.getHeader('vary')
  const list = prev === undefined ? [] : [String(prev)]
  res.setHeader('vary', [...list, ...names].join(', '))
}

/**
 * A route-level `clientCert` override (Fastify route `config`) merged
 * onto the plugin's policy, compiled once per route. `cache` belongs to
 * one compiled feature: the same route object under two apps with
 * different global policies must not share a merge. @internal
 */
const routePolicy = (base: RouteConfig, value: unknown, cache?: WeakMap<object, RouteConfig>): RouteConfig | false => {
  if (value === undefined) return base
  if (value === false) return false
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProxyAwareConfigError(
      'config.clientCert',
      `must be false or an object of mode, allow and status, got ${show(value)}`,
    )
  }
  let compiled = cache?.get(value)
  if (compiled === undefined) {
    compiled = compileRoutePolicy('config.clientCert', value as Record<string, unknown>, base)
    cache?.set(value, compiled)
  }
  return compiled
}

/**
 * Validate a route-level `clientCert` override at startup (Fastify's
 * onRoute); throws `ProxyAwareConfigError`. @internal
 */
export const checkRoutePolicy = (value: unknown): void => {
  routePolicy({ required: true, allow: undefined, status: 403 }, value)
}

/** The compiled feature, with what the adapters need. @internal */
interface ClientCertFeature {
  route: true
  check(ctx: FeatureContext): Answer | undefined
  onResponse(ctx: FeatureContext): void
  config: ClientCertConfig
}

/** Compile `clientCert` into a feature. @internal */
function compileClientCertFeature(options: Readonly<Record<string, unknown>>): ClientCertFeature | undefined {
  const config = compileClientCert(options.clientCert, options.trust, options)
  if (config === undefined) return undefined
  const fwd = config.forwarded
  // with trustCertificate, forwarded certificates come only from a proxy
  // that proved who it is, not from a peer trusted by its address alone
  const byIdentity = options.trustCertificate !== undefined
  if (byIdentity && fwd === undefined) {
    throw new ProxyAwareConfigError(
      'clientCert',
      `reads the TLS socket's certificate, which with trustCertificate is the proxy's own: set clientCert.forwarded to read the certificate the proxy forwards, got trustCertificate: ${show(options.trustCertificate)}`,
    )
  }
  const cache: ForwardedCache = new Map()
  const routes = new WeakMap<object, RouteConfig>()
  return {
    config,
    // route config.clientCert overrides the policy
    route: true,
    check(ctx) {
      const reason = ctx.resolution.reason
      const untrusted =
        fwd !== undefined &&
        (reason === 'untrusted-peer' ||
          reason === 'no-peer' ||
          (byIdentity && ctx.resolution.peerIdentity === undefined))
      // an untrusted peer's certificate headers never reach the app
      if (untrusted) stripForwarded(fwd, ctx.req)
      // router policies (Express clientCertPolicy) merge onto this one
      ;(ctx.req as unknown as Carrier)[kBase] = config
      const policy = routePolicy(config, ctx.route?.clientCert, routes)
      if (policy === false) return undefined
      return decide(policy, evaluate(config, ctx, untrusted, cache), {
        req: ctx.req,
        log: ctx.log,
        peer: ctx.resolution.peer,
      })
    },
    onResponse(ctx) {
      if (routePolicy(config, ctx.route?.clientCert, routes) === false) return
      // RFC 9440 §2.4: responses that depend on the certificate must not
      // be cached for other clients
      if (fwd !== undefined) appendVary(ctx.res, fwd.headers)
      if (clientCertOf(ctx.req) !== undefined && !ctx.res.hasHeader('cache-control'))
        ctx.res.setHeader('cache-control', 'no-store')
    },
  }
}

/** The `FEATURES` entry. @internal */
export const clientCertCompiler: FeatureCompiler = {
  options: ['clientCert'],
  compile: compileClientCertFeature,
}

/**
 * A per-route (Express router) policy on top of the `clientCert` the
 * global middleware evaluated: set the global `mode: 'optional'` and
 * require or restrict certificates where needed. @internal (wrapped by the
 * Express adapter)
 */
export function compileClientCertPolicy(options: unknown): {
  apply: (ctx: PolicyContext) => Answer | undefined
  logger: Logger
} {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ProxyAwareConfigError(
      'clientCertPolicy',
      `must be an object of mode, allow, status and logger, got ${show(options)}`,
    )
  }
  const { logger, ...given } = options as Record<string, unknown>
  // validated now; merged onto the global policy (allow-list, status) of
  // the middleware that evaluated the request, once per global policy. A
  // router policy is there to require or restrict: its mode defaults to
  // 'required', whatever the global mode.
  const rest = { mode: 'required', ...given }
  const standalone = compileRoutePolicy('clientCertPolicy', rest, undefined)
  const merged = new WeakMap<RouteConfig, RouteConfig>()
  return {
    logger: checkLogger('clientCertPolicy.logger', logger),
    apply: ctx => {
      const carrier = ctx.req as Carrier
      const evaluation =
        carrier[kEvaluation] ??
        failure(
          'missing',
          'the trustProxy middleware has no clientCert option (or did not run before clientCertPolicy)',
        )
      const base = carrier[kBase]
      let policy = standalone
      if (base !== undefined) {
        policy = merged.get(base) ?? compileRoutePolicy('clientCertPolicy', rest, base)
        merged.set(base, policy)
      }
      return decide(policy, evaluation, ctx)
    },
  }
}

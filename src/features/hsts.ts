/**
 * `hsts`: `Strict-Transport-Security` on https responses only, acting on
 * the trust engine's verdict.
 */
import { checkOptionNames, ProxyAwareConfigError, show } from '../core/errors.js'
import { plainObject } from '../core/options.js'
import { addHeader, hasHeader, onHeaders } from '../response/hook.js'
import { compileHosts } from './hosts.js'
import type { FeatureCompiler, Feature, FeatureContext } from './feature.js'

/** Options of `hsts` (`true` means all defaults). @public */
export interface HstsOptions {
  /** `max-age` in seconds. @default 31536000 (one year) */
  maxAge?: number
  /** @default true */
  includeSubDomains?: boolean
  /**
   * Ask to be on browsers' preload list: needs `maxAge >= 31536000` and
   * `includeSubDomains`. @default false
   */
  preload?: boolean
  /**
   * Hosts that never get the header (same patterns as
   * `httpsRedirect.allowedHosts`): HSTS on `localhost` would break every
   * other app a developer runs on it.
   * @default ['localhost', '*.localhost', '127.0.0.1', '[::1]']
   */
  excludedHosts?: readonly string[]
}

const HSTS_KEYS = ['maxAge', 'includeSubDomains', 'preload', 'excludedHosts']
const LOCAL_HOSTS = ['localhost', '*.localhost', '127.0.0.1', '[::1]']

/** Compile `hsts`. @internal */
const compileHsts = (value: unknown): Feature | undefined => {
  if (value === undefined || value === false) return undefined
  const o = value === true ? {} : plainObject('hsts', value)
  checkOptionNames(o, HSTS_KEYS, 'hsts')
  const maxAge = o.maxAge ?? 31536000
  // past MAX_SAFE_INTEGER a number prints as 1e+21: an invalid header
  if (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0) {
    throw new ProxyAwareConfigError(
      'hsts.maxAge',
      `must be a whole number of seconds (0 to ${Number.MAX_SAFE_INTEGER}), got ${show(maxAge)}`,
    )
  }
  for (const key of ['includeSubDomains', 'preload']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new ProxyAwareConfigError(`hsts.${key}`, `must be a boolean, got ${show(o[key])}`)
    }
  }
  const includeSubDomains = o.includeSubDomains ?? true
  const preload = o.preload ?? false
  if (preload && (maxAge < 31536000 || !includeSubDomains)) {
    throw new ProxyAwareConfigError(
      'hsts.preload',
      `needs maxAge >= 31536000 and includeSubDomains: true (the preload list's rules), got maxAge ${maxAge} and includeSubDomains ${includeSubDomains}`,
    )
  }
  const excluded = compileHosts('hsts.excludedHosts', o.excludedHosts ?? LOCAL_HOSTS, false)
  const header = `max-age=${maxAge}${includeSubDomains ? '; includeSubDomains' : ''}${preload ? '; preload' : ''}`
  return {
    onResponse(ctx: FeatureContext) {
      const r = ctx.resolution
      if (r.protocol !== 'https') return
      if (r.hostname !== undefined && excluded(r.hostname)) return
      const hooked = onHeaders(ctx.res, (headers, out) =>
        hasHeader(headers, out, 'strict-transport-security')
          ? headers
          : addHeader(headers, out, 'Strict-Transport-Security', header),
      )
      if (!hooked) ctx.res.setHeader('Strict-Transport-Security', header)
    },
  }
}

/** `hsts`. @internal */
export const hstsFeature: FeatureCompiler = {
  options: ['hsts'],
  compile: options => compileHsts(options.hsts),
}

/**
 * The trust engine's own options: their type and their normalisation.
 */
import { ProxyAwareConfigError, show } from '../core/errors.js'
import type { ClientCertOptions } from '../features/client-cert/options.js'
import type { HttpsOptions } from '../features/index.js'
import type { Platform } from './presets.js'
import type { TrustOption } from './trust.js'

/** A forwarding convention to read. @public */
export type HeaderConvention = 'x-forwarded' | 'forwarded'

/** Options of the trust engine, shared by the core and both adapters. @public */
export interface TrustProxyOptions extends HttpsOptions, ClientCertOptions {
  /**
   * Which peers are proxies whose forwarded headers are believed. Required.
   * IPs, CIDRs, `ip/netmask`, presets (`loopback`, `linklocal`,
   * `uniquelocal`, `private`), as a comma-separated string or an array; a
   * function `(address, hop) => boolean`; a hop count >= 1 (warns); or `true`
   * (trust every hop: the client then chooses its own IP).
   */
  trust: TrustOption
  /**
   * Confirms the platform the app runs on, for the platform presets (`fly`,
   * `heroku`, `vercel`), which trust whatever connects to the app and so
   * refuse to activate without it (or the platform's own environment
   * variable: `FLY_APP_NAME`, `DYNO`, `VERCEL`).
   */
  platform?: Platform
  /**
   * With the `gcp-lb` preset (required there): the load balancer's
   * external IP address(es), which Google appends after the client's.
   */
  gcpForwardingRule?: string | readonly string[]
  /**
   * Forwarding conventions to read, in priority order: the first one whose
   * client-IP header is present on the request is used.
   * @default ['x-forwarded']
   */
  headers?: readonly HeaderConvention[]
  /**
   * Take the host from `X-Forwarded-Host` / `Forwarded: host=` when the
   * peer is trusted. Off by default: host injection poisons password-reset
   * links and redirects.
   * @default false
   */
  forwardedHost?: boolean
  /**
   * Which `X-Forwarded-Proto` value is believed when it holds several.
   * `'nearest'`: the rightmost, written by the nearest proxy that writes one.
   * `'hop'`: when it has as many values as `X-Forwarded-For` has entries, the
   * value paired with the client's entry (ASP.NET Core's rule); correct only
   * if every trusted proxy appends to both headers, since a proxy that passes
   * X-Forwarded-Proto through (nginx's default) lets the client's own value
   * be paired with the client.
   * @default 'nearest'
   */
  protoPairing?: 'nearest' | 'hop'
  /**
   * Most forwarded entries walked per request. Past it the walk stops and
   * the last address reached is the client.
   * @default 20
   */
  maxHops?: number
  /**
   * Trust a peer on a Unix domain socket (which has no address), e.g. an
   * nginx `proxy_pass http://unix:/run/app.sock`.
   * @default false
   */
  trustUnixSocket?: boolean
}

/** Option names the core understands; adapters add their own. @private */
export const CORE_OPTIONS = ['trust', 'headers', 'forwardedHost', 'protoPairing', 'maxHops', 'trustUnixSocket', 'platform', 'gcpForwardingRule'] as const

export const normalizeHeaders = (value: unknown): readonly HeaderConvention[] => {
  if (value === undefined) return ['x-forwarded']
  if (
    !Array.isArray(value) || value.length === 0 || value.length > 2 ||
    // Array.from visits holes too: [, 'forwarded'] is refused
    Array.from(value).some(v => v !== 'x-forwarded' && v !== 'forwarded') ||
    new Set(value).size !== value.length
  ) {
    throw new ProxyAwareConfigError(
      'headers',
      `must be ['x-forwarded'], ['forwarded'] or both in priority order, got ${show(value)}`,
    )
  }
  return Object.freeze([...value])
}

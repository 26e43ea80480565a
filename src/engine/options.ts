/**
 * The trust engine's own options: their type and their normalisation.
 */
import { checkOptionNames, ProxyAwareConfigError, show } from '../core/errors.js'
import { bool, emitWarning, integerIn, type Warn } from '../core/options.js'
import type { ClientCertOptions } from '../features/client-cert/options.js'
import type { HttpsOptions } from '../features/index.js'
import { checkPresetAge } from './diagnostics.js'
import { compileTrustCertificate, type PeerIdentity, type TrustCertificateOptions } from './identity.js'
import { checkClientIpHeader, checkFrontDoorId, checkTrustScope } from './startup-checks.js'
import {
  checkPlatform,
  type ClientIpHeader,
  type Platform,
  type PresetContext,
  presetContextOf,
  presetData,
} from '../vendors/index.js'
import { compileTrust, type Matcher, type TrustOption } from './trust.js'
import {
  type ClientIpHeaderReader,
  compileClientIpHeader,
  compileFrontDoorId,
  type FrontDoorCheck,
} from './vendor-headers.js'

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
   * Also trust a socket peer whose TLS client certificate the server
   * verified (`requestCert` and `ca` on the app's https server) and whose
   * SPIFFE ID, DNS name or fingerprint is listed, whatever its address
   * (or: a peer is trusted by `trust` or by this). Only the socket peer;
   * forwarded hops are judged by `trust`. With `clientCert.forwarded`,
   * forwarded certificates are then read only from such a peer.
   */
  trustCertificate?: TrustCertificateOptions
  /**
   * Confirms the platform the app runs on, for the platform presets (`fly`,
   * `heroku`, `vercel`), which trust whatever connects to the app and so
   * refuse to activate without it. The platform's own environment variable
   * (`FLY_APP_NAME`, `DYNO`, `VERCEL`) is only a hint in the error: it
   * never activates a preset.
   */
  platform?: Platform
  /**
   * With the `gcp-lb` preset (required there): the load balancer's
   * external IP address(es), which Google appends after the client's.
   */
  gcpForwardingRule?: string | readonly string[]
  /**
   * A vendor's single-value client-IP header to take the client from,
   * read only when the hop the client connected to (the farthest trusted
   * address) is inside that vendor's preset (which `trust` must name);
   * `'x-real-ip'` from any trusted proxy. Otherwise, or when the value is
   * not exactly one IP, the forwarded chain answers.
   */
  clientIpHeader?: ClientIpHeader
  /**
   * Confirms that the vendor is configured to overwrite `clientIpHeader`
   * with the client's address, for the headers a vendor otherwise passes
   * through from the client (`true-client-ip` on Cloudflare or CloudFront,
   * `fastly-client-ip`): without it they warn at startup
   * (PROXY_AWARE_CLIENT_IP_HEADER_PASS_THROUGH), naming the setting.
   * @default false
   */
  clientIpHeaderConfirmed?: boolean
  /**
   * With the `azure-front-door` preset: your Front Door profile's ID(s). A
   * request from Front Door whose `X-Azure-FDID` is not one of them is
   * resolved as if Front Door were not trusted, and refused with a 403.
   */
  azureFrontDoorId?: string | readonly string[]
  /**
   * A presets file written by `npx proxy-aware refresh-presets`: its vendor
   * ranges replace the package's own. Defaults to the environment variable
   * `PROXY_AWARE_PRESETS`; checked at startup.
   */
  presetsFile?: string
  /**
   * Accept a presets file whose list for a vendor has grown to more than
   * twice the bundled one (in ranges, or in IPv4 or IPv6 addresses
   * covered). Set it only after checking the vendor's own published list:
   * a mirror serving most of the address space would otherwise let every
   * client choose its own IP.
   * @default false
   */
  allowPresetGrowth?: boolean
  /**
   * Warn at startup when a vendor preset in use has data older than this
   * many days (its vendor list's date); `0` or `false` never warns.
   * @default 180
   */
  maxPresetAge?: number | false
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

/** Option names the core understands; features and adapters add their own. */
const CORE_OPTIONS = [
  'trust',
  'headers',
  'forwardedHost',
  'protoPairing',
  'maxHops',
  'trustUnixSocket',
  'platform',
  'gcpForwardingRule',
  'clientIpHeader',
  'clientIpHeaderConfirmed',
  'azureFrontDoorId',
  'trustCertificate',
  'presetsFile',
  'allowPresetGrowth',
  'maxPresetAge',
] as const

/** Options left out of `TrustProxy.options`: used at startup, or compiled into the engine. */
type StartupOnly =
  | 'platform'
  | 'gcpForwardingRule'
  | 'presetsFile'
  | 'allowPresetGrowth'
  | 'maxPresetAge'
  | 'clientIpHeader'
  | 'clientIpHeaderConfirmed'
  | 'azureFrontDoorId'
  | 'trustCertificate'

/** Validate `headers`: one or both conventions, in priority order. */
const normalizeHeaders = (value: unknown): readonly HeaderConvention[] => {
  if (value === undefined) return ['x-forwarded']
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > 2 ||
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

/** The engine's own options with their defaults, as `TrustProxy.options` shows them. */
export type NormalizedOptions = Readonly<
  Required<Omit<TrustProxyOptions, keyof HttpsOptions | keyof ClientCertOptions | StartupOnly>>
>

/** What the resolver is compiled from: the options, checked and digested. */
export interface EngineConfig {
  /** the normalised options (frozen) */
  options: NormalizedOptions
  /** what vendor presets were compiled from (a presets file's data, the platform), for explain */
  presetContext: PresetContext
  /** the compiled `trust` list */
  match: Matcher
  /** `match` depends only on its arguments (not a user function): its verdicts may be cached */
  pure: boolean
  readXForwarded: boolean
  readForwarded: boolean
  /** `Forwarded` wins when both conventions are present */
  forwardedFirst: boolean
  forwardedHost: boolean
  /** protoPairing 'hop' */
  pairByHop: boolean
  maxHops: number
  trustUnixSocket: boolean
  /** the compiled `clientIpHeader` */
  clientIpHeader: ClientIpHeaderReader | undefined
  /** the compiled `azureFrontDoorId` */
  frontDoor: FrontDoorCheck | undefined
  /** the compiled `trustCertificate`, if set */
  identity: PeerIdentity | undefined
}

/**
 * Step 1 of compiling an engine: check every option (names included:
 * `knownOptions` are those of the features and the adapter) and normalise
 * the engine's own. Throws `ProxyAwareConfigError` naming the option.
 */
export function normalizeOptions(
  options: TrustProxyOptions,
  knownOptions: readonly string[],
  warn: Warn = emitWarning,
): EngineConfig {
  if (options === null || typeof options !== 'object') {
    throw new ProxyAwareConfigError('trust', `is required; options must be an object, got ${show(options)}`)
  }
  checkOptionNames(options, [...CORE_OPTIONS, ...knownOptions])
  const presetContext = presetContextOf(options, warn)
  const presets = presetContext.presets
  const compiled = compileTrust(options.trust, presetContext, warn)
  checkPlatform(options.platform)
  if (options.gcpForwardingRule !== undefined && !compiled.vendors.includes('gcp-lb')) {
    throw new ProxyAwareConfigError(
      'gcpForwardingRule',
      `is set but trust has no "gcp-lb" preset, got trust: ${show(options.trust)}`,
    )
  }
  const clientIpHeader = compileClientIpHeader(options.clientIpHeader, compiled.vendors, presetContext)
  const confirmed = bool('clientIpHeaderConfirmed', options.clientIpHeaderConfirmed, false)
  const frontDoor = compileFrontDoorId(options.azureFrontDoorId, options.trust, compiled.vendors, presetContext)
  const headers = normalizeHeaders(options.headers)
  const forwardedHost = bool('forwardedHost', options.forwardedHost, false)
  const trustUnixSocket = bool('trustUnixSocket', options.trustUnixSocket, false)
  const protoPairing = options.protoPairing === undefined ? 'nearest' : options.protoPairing
  if (protoPairing !== 'nearest' && protoPairing !== 'hop') {
    throw new ProxyAwareConfigError('protoPairing', `must be 'nearest' or 'hop', got ${show(protoPairing)}`)
  }
  const maxHops = integerIn('maxHops', options.maxHops ?? 20, 1, 1000)
  // 0 and false turn the check off
  const maxAge = options.maxPresetAge === false ? 0 : integerIn('maxPresetAge', options.maxPresetAge ?? 180, 0, 36500)
  const identity = compileTrustCertificate(options.trustCertificate)
  // every option is valid: what they say by themselves, told at startup (and by `check`)
  checkTrustScope(options.trust, compiled, warn)
  checkClientIpHeader(options.clientIpHeader, compiled.vendors, confirmed, warn)
  checkFrontDoorId(compiled.vendors, frontDoor !== undefined, warn)
  checkPresetAge(compiled.vendors, v => presets?.get(v) ?? presetData(v), maxAge, warn)
  return {
    options: Object.freeze({ trust: options.trust, headers, forwardedHost, protoPairing, maxHops, trustUnixSocket }),
    presetContext,
    match: compiled.match,
    pure: compiled.pure,
    readXForwarded: headers.includes('x-forwarded'),
    readForwarded: headers.includes('forwarded'),
    forwardedFirst: headers[0] === 'forwarded',
    forwardedHost,
    pairByHop: protoPairing === 'hop',
    maxHops,
    trustUnixSocket,
    clientIpHeader,
    frontDoor,
    identity,
  }
}

/**
 * Vendor presets: a `trust` entry such as `cloudflare` expands, at compile
 * time, to the ranges in `data/presets/<vendor>.json` (schema in
 * data/presets/README.md), bundled as the module presets-data.ts, or to a
 * presets file's. Nothing here runs per request.
 */
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { canonicalIp } from '../parse/ip.js'
import { BUNDLED_PRESETS } from './presets-data.js'

/** Vendor presets with published ranges. @public */
export const VENDOR_PRESETS = ['cloudflare', 'cloudfront', 'fastly', 'gcp-lb', 'azure-front-door'] as const

/**
 * Platforms that publish no ranges: their preset trusts whatever connects
 * to the app (the platform's proxy is the only way in), so it activates
 * only when the user confirms the platform with the `platform` option (the
 * platform's environment variable is a hint, never a confirmation). @public
 */
export type Platform = 'fly' | 'heroku' | 'vercel'

interface PlatformRule {
  /** hops trusted whatever their address, counted from the socket peer */
  hops: number
  /** the variable the platform sets in the app's environment */
  env: string
  /** why `hops`, for the docs and for explain */
  why: string
}

/**
 * Fly.io: the peer is Fly Proxy, and the rightmost X-Forwarded-For entry is
 * "a shared or dedicated IP address assigned to your app" (fly.io/docs/
 * networking/request-headers, superfly/docs#1714: "It's the rightmost"),
 * so two hops. Heroku: the router appends the peer it saw
 * (devcenter.heroku.com/articles/http-routing). Vercel overwrites
 * X-Forwarded-For with the client IP (vercel.com/docs/headers/request-headers).
 * Environment variables: see each data file's `platform.env`.
 */
export const PLATFORMS: Readonly<Record<Platform, PlatformRule>> = {
  fly: { hops: 2, env: 'FLY_APP_NAME', why: "Fly Proxy, then the app's own IP that Fly appends rightmost" },
  heroku: { hops: 1, env: 'DYNO', why: 'the Heroku router' },
  vercel: { hops: 1, env: 'VERCEL', why: 'the Vercel proxy' },
}

/** AWS load balancer names that are refused with the way to write them. */
const AWS_NAMES = ['aws-elb', 'aws-alb', 'aws-nlb', 'alb', 'nlb', 'elb', 'aws']

/** One vendor data file (the fields the presets use). @public */
export interface PresetData {
  vendor: string
  name: string
  status: 'ok' | 'no-published-ranges' | 'unavailable'
  reason?: string
  ranges: readonly string[]
  retrieved: { snapshot: string | null; taken: string }
}

const isPlatform = (name: string): name is Platform => Object.hasOwn(PLATFORMS, name)

/**
 * Read a vendor's bundled data: data/presets/<vendor>.json, compiled into
 * presets-data.ts at build time (scripts/gen-presets.mjs) so that it
 * travels with the code into a bundled app. @internal
 */
export const presetData = (vendor: string): PresetData => BUNDLED_PRESETS[vendor] as unknown as PresetData

/** Options beside `trust` that the presets read. @internal */
export interface PresetContext {
  platform?: unknown
  gcpForwardingRule?: unknown
  /** the environment to look for a platform's variable in, as a hint in the error (tests) */
  env?: NodeJS.ProcessEnv
  /** vendor data from a presets file (`presetsFile`), replacing the bundled files */
  presets?: ReadonlyMap<string, PresetData>
}

/** What a preset name expands to. @internal */
export type PresetExpansion = { kind: 'ranges'; ranges: readonly string[] } | { kind: 'platform'; hops: number }

/** Validate the `platform` option. @internal */
export const checkPlatform = (value: unknown): Platform | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !isPlatform(value)) {
    throw new ProxyAwareConfigError(
      'platform',
      `must be one of ${Object.keys(PLATFORMS)
        .map(p => `'${p}'`)
        .join(', ')} (the platform the app runs on, confirming its trust preset), got ${show(value)}`,
    )
  }
  return value
}

/** Validate `gcpForwardingRule`: the load balancer's own IP address(es). */
const forwardingRules = (value: unknown): string[] => {
  const list = typeof value === 'string' ? [value] : value
  if (value === undefined) {
    throw new ProxyAwareConfigError(
      'gcpForwardingRule',
      'is required with the "gcp-lb" preset: Google\'s load balancer appends its own forwarding-rule IP after the client ("<client IP>, <forwarding rule external IP>"), so trusting only Google\'s ranges would make that IP every request\'s client. Give the load balancer\'s external IP address(es), e.g. gcpForwardingRule: "34.120.0.10"',
    )
  }
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some(ip => typeof ip !== 'string' || canonicalIp(ip) === undefined || ip.includes('/'))
  ) {
    throw new ProxyAwareConfigError(
      'gcpForwardingRule',
      `must be the load balancer's external IP address or an array of them, got ${show(value)}`,
    )
  }
  return list.map(ip => canonicalIp(ip)!)
}

/**
 * Expand a vendor preset name, or undefined when `name` is none. Throws
 * for a platform preset the user has not confirmed, for `gcp-lb` without
 * its forwarding rule, and for AWS load balancer names. @private
 */
export const expandVendorPreset = (name: string, ctx: PresetContext): PresetExpansion | undefined => {
  if (AWS_NAMES.includes(name)) {
    throw new ProxyAwareConfigError(
      'trust',
      `has the entry ${show(name)}, but AWS load balancers (ALB, NLB) connect from your own VPC subnets and AWS publishes no range for them: list your VPC's CIDR instead, e.g. trust: ["10.0.0.0/16"] (the load balancer subnets' CIDRs are narrower still). Behind CloudFront as well, add "cloudfront".`,
    )
  }
  if (isPlatform(name)) {
    const rule = PLATFORMS[name]
    const platform = checkPlatform(ctx.platform)
    // only the option confirms: a variable (VERCEL=0, DYNO=false, or one
    // set anywhere) would turn trust-everyone on silently; it is a hint
    if (platform !== name) {
      const data = presetData(name)
      const env = ctx.env ?? process.env
      const hint =
        (env[rule.env] ?? '') === ''
          ? ''
          : ` (${rule.env} is set, a hint that it does; the variable alone never activates the preset)`
      throw new ProxyAwareConfigError(
        platform === undefined ? 'trust' : 'platform',
        platform === undefined
          ? `has the preset ${show(name)}, which trusts whatever connects to the app (${rule.why}) because ${data.reason} It is safe only when the app runs on ${data.name}, where nothing else can reach it: confirm with the option platform: '${name}'${hint}`
          : `is ${show(platform)} but trust has the preset ${show(name)}: a platform preset activates only on its own platform (platform: '${name}')`,
      )
    }
    return { kind: 'platform', hops: rule.hops }
  }
  if (!(VENDOR_PRESETS as readonly string[]).includes(name)) return undefined
  const data = ctx.presets?.get(name) ?? presetData(name)
  const ranges = name === 'gcp-lb' ? [...data.ranges, ...forwardingRules(ctx.gcpForwardingRule)] : data.ranges
  return { kind: 'ranges', ranges }
}

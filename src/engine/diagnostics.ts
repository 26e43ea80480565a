/**
 * Warnings about a configuration that does not fit the traffic it sees:
 * each condition warns once per engine, with the fix in the message. The
 * per-request check reads the decision already made (nothing is parsed
 * again) and does nothing more for a request that fits the setup.
 */
import { emitWarning, type Logger, silentLogger, type Warn } from '../core/options.js'
import { show } from '../core/errors.js'
import type { PresetData } from '../vendors/index.js'
import type { RequestLike, Resolution } from './resolution.js'
import { proxyProtocolOf, relaysClient } from '../proxy-protocol/info.js'

/** Stable codes of the warnings (docs/observability.md lists them). @internal */
export const WARNING_CODES = {
  untrustedProxy: 'PROXY_AWARE_UNTRUSTED_PROXY',
  directConnection: 'PROXY_AWARE_DIRECT_CONNECTION',
  clientChoseIp: 'PROXY_AWARE_CLIENT_CHOSE_IP',
  stalePreset: 'PROXY_AWARE_STALE_PRESET',
} as const

/**
 * An adapter's sink: its logger (Fastify's, Express's `logger` option), or
 * `process.emitWarning` when the app gave none. @internal
 */
export const warnTo =
  (log: Logger): Warn =>
  (code, message, facts) =>
    log === silentLogger ? emitWarning(code, message, facts) : log.warn({ code, ...facts }, message)

/**
 * What compileWatch reads of the engine's config (EngineConfig has these
 * fields): declared here so this module does not import options.ts, which
 * imports it. @internal
 */
export interface WatchConfig {
  readonly options: { readonly trust: unknown }
  readonly identity: unknown
}

/** Checks one decided request against the setup. @internal */
export type Watch = (req: RequestLike, r: Resolution) => void

/** The decimal number at `from` up to a dot (or the end); -1 when anything else comes first (IPv6). */
const octet = (ip: string, from: number): number => {
  let n = 0
  for (let i = from; i < ip.length; i++) {
    const c = ip.charCodeAt(i)
    if (c === 46) break
    if (c < 48 || c > 57) return -1
    n = n * 10 + c - 48
  }
  return n
}

/**
 * Loopback, private, link-local or unique-local (the `private` preset's
 * ranges), for a canonical address: a proxy in front of the app far more
 * often than a visitor. Reads the text, first character first: a public
 * IPv4 peer not starting with 1 costs one charCodeAt. @internal
 */
export const isLocal = (ip: string): boolean => {
  const c = ip.charCodeAt(0)
  // ::1, and fc00::/7, fe80::/10 written with their four hex digits
  if (c === 58) return ip === '::1'
  if (c === 102) return /^(f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]):/.test(ip)
  // 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16 all start with 1
  if (c !== 49) return false
  const a = octet(ip, 0)
  if (a === 10 || a === 127) return true
  const b = octet(ip, ip.indexOf('.') + 1)
  return (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
}

/** What to add to `trust` for `peer`: `loopback`, or the address itself. */
const trustEntryFor = (peer: string): string => (peer === '::1' || peer.startsWith('127.') ? 'loopback' : peer)

/**
 * The per-request watch of an engine, calling `warn` once per condition:
 * - PROXY_AWARE_UNTRUSTED_PROXY: a loopback or private peer sent
 *   `X-Forwarded-For` / `Forwarded` but is not trusted (the proxy the user
 *   forgot to list);
 * - PROXY_AWARE_DIRECT_CONNECTION: `trust: true` and a request without any
 *   forwarded address, or a hop count and a chain that ended inside the
 *   count: a client that reached the app directly (or past a proxy) is
 *   believed;
 * - PROXY_AWARE_CLIENT_CHOSE_IP: every address of a forwarded chain was
 *   trusted, so the leftmost one, written by the client, is the client IP.
 */
export function compileWatch(config: WatchConfig, warn: Warn): Watch {
  const trust = config.options.trust
  const trustAll = trust === true
  const hopCount = typeof trust === 'number'
  let untrustedWarned = false
  let directWarned = !trustAll && !hopCount
  let choseWarned = false

  const untrustedProxy = (peer: string, header: string) => {
    untrustedWarned = true
    const entry = trustEntryFor(peer)
    // with trustCertificate, the proxy may be one whose certificate did not match
    const byCertificate =
      config.identity === undefined
        ? ''
        : ` If it is a proxy you trust by its certificate, it presented none that matches trustCertificate on this connection.`
    warn(
      WARNING_CODES.untrustedProxy,
      `proxy-aware: a request from ${peer} carried ${header}, but ${peer} is not in trust, so the header was ignored and ${peer} is the client IP of everything it forwards. If ${peer} is your load balancer or reverse proxy, add ${show(entry)} to trust (e.g. trust: [..., ${show(entry)}], or its subnet's CIDR).${byCertificate}`,
      { peer, header, trust: show(trust), add: entry },
    )
  }

  const direct = (r: Resolution) => {
    directWarned = true
    warn(
      WARNING_CODES.directConnection,
      trustAll
        ? `proxy-aware: trust: true, and a request from ${show(r.ip)} came with no forwarded address: it reached the app directly (or is a health check), and any client that does so can write X-Forwarded-For and choose its IP. List your proxies' addresses in trust instead of true.`
        : `proxy-aware: trust: ${show(trust)} is a hop count, and a request from ${show(r.peer)} came through ${r.hops} proxy hop(s) (${r.ips.join(' <- ')}): a client that reaches the app directly or past a proxy is believed. List your proxies' addresses in trust instead of a count.`,
      { peer: r.peer, ips: r.ips, trust: show(trust) },
    )
  }

  const clientChose = (r: Resolution) => {
    choseWarned = true
    const header = r.source === 'forwarded' ? 'Forwarded' : 'X-Forwarded-For'
    warn(
      WARNING_CODES.clientChoseIp,
      `proxy-aware: every address of a request's ${header} chain was trusted (${r.ips.join(' <- ')}), so its leftmost entry ${show(r.ip)} became the client IP without any check: a trusted proxy wrote it if the client connected to that proxy, but a client that reaches a trusted address first, or sends its own ${header}, writes it itself. Trust only your proxies' own addresses: ${trustAll || hopCount ? `replace trust: ${show(trust)} with them` : `narrow the trust entry that contains ${show(r.ip)} (trust: ${show(trust)})`}.`,
      { ip: r.ip, ips: r.ips, header, trust: show(trust) },
    )
  }

  return function proxyAwareWatch(req, r) {
    if (r.reason === 'untrusted-peer') {
      // the peer's text first: most untrusted peers are public visitors
      if (untrustedWarned || r.peer === undefined || !isLocal(r.peer)) return
      // a PROXY protocol header named this peer: a client, not a proxy to trust
      if (relaysClient(proxyProtocolOf(req))) return
      const h = req.headers
      if (h['x-forwarded-for'] !== undefined) untrustedProxy(r.peer, 'X-Forwarded-For')
      else if (h.forwarded !== undefined) untrustedProxy(r.peer, 'Forwarded')
    } else if (r.reason === 'end-of-chain') {
      if (!directWarned && (hopCount || r.source === 'socket')) direct(r)
      // a vendor header's client ('header') was not chosen from the chain
      if (!choseWarned && (r.source === 'x-forwarded-for' || r.source === 'forwarded')) clientChose(r)
    }
  }
}

/** The command that refreshes the vendor ranges, as the warnings name it. */
export const REFRESH_COMMAND = 'npx proxy-aware refresh-presets --out presets.json'

const DAY = 86_400_000

/**
 * At startup: warn once (PROXY_AWARE_STALE_PRESET) when the data of a
 * vendor preset in use is older than `maxDays` (0: never). The age is
 * the vendor list's own date (`retrieved.snapshot`), else the day it was
 * taken. @internal
 */
export const checkPresetAge = (
  vendors: readonly string[],
  dataOf: (vendor: string) => PresetData,
  maxDays: number,
  warn: Warn,
  now = Date.now(),
): void => {
  if (maxDays === 0) return
  const stale: string[] = []
  for (const vendor of vendors) {
    const data = dataOf(vendor)
    // platform presets have no list to age
    if (data.status !== 'ok') continue
    const date = data.retrieved.snapshot ?? data.retrieved.taken
    const days = Math.floor((now - Date.parse(`${date}T00:00:00Z`)) / DAY)
    if (days > maxDays) stale.push(`${vendor} (${date}, ${days} days)`)
  }
  if (stale.length === 0) return
  warn(
    WARNING_CODES.stalePreset,
    `proxy-aware: the address ranges of ${stale.join(', ')} are older than maxPresetAge (${maxDays} days): vendors add and reassign ranges, so requests from a new one lose their client IP and a reassigned one stays trusted. Refresh them with \`${REFRESH_COMMAND}\` and load the file with presetsFile: "presets.json" (or the environment variable PROXY_AWARE_PRESETS).`,
    { presets: stale, maxPresetAge: maxDays },
  )
}

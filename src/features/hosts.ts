/**
 * Host lists (`allowedHosts`, `hsts.excludedHosts`), shared by the HTTPS
 * redirect and HSTS.
 */
import { DOT, OPEN_BRACKET } from '../parse/chars.js'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { parseHost } from '../parse/host.js'
import { canonicalIp } from '../parse/ip.js'

/** A (lower-cased) hostname without its trailing dot, as written in a URL. */
export const urlName = (hostname: string): string =>
  hostname.charCodeAt(hostname.length - 1) === DOT ? hostname.slice(0, -1) : hostname

/**
 * A hostname for comparison: `urlName`, and IPv6 literals in canonical
 * form inside their brackets (`[0:0::1]` is `[::1]`).
 */
const matchName = (hostname: string): string =>
  hostname.charCodeAt(0) === OPEN_BRACKET ? `[${canonicalIp(hostname.slice(1, -1))}]` : urlName(hostname)

/** A compiled host list: `(hostname) => boolean`. */
type HostMatcher = (hostname: string) => boolean

/**
 * Compile a host list. For `allowedHosts` (`strict`) the list must not be
 * empty and a wildcard must name at least two labels (`*.com` would allow
 * any .com host).
 */
export const compileHosts = (name: string, value: unknown, strict: boolean): HostMatcher => {
  if (!Array.isArray(value) || (strict && value.length === 0)) {
    throw new ProxyAwareConfigError(
      name,
      `must be a${strict ? ' non-empty' : 'n'} array of host names, got ${show(value)}`,
    )
  }
  const exact = new Set<string>()
  const suffixes: string[] = []
  for (const entry of value as unknown[]) {
    const wildcard = typeof entry === 'string' && entry.startsWith('*.')
    const parts = typeof entry === 'string' ? parseHost(wildcard ? entry.slice(2) : entry) : undefined
    if (parts === undefined || parts.port !== null || (wildcard && parts.hostname.charCodeAt(0) === OPEN_BRACKET)) {
      throw new ProxyAwareConfigError(
        name,
        `must list host names without port (\`example.com\`, \`*.example.com\`, \`[::1]\`), got ${show(entry)}`,
      )
    }
    const host = matchName(parts.hostname)
    if (wildcard && strict && !host.includes('.')) {
      throw new ProxyAwareConfigError(name, `has a wildcard for a whole top-level domain, got ${show(entry)}`)
    }
    if (wildcard) suffixes.push(`.${host}`)
    else exact.add(host)
  }
  return hostname => {
    const h = matchName(hostname)
    if (exact.has(h)) return true
    for (const s of suffixes) if (h.length > s.length && h.endsWith(s)) return true
    return false
  }
}

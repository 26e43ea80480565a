/**
 * `proxyProtocol({ trust })` with vendor presets: a preset names the senders
 * of a PROXY protocol header only if its vendor sends one to origins. Vendor
 * documentation, read 2026-12-06 (stored copies in the search corpora):
 * - gcp-lb: Google's proxy Network Load Balancers (TCP/SSL proxy) relay
 *   "the client's source IP address and port" with the PROXY protocol
 *   (https://cloud.google.com/load-balancing/docs/proxy-network-load-balancer).
 *   The header's source is the client, so the forwarding rule the trust
 *   engine needs for X-Forwarded-For (the load balancer appends its own
 *   address there) plays no part: the preset's ranges alone are accepted.
 * - cloudflare: Spectrum sends PROXY v1 (and v2) to the origin when enabled
 *   (https://developers.cloudflare.com/spectrum/how-to/enable-proxy-protocol/).
 * The others are refused with the reason below.
 */
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { presetData } from '../vendors/index.js'

const HTTP_ONLY = 'is an HTTP proxy: it connects to origins over HTTP(S) and never sends a PROXY protocol header'

/** Why a preset cannot name PROXY protocol senders (vendor docs read 2026-12-06). */
const REFUSED: Readonly<Record<string, string>> = {
  // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html
  'cloudfront': `CloudFront ${HTTP_ONLY}; it passes the client in the CloudFront-Viewer-Address header`,
  // https://www.fastly.com/documentation/reference/http/http-headers/Fastly-Client-IP
  'fastly': `Fastly ${HTTP_ONLY}; it passes the client in Fastly-Client-IP and X-Forwarded-For`,
  // https://learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol
  'azure-front-door': `Azure Front Door ${HTTP_ONLY}; it passes the client in X-Azure-ClientIP and X-Forwarded-For`,
  // https://devcenter.heroku.com/articles/http-routing
  'heroku': `the Heroku router ${HTTP_ONLY}; it passes the client in X-Forwarded-For`,
  // https://vercel.com/docs/headers/request-headers
  'vercel': `the Vercel proxy ${HTTP_ONLY}; it passes the client in X-Forwarded-For`,
  // https://fly.io/docs/reference/services/ (handlers: "proxy_proto": wrap TCP connection in PROXY protocol)
  'fly':
    'Fly Proxy sends a PROXY protocol header only on a port whose handlers include "proxy_proto", and Fly publishes no address range for it. On that port (reachable only through Fly Proxy) use trust: true',
}

/**
 * The `trust` option of `proxyProtocol()` with its presets checked: `gcp-lb`
 * expanded to Google's ranges, a preset whose vendor sends no PROXY header
 * refused (`ProxyAwareConfigError` naming `trust`, the preset and why).
 * Anything else is returned as given, for the trust engine to validate.
 */
export const proxyProtocolTrust = <T>(trust: T): T => {
  if (typeof trust !== 'string' && !Array.isArray(trust)) return trust
  const entries: readonly unknown[] = typeof trust === 'string' ? trust.split(',') : trust
  let expanded = false
  const out = entries.flatMap<unknown>(entry => {
    const name = typeof entry === 'string' ? entry.trim().toLowerCase() : ''
    if (Object.hasOwn(REFUSED, name)) {
      throw new ProxyAwareConfigError(
        'trust',
        `has the preset ${show(name)}, which cannot name PROXY protocol senders: ${REFUSED[name]}`,
      )
    }
    if (name !== 'gcp-lb') return [entry]
    expanded = true
    return presetData('gcp-lb').ranges
  })
  return expanded ? (out as T) : trust
}

/**
 * The vendor client-IP headers (`clientIpHeader`): which vendor presets'
 * addresses may write each one, and its value's shape. Data only: the
 * per-request reader is engine/vendor-headers.ts.
 */

/** A single-value client-IP header a CDN or platform writes. @public */
export type ClientIpHeader =
  | 'cf-connecting-ip'
  | 'true-client-ip'
  | 'fastly-client-ip'
  | 'fly-client-ip'
  | 'x-azure-socketip'
  | 'cloudfront-viewer-address'
  | 'x-real-ip'

/**
 * Each header, the vendor presets whose addresses may write it (none: any
 * trusted proxy) and whether its value carries a port. Shapes, read
 * 2026-11-29:
 * - CF-Connecting-IP: developers.cloudflare.com/fundamentals/reference/http-headers/
 * - True-Client-IP: Cloudflare's Enterprise managed transform "Add
 *   True-Client-IP header" (developers.cloudflare.com/rules/transform/
 *   managed-transforms/reference/), or a CloudFront Function
 *   (AmazonCloudFront DeveloperGuide, example-function-add-true-client-ip-header).
 *   Akamai publishes no origin ranges (Site Shield maps are per customer):
 *   no preset, so no binding.
 * - Fastly-Client-IP: fastly.com/documentation/reference/http/http-headers/Fastly-Client-IP
 * - Fly-Client-IP: fly.io/docs/networking/request-headers/
 * - X-Azure-SocketIP (not X-Azure-ClientIP, which a client's X-Forwarded-For
 *   can set): learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol
 * - CloudFront-Viewer-Address, `ip:port` with IPv6 unbracketed:
 *   docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html
 * - X-Real-IP: nginx's `proxy_set_header X-Real-IP $remote_addr` convention.
 * @internal
 */
export const CLIENT_IP_HEADERS: Readonly<Record<ClientIpHeader, { vendors: readonly string[]; port: boolean }>> = {
  'cf-connecting-ip': { vendors: ['cloudflare'], port: false },
  'true-client-ip': { vendors: ['cloudflare', 'cloudfront'], port: false },
  'fastly-client-ip': { vendors: ['fastly'], port: false },
  'fly-client-ip': { vendors: ['fly'], port: false },
  'x-azure-socketip': { vendors: ['azure-front-door'], port: false },
  'cloudfront-viewer-address': { vendors: ['cloudfront'], port: true },
  'x-real-ip': { vendors: [], port: false },
}

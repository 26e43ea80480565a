/**
 * The warning for an app that reads one forwarding convention behind a
 * proxy that writes the other (issue 22): h2o and lighttpd write
 * `X-Forwarded-For` and pass a client's `Forwarded` on, so an app reading
 * only `Forwarded` gets the proxy's own address from every request that
 * carries none, and the client's word from every request that does.
 * Kept apart from diagnostics.ts; compileEngine hooks it next to
 * compileWatch.
 */
import type { Warn } from '../core/options.js'
import type { Watch } from './diagnostics.js'
import type { EngineConfig } from './options.js'

/** Its stable code (docs/observability.md lists it). @internal */
export const HEADER_MISMATCH = 'PROXY_AWARE_HEADER_MISMATCH'

/**
 * `watch`, plus, when the app reads one convention only, a check that warns
 * once (PROXY_AWARE_HEADER_MISMATCH) when a trusted peer sends a request
 * with the other convention's header and none of the one read: the walk
 * found no forwarded entry (`source: 'socket'`, `end-of-chain`), so the
 * peer, a proxy, is the client IP. A proxy that writes the header the app
 * reads sends it on every request, so a correct setup never warns. @internal
 */
export function withHeaderMismatch(watch: Watch, config: EngineConfig, warn: Warn): Watch {
  if (config.readXForwarded === config.readForwarded) return watch
  const [read, other, fix] = config.readForwarded
    ? (['Forwarded', 'x-forwarded-for', 'x-forwarded'] as const)
    : (['X-Forwarded-For', 'forwarded', 'forwarded'] as const)
  const otherName = config.readForwarded ? 'X-Forwarded-For' : 'Forwarded'
  let warned = false
  return function proxyAwareWatchHeaders(req, r) {
    watch(req, r)
    if (warned || r.source !== 'socket' || r.reason !== 'end-of-chain') return
    if (req.headers[other] === undefined) return
    warned = true
    warn(
      HEADER_MISMATCH,
      `proxy-aware: a request from the trusted proxy ${r.ip} carried ${otherName} but no ${read}, and the app reads only ${read} (headers: ['${config.readForwarded ? 'forwarded' : 'x-forwarded'}']): the client IP is the proxy's own address, and a client that sends its own ${read} through this proxy is believed. Read the header the proxy writes: headers: ['${fix}'], and make the proxy drop the client's ${read} (docs/deployments.md).`,
      { peer: r.peer, header: otherName, headers: config.options.headers, add: fix },
    )
  }
}

/**
 * With forwarded certificates, `trust` must not believe an arbitrary
 * peer: probed with documentation addresses at startup. @internal
 */
import { show } from '../../core/errors.js'
import { compileTrust } from '../../engine/trust.js'
import { BARE, parseAddress } from '../../parse/ip.js'
import type { PresetContext } from '../../vendors/index.js'
import { invalidOption } from './validators.js'

/**
 * Addresses that are never a proxy of the user's: one of each
 * documentation range, RFC 5737 (192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24) and RFC 3849 (2001:db8::/32), checked 2026-11-29.
 */
const NEVER_A_PROXY = ['192.0.2.1', '198.51.100.1', '203.0.113.1', '2001:db8::1']

/**
 * With forwarded certificates, a `trust` (function or list) that believes
 * a documentation address would believe an arbitrary peer: every client
 * could send its own certificate header. Probed at hops 0 and 1. @internal
 */
export const checkTrustProbe = (trust: unknown, ctx: PresetContext): void => {
  const { match } = compileTrust(trust, ctx)
  for (const address of NEVER_A_PROXY) {
    for (const hop of [0, 1]) {
      // parseAddress fills the scratch record the matcher reads
      if (match(parseAddress(address, 0, address.length, BARE), hop, address)) {
        invalidOption(
          'trust',
          `trusts ${address} (hop ${hop}), a documentation address (RFC 5737 / RFC 3849) that is never your proxy: with clientCert.forwarded, every client could send its own certificate header. List your proxies' addresses, or make the function return true only for them, got ${show(trust)}`,
        )
      }
    }
  }
}

/**
 * `azureFrontDoorId`: refuse, with a 403, a request that came from Azure
 * Front Door's addresses with another profile's X-Azure-FDID (or none).
 * The engine has already declined to believe its forwarded headers (see
 * `compileEngineResolver`); this makes the refusal visible instead of
 * serving the app to another Front Door customer.
 */
import { STATUS_CODES } from 'node:http'
import { compileFrontDoorId } from '../engine/vendor-headers.js'
import { presetContextOf } from '../engine/preset-file.js'
import { compileTrust } from '../engine/trust.js'
import type { FeatureCompiler } from './feature.js'

/** The `FEATURES` entry (the option itself is the engine's). @internal */
export const frontDoorFeature: FeatureCompiler = {
  options: [],
  compile(options) {
    // validated by the engine already, which compiled the same options first
    if (options.azureFrontDoorId === undefined) return undefined
    // the ranges the engine uses: a presets file's when one is named
    const ctx = presetContextOf(options)
    // defined: azureFrontDoorId is set (and was checked by the engine)
    const fd = compileFrontDoorId(
      options.azureFrontDoorId,
      options.trust,
      compileTrust(options.trust, ctx).vendors,
      ctx,
    )!
    return {
      check(ctx) {
        const { ip, peer } = ctx.resolution
        // resolved without trusting Front Door, the walk stopped at a Front
        // Door address: the request came through someone else's profile
        if (ip === undefined || fd.idMatches(ctx.req.headers) || !fd.isFrontDoor(ip)) return undefined
        const got = ctx.req.headers['x-azure-fdid']
        ctx.log.warn(
          { azureFrontDoorId: typeof got === 'string' ? got.slice(0, 64) : null, frontDoor: ip, peer },
          'proxy-aware: request from Azure Front Door with another X-Azure-FDID refused',
        )
        return {
          status: 403,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
          body: `${STATUS_CODES[403]}\n`,
        }
      },
    }
  },
}

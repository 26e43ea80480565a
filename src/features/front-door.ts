/**
 * `azureFrontDoorId`: refuse, with a 403, a request that came from Azure
 * Front Door's addresses with another profile's X-Azure-FDID (or none).
 * The engine has already declined to believe its forwarded headers (see
 * `compileEngineResolver`); this makes the refusal visible instead of
 * serving the app to another Front Door customer.
 */
import { STATUS_CODES } from 'node:http'
import { escapeText } from '../core/escape.js'
import type { FeatureCompiler } from './feature.js'

/** The `FEATURES` entry (the option itself is the engine's). @internal */
export const frontDoorFeature: FeatureCompiler = {
  options: [],
  compile(_options, engine) {
    // the engine compiled azureFrontDoorId (and validated it) before the features
    const fd = engine?.frontDoor
    if (fd === undefined) return undefined
    return {
      check(ctx) {
        const { ip, peer } = ctx.resolution
        // resolved without trusting Front Door, the walk stopped at a Front
        // Door address: the request came through someone else's profile
        if (ip === undefined || fd.idMatches(ctx.req.headers) || !fd.isFrontDoor(ip)) return undefined
        const got = ctx.req.headers['x-azure-fdid']
        ctx.log.warn(
          { azureFrontDoorId: typeof got === 'string' ? escapeText(got.slice(0, 64)) : null, frontDoor: ip, peer },
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

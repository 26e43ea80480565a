/**
 * The features the entry points compile, in the order their checks run.
 * Imports point down only: the engine takes this list as a parameter.
 */
import type { FeatureCompiler } from './feature.js'
import { httpsRedirectFeature } from './https-redirect.js'
import { hstsFeature } from './hsts.js'
import { secureCookiesFeature } from './secure-cookies.js'
import { clientCertCompiler } from './client-cert/index.js'
import { frontDoorFeature } from './front-door.js'
import { needsResponseHook } from '../response/self-test.js'
import type { HttpsRedirectOptions } from './https-redirect.js'
import type { HstsOptions } from './hsts.js'
import type { SecureCookiesOptions } from './secure-cookies.js'

/** HTTPS enforcement options, each off by default. @public */
export interface HttpsOptions {
  /**
   * Redirect requests whose resolved protocol is `http` to https. Needs
   * `host` or `allowedHosts`: a redirect target must never come from an
   * unchecked request.
   */
  httpsRedirect?: HttpsRedirectOptions
  /** Send `Strict-Transport-Security` on responses to https requests. */
  hsts?: boolean | HstsOptions
  /** Add `Secure` to every `Set-Cookie` on responses to https requests. */
  secureCookies?: boolean | SecureCookiesOptions
}

/** Every feature, in the order their checks run. */
export const DEFAULT_FEATURES: readonly FeatureCompiler[] = [
  // another Azure Front Door profile's request (azureFrontDoorId): refused
  // before anything else answers it
  frontDoorFeature,

  // HTTPS enforcement (httpsRedirect, hsts, secureCookies)
  httpsRedirectFeature,
  // both edit response headers through Node internals: self-tested first
  needsResponseHook(hstsFeature, 'send https responses without Strict-Transport-Security'),
  needsResponseHook(secureCookiesFeature, 'send cookies without Secure'),

  // client certificates (clientCert)
  clientCertCompiler,
]

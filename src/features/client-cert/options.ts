/**
 * The `clientCert` option: public types and their validation at startup
 * (the parts: policy.ts, forwarded-options.ts, material.ts,
 * trust-probe.ts). @internal
 */
import { show } from '../../core/errors.js'
import type { PresetContext } from '../../vendors/index.js'
import { compileForwarded, type ForwardedConfig } from './forwarded-options.js'
import { compileRoutePolicy, type RouteConfig } from './policy.js'
import { checkTrustProbe } from './trust-probe.js'
import type { ClientCertificate, ForwardedCertSource } from './types.js'
import { invalidOption, isObject } from './validators.js'

export type { ClientCertError, ClientCertFailure, ClientCertificate, ForwardedCertSource } from './types.js'

/**
 * Identity allow-list: a certificate is allowed when any listed value
 * matches (OR across lists). Or a predicate. @public
 */
export type ClientCertAllow =
  | {
      /** SHA-256 fingerprints, hex with or without colons, any case */
      fingerprint256?: readonly string[]
      /** exact SAN URIs, e.g. SPIFFE IDs `spiffe://example.org/ns/prod/sa/web` */
      uri?: readonly string[]
      /** exact SAN DNS names (case-insensitive) */
      dns?: readonly string[]
      /** exact SAN e-mail addresses (case-insensitive) */
      email?: readonly string[]
      /** exact subject common names */
      commonName?: readonly string[]
    }
  | ((cert: ClientCertificate) => boolean)

/** The part of the policy a route may override. @public */
export interface ClientCertRoutePolicy {
  /** `required`: refuse requests without an accepted certificate; `optional`: let them through without one */
  mode?: 'required' | 'optional'
  /** identity allow-list */
  allow?: ClientCertAllow
  /** status of the refusal @default 403 */
  status?: number
}

/** A certificate forwarded by the trusted proxy that terminated mTLS. @public */
export interface ForwardedClientCertOptions {
  /** which proxy convention to read; no auto-detection */
  source: ForwardedCertSource
  /**
   * `aws-alb` only, and required there: the load balancer's mutual
   * authentication mode. `verify`: it verified the certificate against its
   * trust store and sends `X-Amzn-Mtls-Clientcert-Leaf`. `passthrough`: it
   * sends the unverified chain in `X-Amzn-Mtls-Clientcert`; `ca` is
   * required. The other mode's header is refused (400).
   */
  mode?: 'verify' | 'passthrough'
  /**
   * PEM bundle of trust anchors: verify the forwarded certificate (and
   * the forwarded chain) in the app. Required unless the source carries
   * a verification signal (`nginx`, `haproxy`, `aws-alb` verify mode,
   * `verifyHeader`) or `proxyVerifies` is set; always required in `aws-alb`
   * passthrough mode. Or what `watchForwardedCa` (`proxy-aware/tls`)
   * returns: the bundle and CRLs read from files, reloaded when they change.
   */
  ca?: string | Buffer | readonly (string | Buffer)[] | ForwardedCaSource
  /**
   * PEM CRLs (`X509 CRL` blocks) of the CAs in `ca`, each signed by one of
   * them: a listed certificate is refused (`revoked`). With CRLs, every
   * certificate of the path needs its issuer's CRL (else `untrusted`),
   * and a CRL past its nextUpdate refuses its CA's certificates. Requires
   * `ca` as PEM (a `watchForwardedCa` watcher reads its own `crl` file).
   */
  crl?: string | Buffer | readonly (string | Buffer)[]
  /**
   * Header carrying the certificate, for `nginx` and `haproxy` (which you
   * configure yourself). @default 'x-ssl-client-cert'
   */
  certHeader?: string
  /**
   * Header carrying the proxy's verification result for the same hop.
   * `nginx`/`haproxy` default to `x-ssl-client-verify` (nginx
   * `$ssl_client_verify`: `SUCCESS`; HAProxy `ssl_c_verify`: `0`). For
   * other sources, set it with `verifyValue` (e.g. GCP
   * `{client_cert_chain_verified}`: `true`).
   */
  verifyHeader?: string
  /** the value of `verifyHeader` meaning "verified" (sources other than nginx/haproxy) */
  verifyValue?: string
  /**
   * Declare that the proxy refuses connections whose certificate fails its
   * verification (Envoy `require_client_certificate` with a validation
   * context, Traefik `RequireAndVerifyClientCert`), so a forwarded
   * certificate is a verified one. @default false
   */
  proxyVerifies?: boolean
  /** largest accepted certificate header, in bytes (431 above) @default 16384 */
  maxHeaderBytes?: number
  /** most certificates in a forwarded chain @default 8 */
  maxChainLength?: number
}

/**
 * Trust material that changes at run time: what `watchForwardedCa`
 * (`proxy-aware/tls`) returns. @public
 */
export interface ForwardedCaSource {
  /** the first load */
  readonly ready: Promise<unknown>
}

/** `clientCert.clockSkew`'s default, in ms. @internal */
export const DEFAULT_SKEW_MS = 60_000

/** The `clientCert` policy. @public */
export interface ClientCertPolicy extends ClientCertRoutePolicy {
  /** read the certificate from a trusted proxy's headers instead of the TLS socket */
  forwarded?: ForwardedClientCertOptions
  /** allowance, in seconds, when checking validity dates @default 60 */
  clockSkew?: number
}

/** The `clientCert` option of the core and both adapters. @public */
export interface ClientCertOptions {
  /**
   * Require (or accept) a client certificate: verified on the app's own
   * TLS socket (`requestCert`), or forwarded by a trusted proxy.
   */
  clientCert?: ClientCertPolicy
}

/** Normalised policy. @internal */
export interface ClientCertConfig extends RouteConfig {
  forwarded: ForwardedConfig | undefined
  clockSkewMs: number
}

/**
 * Validate the `clientCert` option; undefined when it is not set. `trust`
 * is the engine's (already validated) `trust` option: a forwarded
 * certificate is believed only from a peer that `trust` checks. @internal
 */
export function compileClientCert(
  value: unknown,
  trust?: unknown,
  ctx: PresetContext = {},
): ClientCertConfig | undefined {
  if (value === undefined) return undefined
  if (!isObject(value)) return invalidOption('clientCert', `must be an object, got ${show(value)}`)
  // a number here is a hop count >= 1 (compileTrust refuses 0)
  if (value.forwarded !== undefined && (trust === true || typeof trust === 'number')) {
    invalidOption(
      'clientCert.forwarded',
      `needs trust to list the proxy's addresses, got trust: ${show(trust)}, which believes any peer: every client could send its own certificate header`,
    )
  }
  if (value.forwarded !== undefined) checkTrustProbe(trust, ctx)
  const route = compileRoutePolicy('clientCert', value, undefined, ['forwarded', 'clockSkew'])
  const skew = value.clockSkew ?? DEFAULT_SKEW_MS / 1000
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0 || skew > 86400) {
    invalidOption('clientCert.clockSkew', `must be a number of seconds from 0 to 86400, got ${show(skew)}`)
  }
  return {
    ...route,
    forwarded: value.forwarded === undefined ? undefined : compileForwarded(value.forwarded, (skew as number) * 1000),
    clockSkewMs: (skew as number) * 1000,
  }
}

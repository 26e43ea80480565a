/**
 * `clientCert.forwarded`: which proxy convention to read, its headers,
 * the trust material and the limits, validated at startup. @internal
 */
import { checkOptionNames, show } from '../../core/errors.js'
import { checkX509Runtime } from '../../core/runtime.js'
import { compileTrustMaterial, type ForwardedTrust } from './material.js'
import type { ForwardedCertSource } from './types.js'
import { headerName, invalidOption, isObject, positive } from './validators.js'

/** Normalised forwarded options. @internal */
export interface ForwardedConfig {
  source: ForwardedCertSource
  /** `aws-alb`'s mode, undefined for other sources */
  albMode: 'verify' | 'passthrough' | undefined
  /** the current anchors and CRLs (undefined: a watcher that has not loaded yet); no `ca`: undefined */
  trust: (() => ForwardedTrust | undefined) | undefined
  certHeader: string
  verifyHeader: string | undefined
  verifyValue: string | undefined
  proxyVerifies: boolean
  maxHeaderBytes: number
  maxChainLength: number
  /** every header of this source (stripped from untrusted peers) */
  headers: string[]
}

const O = 'clientCert.forwarded'

const OPTION_NAMES = [
  'source',
  'mode',
  'ca',
  'crl',
  'certHeader',
  'verifyHeader',
  'verifyValue',
  'proxyVerifies',
  'maxHeaderBytes',
  'maxChainLength',
]

const SOURCES: readonly ForwardedCertSource[] = ['rfc9440', 'xfcc', 'nginx', 'haproxy', 'aws-alb', 'traefik']

const SOURCE_HEADERS: Record<ForwardedCertSource, readonly string[]> = {
  'rfc9440': ['client-cert', 'client-cert-chain'],
  'xfcc': ['x-forwarded-client-cert'],
  'nginx': [],
  'haproxy': [],
  'aws-alb': [
    'x-amzn-mtls-clientcert',
    'x-amzn-mtls-clientcert-leaf',
    'x-amzn-mtls-clientcert-serial-number',
    'x-amzn-mtls-clientcert-issuer',
    'x-amzn-mtls-clientcert-subject',
    'x-amzn-mtls-clientcert-validity',
  ],
  'traefik': ['x-forwarded-tls-client-cert', 'x-forwarded-tls-client-cert-info'],
}

/**
 * Standard request headers (and prefixes): never a certificate or verify
 * header, since the source's headers are deleted from untrusted peers'
 * requests and listed in Vary.
 */
const STANDARD_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'transfer-encoding',
  'expect',
  'date',
  'via',
  'cookie',
  'authorization',
  'user-agent',
  'origin',
  'referer',
  'range',
  'cache-control',
  'pragma',
  'vary',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
])
const STANDARD_PREFIXES = ['accept', 'content-', 'if-', 'proxy-', 'sec-']

/** A configured header name must be the source's own, used once. */
const ownHeader = (option: string, name: string, taken: readonly string[]): void => {
  if (STANDARD_HEADERS.has(name) || STANDARD_PREFIXES.some(p => name.startsWith(p))) {
    invalidOption(
      option,
      `must not be a standard header, got ${show(name)}: the certificate headers are deleted from untrusted peers' requests and listed in Vary; use a header of its own (e.g. x-ssl-client-cert)`,
    )
  }
  if (taken.includes(name))
    invalidOption(option, `names a header already read for this source (${taken.join(', ')}), got ${show(name)}`)
}

/** `source`, and `mode` (aws-alb's, required there and refused elsewhere). */
const compileSource = (value: Record<string, unknown>): Pick<ForwardedConfig, 'source' | 'albMode'> => {
  const source = value.source as ForwardedCertSource
  if (!SOURCES.includes(source))
    invalidOption(`${O}.source`, `must be one of ${SOURCES.join(', ')}, got ${show(source)}`)
  const alb = source === 'aws-alb'
  const albMode = value.mode
  if (!alb && albMode !== undefined)
    invalidOption(`${O}.mode`, `applies to the aws-alb source only, got ${show(albMode)}`)
  if (alb && albMode !== 'verify' && albMode !== 'passthrough') {
    invalidOption(
      `${O}.mode`,
      `is required for aws-alb: 'verify' (the load balancer verifies against its trust store and sends X-Amzn-Mtls-Clientcert-Leaf) or 'passthrough' (it sends the unverified chain in X-Amzn-Mtls-Clientcert; needs ca), got ${show(albMode)}`,
    )
  }
  return { source, albMode: albMode as ForwardedConfig['albMode'] }
}

/** nginx and haproxy: headers the user configures on the proxy. */
const ownsHeaders = (source: ForwardedCertSource): boolean => source === 'nginx' || source === 'haproxy'

/** `certHeader`, `verifyHeader` and `verifyValue`, with the source's defaults. */
const compileSignalHeaders = (
  value: Record<string, unknown>,
  source: ForwardedCertSource,
): Pick<ForwardedConfig, 'certHeader' | 'verifyHeader' | 'verifyValue'> => {
  const own = ownsHeaders(source)
  if (!own && value.certHeader !== undefined) {
    invalidOption(`${O}.certHeader`, `applies to the nginx and haproxy sources only (${source} has fixed header names)`)
  }
  const certHeader = headerName(`${O}.certHeader`, value.certHeader, own ? 'x-ssl-client-cert' : '')!
  const verifyHeader = headerName(`${O}.verifyHeader`, value.verifyHeader, own ? 'x-ssl-client-verify' : undefined)
  const verifyValue = value.verifyValue
  if (own && verifyValue !== undefined) {
    invalidOption(`${O}.verifyValue`, `is fixed for ${source} (${source === 'nginx' ? 'SUCCESS' : '0'})`)
  }
  if (!own && (verifyValue === undefined) !== (value.verifyHeader === undefined)) {
    invalidOption(
      `${O}.verifyValue`,
      `and verifyHeader go together, got ${show(verifyValue)} and ${show(value.verifyHeader)}`,
    )
  }
  if (verifyValue !== undefined && (typeof verifyValue !== 'string' || verifyValue === '')) {
    invalidOption(`${O}.verifyValue`, `must be a non-empty string, got ${show(verifyValue)}`)
  }
  return { certHeader, verifyHeader, verifyValue: verifyValue as string | undefined }
}

/** The certificate needs a verifier: the app (`ca`), the proxy's signal, or aws-alb verify mode. */
const requireVerification = (
  c: Pick<ForwardedConfig, 'source' | 'albMode' | 'verifyHeader' | 'proxyVerifies' | 'trust'>,
): void => {
  if (c.albMode === 'passthrough' && c.trust === undefined) {
    invalidOption(
      `${O}.ca`,
      'is required in aws-alb passthrough mode: the load balancer forwards the chain without verifying it',
    )
  }
  // aws-alb verify mode: the load balancer refuses certificates its trust store does not verify
  if (c.verifyHeader === undefined && !c.proxyVerifies && c.trust === undefined && c.source !== 'aws-alb') {
    invalidOption(
      `${O}.ca`,
      `is required: the ${c.source} source carries no verification signal, so set ca (verify in the app), verifyHeader/verifyValue, or proxyVerifies: true if the proxy refuses unverified certificates`,
    )
  }
}

/** Every header of the source: its fixed ones, then the configured ones (checked). */
const sourceHeaders = (c: Pick<ForwardedConfig, 'source' | 'certHeader' | 'verifyHeader'>): string[] => {
  const headers = [...SOURCE_HEADERS[c.source]]
  if (ownsHeaders(c.source)) {
    ownHeader(`${O}.certHeader`, c.certHeader, headers)
    headers.push(c.certHeader)
  }
  if (c.verifyHeader !== undefined) {
    ownHeader(`${O}.verifyHeader`, c.verifyHeader, headers)
    headers.push(c.verifyHeader)
  }
  return headers
}

/** Validate `clientCert.forwarded`. @internal */
export const compileForwarded = (value: unknown, skewMs: number): ForwardedConfig => {
  if (!isObject(value)) return invalidOption(O, `must be an object with a source, got ${show(value)}`)
  checkX509Runtime(O)
  checkOptionNames(value, OPTION_NAMES, O)
  const { source, albMode } = compileSource(value)
  const signal = compileSignalHeaders(value, source)
  const proxyVerifies = value.proxyVerifies ?? false
  if (typeof proxyVerifies !== 'boolean')
    invalidOption(`${O}.proxyVerifies`, `must be a boolean, got ${show(proxyVerifies)}`)
  const verifies = proxyVerifies as boolean
  const trust = compileTrustMaterial(value.ca, value.crl, skewMs)
  requireVerification({ source, albMode, verifyHeader: signal.verifyHeader, proxyVerifies: verifies, trust })
  const headers = sourceHeaders({ source, ...signal })
  return {
    source,
    albMode,
    trust,
    ...signal,
    proxyVerifies: verifies,
    maxHeaderBytes: positive(`${O}.maxHeaderBytes`, value.maxHeaderBytes, 16384, 1 << 20),
    maxChainLength: positive(`${O}.maxChainLength`, value.maxChainLength, 8, 32),
    headers,
  }
}

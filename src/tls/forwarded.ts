/**
 * Reload the CA bundle and CRLs that verify forwarded client certificates
 * (`clientCert.forwarded.ca`) from files when they change. @private
 */
import { checkOptionNames, ProxyAwareConfigError } from '../core/errors.js'
import type { Logger } from '../core/options.js'
import {
  type ForwardedTrust,
  kForwardedTrust,
  parseCaBundle,
  parseCrlPems,
  showMaterial,
} from '../features/client-cert/material.js'
import { DEFAULT_SKEW_MS, type ForwardedCaSource } from '../features/client-cert/options.js'
import { blocks } from './material.js'
import { checkPath, type TlsReloadResult, type TlsWatcher, watchFiles, watchTimes } from './watch.js'

/** Options of `watchForwardedCa`. @public */
export interface WatchForwardedCaOptions {
  /** path of the PEM bundle of CAs (as `clientCert.forwarded.ca`) */
  ca: string
  /** path of the PEM CRLs, each signed by a CA of the bundle */
  crl?: string
  /** where reloads and refusals are reported (pino, Fastify's `app.log`, console) */
  logger?: Logger
  /** polling period in ms, besides watching the folders @default 60000 */
  interval?: number
  /** quiet time after a change before reading, and between the two reads that must agree, in ms @default 250 */
  debounce?: number
}

/** A running watch of the forwarded-certificate CA; give it as `clientCert.forwarded.ca`. @public */
export interface ForwardedCaWatcher extends TlsWatcher, ForwardedCaSource {
  ready: Promise<TlsReloadResult>
}

/** Run a parser, naming the file in its error. */
const about = <T>(what: string, parse: () => T): T => {
  try {
    return parse()
  } catch (err) {
    throw new Error(`${what} ${(err as Error).message}`)
  }
}

/**
 * Watch the CA bundle (and CRL file) that verify certificates forwarded by
 * a trusted proxy, and use new contents for the next requests when they
 * change, without a restart. Material is validated first (complete PEM,
 * every certificate a CA, every CRL signed by a CA of the bundle, within
 * its dates, with no critical extension) and read twice to be sure no
 * writer is at work; anything wrong keeps the old material and is
 * reported once. Until a first good load, forwarded certificates are
 * refused (`untrusted`). Throws `ProxyAwareConfigError` on bad options.
 *
 * @example
 * const ca = watchForwardedCa({ ca: '/pki/ca.pem', crl: '/pki/ca.crl', logger: app.log })
 * await app.register(trustProxy, { trust: '10.0.0.0/8', clientCert: { forwarded: { source: 'xfcc', ca } } })
 * @public
 */
export function watchForwardedCa(options: WatchForwardedCaOptions): ForwardedCaWatcher {
  if (typeof options !== 'object' || options === null)
    throw new ProxyAwareConfigError('watchForwardedCa', `options must be an object, got ${showMaterial(options)}`)
  checkOptionNames(options, ['ca', 'crl', 'logger', 'interval', 'debounce'])
  for (const name of ['ca', 'crl'] as const) checkPath(name, options[name], name === 'ca')
  const { log, interval, debounce } = watchTimes(options)
  const files = { ca: options.ca, crl: options.crl }
  let current: ForwardedTrust | undefined

  const apply = (texts: Record<string, string>): TlsReloadResult => {
    // complete blocks only (a bundle cut inside a block is refused; one cut exactly between two blocks is a smaller bundle)
    const caBlocks = blocks(texts.ca!, 'CERTIFICATE', 'the CA bundle')
    const anchors = about('the CA bundle', () => parseCaBundle(caBlocks))
    const crlBlocks = texts.crl === undefined ? undefined : blocks(texts.crl, 'X509 CRL', 'the CRL file')
    const crls =
      crlBlocks && about('the CRL file:', () => parseCrlPems(crlBlocks, anchors, Date.now(), DEFAULT_SKEW_MS))
    current = { anchors, crls }
    log.info({ tls: { files, cas: anchors.length } }, 'proxy-aware: forwarded-certificate CA loaded')
    return { status: 'reloaded' }
  }
  const w = watchFiles({
    files,
    log,
    debounce,
    interval,
    refused: 'proxy-aware: forwarded-certificate CA not reloaded, still using the previous one',
    apply,
  })
  return Object.assign(w, { [kForwardedTrust]: () => current })
}

/**
 * Reload a TLS server's key, certificate, client CA bundle and CRLs from
 * files when they change, without a restart. @private
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { dirname } from 'node:path'
import { checkOptionNames, ProxyAwareConfigError, show } from '../core/errors.js'
import { checkLogger, type Logger } from '../core/options.js'
import { bumpMaterial, trackMaterial } from '../features/client-cert/connection.js'
import { looksLikeMaterial, showMaterial } from '../features/client-cert/material.js'
import { type Files, readStable, type TlsFiles, validate } from './material.js'
import { contextOptions, type TlsOptionsInput } from './options.js'

/** The TLS server view `watchTls` needs (`https`, `http2` secure, `tls` servers). @public */
export interface TlsServerLike {
  setSecureContext(options: object): void
  /** for `sni` (Node's `tls.Server#addContext`) */
  addContext?(hostname: string, context: object): void
  requestCert?: boolean
  sessionIdContext?: string
  cert?: unknown
}

/** Options of `watchTls`. @public */
export interface WatchTlsOptions extends TlsFiles {
  /** where reloads and refusals are reported (pino, Fastify's `app.log`, console) */
  logger?: Logger
  /** warn (at start, then daily) when the served certificate expires within this many days @default 21 */
  expiryWarningDays?: number
  /** polling period in ms, besides watching the folders @default 60000 */
  interval?: number
  /** quiet time after a change before reading, and between the two reads that must agree, in ms @default 250 */
  debounce?: number
  /**
   * Certificates chosen by server name: hostname (as `server.addContext`
   * takes it, `*` wildcards allowed) to its key and certificate files.
   * Each is validated like the default one and applied with
   * `server.addContext`, with the server's `ca`, `crl` and `tls` options.
   */
  sni?: Readonly<Record<string, { key: string; cert: string }>>
  /** the other `tls` options given to `tlsOptions` (ciphers, ...): `setSecureContext` resets what it is not given */
  tls?: Omit<TlsOptionsInput, 'key' | 'cert' | 'ca' | 'crl' | 'clientCert'>
  /**
   * New random session ticket keys when the CA bundle or CRLs change (the
   * `sessionIdContext` changes too). Turn off only when every process
   * sharing `ticketKeys` rotates them itself. @default true
   */
  rotateTicketKeys?: boolean
}

/** The outcome of one reload. @public */
export interface TlsReloadResult {
  /** `changing`: the files differed between two reads (a writer at work); tried again */
  status: 'reloaded' | 'unchanged' | 'refused' | 'changing'
  /** why the material was refused */
  reason?: string
  /** the served certificate's notAfter, after a reload */
  notAfter?: Date
}

/** A running watch. @public */
export interface TlsWatcher {
  /** the first load (done at once) */
  ready: Promise<TlsReloadResult>
  /** read, validate and apply the files now */
  reload(): Promise<TlsReloadResult>
  /** stop watching and polling */
  close(): void
}

const KNOWN = [
  'key',
  'cert',
  'ca',
  'crl',
  'logger',
  'expiryWarningDays',
  'interval',
  'debounce',
  'tls',
  'rotateTicketKeys',
  'sni',
]
const DAY = 86_400_000

const checkNumber = (name: string, v: unknown, fallback: number, min: number): number => {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new ProxyAwareConfigError(name, `must be a finite number >= ${min}, got ${show(v)}`)
  }
  return v
}

/** A watch of some files: `apply` validates their texts and puts them in service. @private */
interface FileWatch {
  files: Files
  log: Logger
  debounce: number
  interval: number
  /** the warning when `apply` refuses: `${refused}: ${reason}` */
  refused: string
  /** validate and apply the files' texts (by name); throws with the reason, keeping what was there */
  apply(texts: Record<string, string>): TlsReloadResult
}

/**
 * When and how to read: at once, on any change in the files' folders
 * (a rename into place or a symlink swap names another file), and every
 * `interval` ms; debounced; read twice to be sure no writer is at work;
 * unchanged content does nothing; a refusal is logged once per reason
 * (polling retries the same bad files). Reloads run one at a time.
 * @private
 */
export function watchFiles(w: FileWatch): { ready: Promise<TlsReloadResult> } & Omit<TlsWatcher, 'ready'> {
  const { files, log, debounce } = w
  let applied: string | undefined
  let lastError: string | undefined
  let closed = false
  let timer: NodeJS.Timeout | undefined

  const refuse = (reason: string): TlsReloadResult => {
    if (reason !== lastError) log.warn({ tls: { reason, files } }, `${w.refused}: ${reason}`)
    lastError = reason
    return { status: 'refused', reason }
  }

  const run = async (): Promise<TlsReloadResult> => {
    let texts
    try {
      texts = await readStable(files, debounce)
    } catch (err) {
      return refuse(`cannot read the files (${(err as Error).message})`)
    }
    if (texts === undefined) {
      trigger()
      return { status: 'changing' }
    }
    const fingerprint = createHash('sha256').update(JSON.stringify(texts)).digest('hex')
    if (fingerprint === applied) {
      // back to what is in use: a later bad write is news again
      lastError = undefined
      return { status: 'unchanged' }
    }
    let result
    try {
      result = w.apply(texts)
    } catch (err) {
      return refuse((err as Error).message)
    }
    applied = fingerprint
    lastError = undefined
    return result
  }

  let queue: Promise<unknown> = Promise.resolve()
  const reload = (): Promise<TlsReloadResult> => {
    const p = queue.then(run)
    queue = p
    return p
  }
  function trigger(): void {
    if (closed) return
    clearTimeout(timer)
    timer = setTimeout(() => void reload(), debounce)
    timer.unref()
  }

  const watchers: FSWatcher[] = []
  for (const dir of new Set(
    Object.values(files)
      .filter((f): f is string => f !== undefined)
      .map(f => dirname(f)),
  )) {
    try {
      const fw = watch(dir, { persistent: false }, trigger)
      fw.on('error', () => fw.close()) // polling goes on
      watchers.push(fw)
    } catch {
      // a folder that cannot be watched: polling only
    }
  }
  const poll = setInterval(trigger, w.interval).unref()
  return {
    ready: reload(),
    reload,
    close() {
      closed = true
      clearTimeout(timer)
      clearInterval(poll)
      for (const fw of watchers) fw.close()
    },
  }
}

/**
 * Check an option that takes a file's path: PEM or DER contents given
 * instead (`tlsOptions` takes contents under the same names) are refused
 * without being shown, so no key reaches a message or a log. @private
 */
export const checkPath = (name: string, v: unknown, required: boolean): void => {
  if (v === undefined && !required) return
  const contents = looksLikeMaterial(v)
  if (typeof v === 'string' && v !== '' && !contents) return
  throw new ProxyAwareConfigError(
    name,
    `must be a file path, got ${showMaterial(v)}${contents ? ": give the file's path, not its contents" : ''}`,
  )
}

/** Check the common options of a watch: a logger, polling and debounce times. @private */
export const watchTimes = (options: { logger?: unknown; interval?: unknown; debounce?: unknown }) => ({
  log: checkLogger('logger', options.logger),
  interval: checkNumber('interval', options.interval, 60_000, 1),
  debounce: checkNumber('debounce', options.debounce, 250, 0),
})

/** Check the `sni` option: hostnames to key and certificate paths, on a server with `addContext`. */
const checkSni = (server: TlsServerLike, sni: unknown): [string, { key: string; cert: string }][] => {
  if (sni === undefined) return []
  if (typeof sni !== 'object' || sni === null || Array.isArray(sni))
    throw new ProxyAwareConfigError(
      'sni',
      `must be an object of hostnames to { key, cert } file paths, got ${showMaterial(sni)}`,
    )
  if (typeof server.addContext !== 'function')
    throw new ProxyAwareConfigError('sni', 'needs a server with addContext (a tls, https or http2 secure server)')
  const out = Object.entries(sni as Record<string, unknown>)
  for (const [host, f] of out) {
    if (host === '' || typeof f !== 'object' || f === null || Array.isArray(f))
      throw new ProxyAwareConfigError(`sni.${host}`, `must be { key, cert } file paths, got ${showMaterial(f)}`)
    checkPath(`sni.${host}.key`, (f as { key?: unknown }).key, true)
    checkPath(`sni.${host}.cert`, (f as { cert?: unknown }).cert, true)
  }
  return out as [string, { key: string; cert: string }][]
}

/** The first certificate of what the server serves now. */
const servedLeaf = (server: TlsServerLike): X509Certificate | undefined => {
  const cert = Array.isArray(server.cert) ? server.cert[0] : server.cert
  try {
    return new X509Certificate(cert as string | Buffer)
  } catch {
    return undefined
  }
}

/** Hostnames and their key and certificate paths (the checked `sni` option). */
type SniFiles = [string, { key: string; cert: string }][]

/** Check the server and the options of `watchTls` that take no default; the SNI entries. */
const checkWatchTls = (server: TlsServerLike, options: WatchTlsOptions): SniFiles => {
  if (typeof server?.setSecureContext !== 'function') {
    throw new ProxyAwareConfigError('server', 'must be a TLS server (https, http2 secure, tls), with setSecureContext')
  }
  if (typeof options !== 'object' || options === null)
    throw new ProxyAwareConfigError('watchTls', `options must be an object, got ${showMaterial(options)}`)
  checkOptionNames(options, KNOWN)
  for (const name of ['key', 'cert', 'ca', 'crl'] as const)
    checkPath(name, options[name], name === 'key' || name === 'cert')
  if (server.requestCert === true && options.ca === undefined) {
    throw new ProxyAwareConfigError(
      'ca',
      'is required: the server asks for client certificates, and without ca Node accepts every public CA',
    )
  }
  // setSecureContext without crl drops the server's: revoked clients would pass again
  if ((server as { crl?: unknown }).crl != null && options.crl === undefined) {
    throw new ProxyAwareConfigError(
      'crl',
      "is required: the server has CRLs (tlsOptions' crl), and reloading without them would accept revoked certificates again",
    )
  }
  return checkSni(server, options.sni)
}

/** The files to watch, by name: the server's, then each SNI host's key and certificate. */
const watchedFiles = (options: WatchTlsOptions, sni: SniFiles): Record<string, string | undefined> => {
  const files: Record<string, string | undefined> = {
    key: options.key,
    cert: options.cert,
    ca: options.ca,
    crl: options.crl,
  }
  for (const [host, f] of sni) {
    files[`${host} key`] = f.key
    files[`${host} cert`] = f.cert
  }
  return files
}

/** What `watchTls` applies the files' texts with. */
interface TlsApply {
  files: Record<string, string | undefined>
  sni: SniFiles
  log: Logger
  /** the other `tls` options */
  extra: NonNullable<WatchTlsOptions['tls']>
  /** new ticket keys when the CA bundle or CRLs change */
  rotate: boolean
}

/**
 * Validate the files' texts (the default certificate, then every SNI
 * one) and only then apply them to the server.
 */
const tlsApplier = (server: TlsServerLike, { files, sni, log, extra, rotate }: TlsApply) =>
  function apply(texts: Record<string, string>): TlsReloadResult {
    const m = { key: texts.key!, cert: texts.cert!, ca: texts.ca, crl: texts.crl }
    const context = contextOptions({ ...extra, ...m })
    const leaf = validate(m, context, Date.now())
    // every SNI certificate is validated before anything is applied
    const named = sni.map(([host]): [string, object] => {
      const sm = { ...m, key: texts[`${host} key`]!, cert: texts[`${host} cert`]! }
      const sc = contextOptions({ ...extra, ...sm })
      try {
        validate(sm, sc, Date.now())
      } catch (err) {
        throw new Error(`SNI ${host}: ${(err as Error).message}`)
      }
      return [host, sc]
    })
    // Node keeps server.ticketKeys across setSecureContext: replace them explicitly
    const caChanged = context.sessionIdContext !== server.sessionIdContext
    server.setSecureContext(rotate && caChanged ? { ...context, ticketKeys: randomBytes(48) } : context)
    // Node's SNI lookup takes the last context added for a name: the new one
    for (const [host, sc] of named) server.addContext!(host, sc)
    // verdicts made on open connections under the old material are made again
    bumpMaterial(server)
    const notAfter = new Date(leaf.validTo)
    log.info({ tls: { files, notAfter, caChanged } }, 'proxy-aware: TLS material loaded')
    return { status: 'reloaded', notAfter }
  }

/** A check that warns when the served certificate expires within `warnDays` days. */
const expiryCheck = (server: TlsServerLike, log: Logger, warnDays: number, certFile: string | undefined) =>
  function checkExpiry(): void {
    const leaf = servedLeaf(server)
    if (leaf === undefined) return
    const left = (Date.parse(leaf.validTo) - Date.now()) / DAY
    if (left < warnDays) {
      log.warn(
        { tls: { notAfter: new Date(leaf.validTo), daysLeft: Math.floor(left), cert: certFile } },
        `proxy-aware: the server certificate expires in ${Math.max(0, Math.floor(left))} days`,
      )
    }
  }

/**
 * Watch the key, certificate, CA bundle and CRL files of a TLS server
 * (`https.Server`, `http2` secure server, Fastify's `app.server`) and
 * apply them with `server.setSecureContext` when they change: new
 * handshakes get the new material, open connections keep theirs.
 * Material is validated first (key matches certificate, certificate
 * within its validity, complete PEM, OpenSSL accepts it) and read twice
 * to be sure no writer is at work; anything wrong keeps the old material
 * and is reported once. A change of CA bundle or CRLs changes the
 * `sessionIdContext` and the ticket keys, so no session verified under
 * the old ones resumes. The folders are watched (certbot and
 * cert-manager rename files into place; Kubernetes swaps a symlink), with
 * polling as a fallback. Throws `ProxyAwareConfigError` on bad options.
 *
 * @example
 * const server = https.createServer(tlsOptions({ key, cert, ca, clientCert: 'optional' }), app)
 * watchTls(server, { key: '/tls/tls.key', cert: '/tls/tls.crt', ca: '/tls/ca.crt', logger: console })
 * @public
 */
export function watchTls(server: TlsServerLike, options: WatchTlsOptions): TlsWatcher {
  const sni = checkWatchTls(server, options)
  const { log, interval, debounce } = watchTimes(options)
  const warnDays = checkNumber('expiryWarningDays', options.expiryWarningDays, 21, 0)
  const rotate = options.rotateTicketKeys !== false
  const extra = options.tls ?? {}
  const files = watchedFiles(options, sni)
  trackMaterial(server)
  const watcher = watchFiles({
    files,
    log,
    debounce,
    interval,
    refused: 'proxy-aware: TLS material not reloaded, still serving the previous one',
    apply: tlsApplier(server, { files, sni, log, extra, rotate }),
  })

  const checkExpiry = expiryCheck(server, log, warnDays, files.cert)
  const daily = setInterval(checkExpiry, DAY).unref()
  const ready = watcher.ready.then(result => {
    checkExpiry()
    return result
  })

  return {
    ready,
    reload: watcher.reload,
    close() {
      clearInterval(daily)
      watcher.close()
    },
  }
}

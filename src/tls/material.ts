/**
 * Read and validate the files of a TLS server before they replace what it
 * serves. @private
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext, type SecureContextOptions } from 'node:tls'

/** Paths of the files a server's material is read from. @private */
export interface TlsFiles {
  key: string
  cert: string
  ca?: string | undefined
  crl?: string | undefined
}

/** Material read from files and validated. @private */
export interface Loaded {
  key: string
  cert: string
  ca: string | undefined
  crl: string | undefined
  /** the server certificate (first of `cert`) */
  leaf: X509Certificate
}

/** Paths by name; undefined for a file not given. @private */
export type Files = Readonly<Record<string, string | undefined>>

/** Read every file once; undefined for a path not given. */
const readAll = async (files: Files): Promise<(string | undefined)[]> =>
  Promise.all(Object.values(files).map(f => (f === undefined ? undefined : readFile(f, 'utf8'))))

/**
 * Complete PEM blocks of one label and nothing else but whitespace: a
 * file cut inside a block fails here or in the parser. A cut exactly
 * between two blocks leaves a complete, smaller bundle that nothing can
 * tell apart (a writer still at work is caught by reading twice).
 * @private
 */
export const blocks = (text: string, label: string, what: string): string[] => {
  const begin = `-----BEGIN ${label}-----`
  const end = `-----END ${label}-----`
  const out: string[] = []
  let at = 0
  for (;;) {
    const b = text.indexOf('-----BEGIN ', at)
    if (text.slice(at, b === -1 ? undefined : b).trim() !== '') throw new Error(`${what} has text outside PEM blocks`)
    if (b === -1) break
    if (!text.startsWith(begin, b)) throw new Error(`${what} has a PEM block that is not ${label}`)
    const e = text.indexOf(end, b)
    if (e === -1) throw new Error(`${what} ends inside a PEM block (truncated?)`)
    out.push(text.slice(b, e + end.length))
    at = e + end.length
  }
  if (out.length === 0) throw new Error(`${what} has no ${label}`)
  return out
}

const parseCerts = (text: string, what: string): X509Certificate[] =>
  blocks(text, 'CERTIFICATE', what).map((pem, i) => {
    try {
      return new X509Certificate(pem)
    } catch (err) {
      throw new Error(`${what}: certificate ${i + 1} does not parse (${(err as Error).message})`)
    }
  })

/**
 * Validate material: the key parses and matches the certificate, the
 * certificate is within its validity, the CA bundle and CRLs are complete
 * PEM, and OpenSSL accepts the whole secure context. Throws with the
 * reason. @private
 */
export const validate = (m: Omit<Loaded, 'leaf'>, context: SecureContextOptions, now: number): X509Certificate => {
  let key: KeyObject
  try {
    key = createPrivateKey(m.key)
  } catch (err) {
    throw new Error(`the key does not parse (${(err as Error).message})`)
  }
  const [leaf] = parseCerts(m.cert, 'the certificate file') as [X509Certificate, ...X509Certificate[]]
  if (!leaf.checkPrivateKey(key)) throw new Error('the key does not match the certificate')
  if (now < Date.parse(leaf.validFrom))
    throw new Error(`the certificate is not valid before ${new Date(leaf.validFrom).toISOString()}`)
  if (now > Date.parse(leaf.validTo))
    throw new Error(`the certificate expired at ${new Date(leaf.validTo).toISOString()}`)
  if (m.ca !== undefined) parseCerts(m.ca, 'the CA bundle')
  // Node has no CRL parser: complete armour here, the contents by OpenSSL below
  if (m.crl !== undefined) blocks(m.crl, 'X509 CRL', 'the CRL file')
  try {
    createSecureContext(context)
  } catch (err) {
    throw new Error(`OpenSSL refuses the material (${(err as Error).message})`)
  }
  return leaf
}

/**
 * Read the files twice, `settleMs` apart: a writer still at work (files
 * differing between the reads) gives `undefined`, to be tried again.
 * The texts come back by the files' names. @private
 */
export const readStable = async (files: Files, settleMs: number): Promise<Record<string, string> | undefined> => {
  const first = await readAll(files)
  await new Promise(resolve => setTimeout(resolve, settleMs))
  const second = await readAll(files)
  if (first.some((v, i) => v !== second[i])) return undefined
  const out: Record<string, string> = {}
  Object.keys(files).forEach((name, i) => {
    if (second[i] !== undefined) out[name] = second[i]
  })
  return out
}

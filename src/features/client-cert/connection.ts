/**
 * Verdicts per connection, and the version of the material they were made
 * under: `watchTls` bumps a server's version at every reload, a verdict
 * made under an older version is made again on the next request (a
 * keep-alive connection or HTTP/2 session outlives a CA rotation or a CRL
 * reload), and a connection whose verdict turns into a refusal is closed
 * after the response. @internal
 */
import type { X509Certificate } from 'node:crypto'
import type { Revocations } from './crl.js'
import { parseCaBundle, parseCrlPems } from './material.js'
import type { ClientCertError } from './types.js'
import { peerChain, type SocketLike, verifyChain } from './verify.js'

/** The version of one server's material (0: as the server was made). */
interface Material {
  version: number
}

const servers = new WeakMap<object, Material>()
/** the version each connection's handshake ran under */
const handshakes = new WeakMap<object, number>()

/**
 * Start following a server's material: each TLS connection records the
 * version its handshake ran under. Once per server. @internal
 */
export const trackMaterial = (server: object): void => {
  if (servers.has(server)) return
  const material: Material = { version: 0 }
  servers.set(server, material)
  const on = (server as { on?: unknown }).on
  // a server without events (a test double): every first verdict checks again
  if (typeof on === 'function')
    on.call(server, 'secureConnection', (socket: object) => handshakes.set(socket, material.version))
}

/** The server's material was replaced (`setSecureContext`, `addContext`). @internal */
export const bumpMaterial = (server: object): void => {
  servers.get(server)!.version++
}

/** A cached verdict and the material version it was made under. @internal */
export interface Stamped<T> {
  value: T
  material: Material | undefined
  version: number
  /** the peer's certificates above the leaf (read once: Node reports them only before getPeerX509Certificate) */
  chain: X509Certificate[]
}

/**
 * The connection's verdict: the cached one while the server's material is
 * the one it was made under, else `make(recheck)` (`recheck`: the
 * handshake ran under older material, so what the handshake checked must
 * be checked again). `before`: the stale verdict it replaces. @internal
 */
export const connectionVerdict = <T>(
  cache: WeakMap<object, Stamped<T>>,
  connection: object,
  make: (recheck: boolean, chain: X509Certificate[]) => T,
): { value: T; before?: T } => {
  const hit = cache.get(connection)
  if (hit !== undefined && (hit.material === undefined || hit.material.version === hit.version))
    return { value: hit.value }
  // WeakMap#get of a socket without a server (undefined) is undefined
  const material = servers.get((connection as SocketLike).server!)
  const stale = hit !== undefined || (material !== undefined && handshakes.get(connection) !== material.version)
  const chain = hit?.chain ?? (material === undefined ? [] : peerChain(connection as SocketLike))
  const value = make(material !== undefined && stale, chain)
  cache.set(connection, { value, material, version: material?.version ?? 0, chain })
  return hit === undefined ? { value } : { value, before: hit.value }
}

/** A server's CRLs, compiled against its `ca`, by the texts they came from. */
const compiled = new WeakMap<
  object,
  { ca: unknown; crl: unknown; crls: Revocations | Error; anchors: X509Certificate[] }
>()

/** PEM text of a `ca` or `crl` option: a string, a Buffer or an array of them (the parsers find the blocks). */
const texts = (v: unknown): string[] => [String(v)]

const crlsOf = (server: { ca?: unknown; crl?: unknown }, now: number, skewMs: number) => {
  let c = compiled.get(server)
  if (c === undefined || c.ca !== server.ca || c.crl !== server.crl) {
    let anchors: X509Certificate[] = []
    let crls: Revocations | Error
    try {
      anchors = parseCaBundle(texts(server.ca))
      crls = parseCrlPems(texts(server.crl), anchors, now, skewMs)
    } catch (err) {
      crls = err as Error
    }
    c = { ca: server.ca, crl: server.crl, crls, anchors }
    compiled.set(server, c)
  }
  return c
}

/**
 * Revocation of a connection's certificate against the CRLs its server
 * has now (the handshake checked the ones it had then); none when the
 * server has no CRL. @internal
 */
export const revokedNow = (
  socket: SocketLike,
  chain: readonly X509Certificate[],
  now: number,
  skewMs: number,
): ClientCertError | undefined => {
  const server = socket.server as { ca?: unknown; crl?: unknown }
  if (server.crl == null) return undefined
  const { crls, anchors } = crlsOf(server, now, skewMs)
  if (crls instanceof Error)
    return { reason: 'untrusted', detail: `the server's CRLs cannot be checked on open connections (${crls.message})` }
  const verdict = verifyChain(socket.getPeerX509Certificate!()!, chain, anchors, now, skewMs, crls)
  return verdict.ok ? undefined : verdict.error
}

/**
 * Close the request's connection once its response is sent: HTTP/1
 * `Connection: close` (Node ends the socket after the response; with
 * none in flight, at once), HTTP/2 GOAWAY (the session's open streams
 * finish, no new one starts). @internal
 */
export const closeConnection = (req: object, connection: object): void => {
  const session = (req as { stream?: { session?: { close(): void } | null } }).stream?.session
  if (session != null) return session.close()
  const socket = connection as { _httpMessage?: { shouldKeepAlive: boolean } | null; end(): void }
  // Node's response on the socket: this request's (or, pipelined, one before it: the rest are sent again on a new connection)
  const res = socket._httpMessage
  if (res != null) res.shouldKeepAlive = false
  else socket.end()
}

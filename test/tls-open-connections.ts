// Connections opened under old material: after a CRL reload or a CA
// rotation by watchTls, a keep-alive connection or HTTP/2 session that was
// verified before is verified again on its next request, and closed when
// it is refused now. Real https/http2 servers, keep-alive agents, sessions.
import { once } from 'node:events'
import http2 from 'node:http2'
import https from 'node:https'
import type tls from 'node:tls'
import t, { type Test } from 'tap'
import { clientCertErrorOf, clientCertOf, createTrustProxy, type TrustProxyOptions } from '../src/index.js'
import { tlsOptions, watchTls } from '../src/tls/index.js'
import { pki } from './fixtures/tls-pki.js'
import { APPLIED, tlsDir } from './fixtures/tls-watch-helpers.js'
import type { Pair } from './support/certs.js'
import { xfccElement } from './support/forwarded-certs.js'
import { h2Body, listen, request } from './support/http.js'

const FROM = '127.0.0.7'
const PROXY_ID = 'spiffe://example.org/client'
const XFF = { 'x-forwarded-for': '203.0.113.9' }

const a = pki('Open A')
const b = pki('Open B')
const serverPair = a.issue('server', 'server')
const proxyB = b.issue('proxy', 'client')
let n = 0
/** A new client certificate of CA `a` (tests revoke theirs). */
const fresh = () => {
  const name = `client${++n}`
  return { name, pair: a.issue(name, 'client') }
}

/** What proxy-aware decided, as JSON. */
const answer = (proxy: ReturnType<typeof createTrustProxy>) => (req: any, res: any) => {
  if (proxy.handle(req, res)) return
  const r = proxy.resolve(req)
  res.setHeader('content-type', 'application/json')
  res.end(
    JSON.stringify({
      ip: r.ip,
      cn: clientCertOf(req)?.commonNames[0] ?? null,
      certError: clientCertErrorOf(req)?.reason ?? null,
    }),
  )
}

/**
 * Files of CA `a` (with an empty CRL unless `noCrl`), an https or http2
 * server on them, and its watcher.
 */
const setup = async (t: Test, options: TrustProxyOptions, { h2 = false, noCrl = false, handler = answer } = {}) => {
  const d = tlsDir(t)
  const crl = noCrl ? undefined : a.crl()
  d.write('tls.key', serverPair.key)
  d.write('tls.crt', serverPair.cert)
  d.write('ca.crt', a.ca.cert)
  if (crl !== undefined) d.write('ca.crl', crl)
  const opts = tlsOptions({ key: serverPair.key, cert: serverPair.cert, ca: a.ca.cert, crl, clientCert: 'optional' })
  const proxy = createTrustProxy(options)
  const server = h2
    ? http2.createSecureServer({ ...opts, allowHTTP1: true } as http2.SecureServerOptions, handler(proxy))
    : https.createServer(opts, handler(proxy))
  const port = await listen(t, server as https.Server)
  const paths = { ...d.files, ...(noCrl ? {} : { crl: d.path('ca.crl') }) }
  const w = watchTls(server, { ...paths, debounce: 5, interval: 3_600_000 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'reloaded' })
  return { d, port, w, server, paths }
}
/** A keep-alive agent presenting `client`: one socket for every request. */
const agentOf = (t: Test, client: Pair) => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, cert: client.cert, key: client.key })
  t.teardown(() => agent.destroy())
  return agent
}

const session = (t: Test, port: number, client: Pair) => {
  const s = http2.connect(`https://127.0.0.1:${port}`, {
    rejectUnauthorized: false,
    servername: 'localhost',
    cert: client.cert,
    key: client.key,
    ...({ localAddress: FROM } as tls.ConnectionOptions),
  })
  t.teardown(() => s.destroy())
  return s
}

/** The session's GOAWAY (a failure after 20 s, on a loaded machine, rather than a hung test). */
const goawayOf = (s: http2.ClientHttp2Session) =>
  Promise.race([
    once(s, 'goaway').then(() => true),
    new Promise<boolean>(resolve => setTimeout(() => resolve(false), 20_000).unref()),
  ])

const trustedProxy: TrustProxyOptions = { trust: [], trustCertificate: { uri: [PROXY_ID] } }

t.test("a proxy revoked by a CRL reload: its open connection's X-Forwarded-For is no longer believed", async t => {
  const { d, port, w } = await setup(t, trustedProxy)
  const proxy = fresh()
  const agent = agentOf(t, proxy.pair)
  const first = await request(port, { from: FROM, secure: true, agent, headers: XFF })
  t.equal(first.json.ip, '203.0.113.9', 'control: the proxy is believed')
  a.revoke(proxy.name)
  d.write('ca.crl', a.crl())
  t.match(await w.reload(), APPLIED)
  const after = await request(port, { from: FROM, secure: true, agent, headers: XFF })
  t.equal(after.localPort, first.localPort, 'the same connection')
  t.equal(after.json.ip, FROM, 'its header is ignored, as on a new connection')
  t.equal(after.headers.connection, 'close', 'and the connection is closed after the response')
  const next = await request(port, { from: FROM, secure: true, agent, headers: XFF })
  // (not "another local port": the kernel may give a closed connection's port again)
  t.equal(next.reusedSocket, false, 'the next request opens a new connection')
  t.equal(next.json.ip, FROM, 'which the handshake refuses')
})

t.test('a proxy whose CA is rotated out: refused on its open HTTP/2 session, which gets GOAWAY', async t => {
  const { d, port, w } = await setup(t, trustedProxy, { h2: true })
  const s = session(t, port, fresh().pair)
  t.equal(JSON.parse(await h2Body(s, XFF)).ip, '203.0.113.9', 'control: believed')
  d.write('ca.crt', b.ca.cert)
  d.write('ca.crl', b.crl())
  t.match(await w.reload(), APPLIED)
  const goaway = goawayOf(s)
  t.equal(JSON.parse(await h2Body(s, XFF)).ip, FROM, 'the same session is no longer believed')
  t.equal(await goaway, true, 'the session got GOAWAY')
  // the new CA's proxy is believed on a new session
  const s2 = session(t, port, proxyB)
  t.equal(JSON.parse(await h2Body(s2, XFF)).ip, '203.0.113.9', 'the new CA')
  t.equal(JSON.parse(await h2Body(s2, XFF)).ip, '203.0.113.9', 'and its next stream')
})

t.test('a reload that changes nothing for a connection keeps it open', async t => {
  const { d, port, w } = await setup(t, trustedProxy)
  const agent = agentOf(t, fresh().pair)
  const first = await request(port, { from: FROM, secure: true, agent, headers: XFF })
  a.revoke(fresh().name)
  d.write('ca.crl', a.crl())
  t.match(await w.reload(), APPLIED)
  const after = await request(port, { from: FROM, secure: true, agent, headers: XFF })
  t.equal(after.localPort, first.localPort, 'the same connection')
  t.equal(after.json.ip, '203.0.113.9', 'still believed: another certificate was revoked')
  t.not(after.headers.connection, 'close')
  // a client that was never trusted is not closed by a reload either
  const plain = agentOf(t, b.issue('never', 'client'))
  const p1 = await request(port, { from: FROM, secure: true, agent: plain, headers: XFF })
  d.write('ca.crl', a.crl({ nextUpdate: 20 }))
  t.match(await w.reload(), APPLIED)
  const p2 = await request(port, { from: FROM, secure: true, agent: plain, headers: XFF })
  t.equal(p2.localPort, p1.localPort, 'the refused client keeps its connection')
  t.equal(p2.json.ip, FROM)
})

t.test('clientCert: a client whose CA is rotated out gets 403 on its open connection, then it is closed', async t => {
  const { d, port, w } = await setup(t, { trust: [], clientCert: { mode: 'required' } }, { noCrl: true })
  const client = fresh()
  const agent = agentOf(t, client.pair)
  const first = await request(port, { secure: true, agent })
  t.equal(first.status, 200)
  t.equal(first.json.cn, client.name)
  d.write('ca.crt', a.ca.cert + b.ca.cert)
  t.match(await w.reload(), APPLIED)
  const both = await request(port, { secure: true, agent })
  t.equal(both.localPort, first.localPort)
  t.equal(both.status, 200, 'control: still accepted while its CA is in the bundle')
  d.write('ca.crt', b.ca.cert)
  t.match(await w.reload(), APPLIED)
  const after = await request(port, { secure: true, agent })
  t.equal(after.localPort, first.localPort, 'the same connection')
  t.equal(after.status, 403, 'refused as on a new connection')
  t.equal(after.headers.connection, 'close')
})

t.test('clientCert: a client revoked by a CRL reload is refused on its open HTTP/2 session', async t => {
  const { d, port, w } = await setup(t, { trust: [], clientCert: { mode: 'optional' } }, { h2: true })
  const client = fresh()
  const s = session(t, port, client.pair)
  t.equal(JSON.parse(await h2Body(s)).cn, client.name, 'control: accepted')
  a.revoke(client.name)
  d.write('ca.crl', a.crl())
  t.match(await w.reload(), APPLIED)
  const goaway = goawayOf(s)
  t.match(JSON.parse(await h2Body(s)), { cn: null, certError: 'revoked' })
  t.equal(await goaway, true, 'the session got GOAWAY')
})

t.test('Envoy-style proxyVerifies: a forged XFCC from a proxy revoked since is not accepted', async t => {
  const client = b.issue('client-one', 'client')
  const { d, port, w } = await setup(t, {
    ...trustedProxy,
    clientCert: { mode: 'optional', forwarded: { source: 'xfcc', proxyVerifies: true } },
  })
  const proxy = fresh()
  const agent = agentOf(t, proxy.pair)
  const xfcc = { 'x-forwarded-client-cert': xfccElement(client) }
  const first = await request(port, { from: FROM, secure: true, agent, headers: xfcc })
  t.equal(first.json.cn, 'client-one', 'control: the proxy is believed')
  a.revoke(proxy.name)
  d.write('ca.crl', a.crl())
  t.match(await w.reload(), APPLIED)
  const after = await request(port, { from: FROM, secure: true, agent, headers: xfcc })
  t.equal(after.localPort, first.localPort, 'the same connection')
  t.match(after.json, { cn: null, certError: 'missing' }, 'the XFCC of an untrusted peer is ignored')
  t.equal(after.headers.connection, 'close')
})

t.test('a second watcher of the same server: its reloads count for the connections too', async t => {
  const { d, port, server, paths } = await setup(t, trustedProxy)
  const w2 = watchTls(server, { ...paths, debounce: 5, interval: 3_600_000 })
  t.teardown(() => w2.close())
  await w2.ready
  const proxy = fresh()
  const agent = agentOf(t, proxy.pair)
  t.equal((await request(port, { from: FROM, secure: true, agent, headers: XFF })).json.ip, '203.0.113.9')
  a.revoke(proxy.name)
  d.write('ca.crl', a.crl())
  t.match(await w2.reload(), APPLIED)
  t.equal((await request(port, { from: FROM, secure: true, agent, headers: XFF })).json.ip, FROM)
})

t.test('CRLs proxy-aware cannot read: open connections are refused and closed', async t => {
  const { d, port, w } = await setup(t, { trust: [], clientCert: { mode: 'optional' } })
  const client = fresh()
  const agent = agentOf(t, client.pair)
  const first = await request(port, { secure: true, agent })
  t.equal(first.json.cn, client.name)
  // a critical issuing distribution point: OpenSSL reads it, proxy-aware's CRL parser refuses it
  d.write('ca.crl', a.crl({ idp: true }))
  t.match(await w.reload(), APPLIED)
  const after = await request(port, { secure: true, agent })
  t.equal(after.localPort, first.localPort)
  t.equal(after.reusedSocket, true, 'the open connection')
  t.match(after.json, { cn: null, certError: 'untrusted' }, 'fail closed on the open connection')
  t.equal(after.headers.connection, 'close')
  const next = await request(port, { secure: true, agent })
  // a new connection (not "another local port": the kernel may give a closed connection's port again)
  t.equal(next.reusedSocket, false)
  // the handshake's verdict (OpenSSL refuses it as well here: the CRL's scope does not cover the certificate)
  t.match(next.json, { cn: null, certError: 'untrusted' }, 'a new connection: decided by the handshake')
})

t.test('a verdict made again after the response was sent: the idle connection is ended', async t => {
  // resolve() after the response (a logger, say): no response in flight to carry Connection: close
  const seen: (string | undefined)[] = []
  const late = (proxy: ReturnType<typeof createTrustProxy>) => (req: any, res: any) => {
    res.on('finish', () => seen.push(proxy.resolve(req).ip))
    res.end('ok')
  }
  const { d, port, w } = await setup(t, trustedProxy, { handler: late })
  const proxy = fresh()
  const agent = agentOf(t, proxy.pair)
  const first = await request(port, { from: FROM, secure: true, agent, headers: XFF })
  a.revoke(proxy.name)
  d.write('ca.crl', a.crl())
  t.match(await w.reload(), APPLIED)
  let closed: Promise<unknown> | undefined
  agent.once('free', socket => (closed = once(socket, 'close')))
  const after = await request(port, { from: FROM, secure: true, agent, headers: XFF })
  t.equal(after.localPort, first.localPort, 'the same connection')
  t.not(after.headers.connection, 'close', 'the response was sent before the verdict')
  await closed
  t.same(seen, ['203.0.113.9', FROM], 'believed before the revocation, not after')
  t.pass('the connection was ended')
})

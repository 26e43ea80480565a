// trustCertificate: a socket peer is a trusted proxy because of the TLS
// client certificate the server verified, not because of its address.
// Real https servers (Fastify, Express, node:https) with requestCert and the
// test CA; every client connects from the same address, 127.0.0.7, so an
// address can never be what decides.
import { X509Certificate } from 'node:crypto'
import express from 'express'
import Fastify from 'fastify'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import tls from 'node:tls'
import t, { type Test as Tap } from 'tap'
import trustProxyPlugin from '../src/fastify.js'
import { trustProxy } from '../src/express.js'
import { clientCertErrorOf, clientCertOf, createTrustProxy, type TrustProxyOptions } from '../src/index.js'
import { certs, type Pair, rogueContextOptions, tlsServerOptions } from './support/certs.js'
import { urlPem } from './support/forwarded-certs.js'
import { h2Body, listen, request } from './support/http.js'

const c = certs()
const FROM = '127.0.0.7'
const PROXY_ID = 'spiffe://example.org/ns/edge/sa/proxy'
const fingerprint = new X509Certificate(c.proxy.cert).fingerprint256
const XFF = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http' }

/** A node:https app answering with what proxy-aware decided. */
const httpsApp = async (t: Tap, options: TrustProxyOptions, tlsExtra: https.ServerOptions = {}) => {
  const proxy = createTrustProxy(options)
  const srv = https.createServer(tlsServerOptions(tlsExtra), (req, res) => {
    if (proxy.handle(req, res)) return
    const r = proxy.resolve(req)
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        ip: r.ip,
        protocol: r.protocol,
        peerIdentity: r.peerIdentity ?? null,
        cn: clientCertOf(req)?.commonNames[0] ?? null,
        certError: clientCertErrorOf(req)?.reason ?? null,
        certHeader: req.headers['x-ssl-client-cert'] === undefined ? 'absent' : 'present',
      }),
    )
  })
  return { srv, port: await listen(t, srv) }
}

t.test('options: bad trustCertificate values throw, naming the option and the value', async t => {
  const bad: [unknown, string, RegExp][] = [
    ['spiffe://example.org/x', 'trustCertificate', /must be an object.*"spiffe:\/\/example.org\/x"/],
    [null, 'trustCertificate', /must be an object/],
    [[], 'trustCertificate', /must be an object/],
    [{}, 'trustCertificate', /lists no identity/],
    [{ uri: [] }, 'trustCertificate', /lists no identity/],
    [{ uris: [PROXY_ID] }, 'trustCertificate.uris', /not a known option/],
    [{ uri: PROXY_ID }, 'trustCertificate.uri', /must be an array of strings, got "spiffe/],
    [{ uri: [42] }, 'trustCertificate.uri', /not a string: 42/],
    // eslint-disable-next-line no-sparse-arrays
    [{ uri: [, PROXY_ID] }, 'trustCertificate.uri', /not a string: undefined/],
    [{ uri: ['https://example.org/proxy'] }, 'trustCertificate.uri', /"https:\/\/example.org\/proxy": a SPIFFE ID/],
    [{ uri: ['SPIFFE://example.org/proxy'] }, 'trustCertificate.uri', /starts with spiffe:\/\//],
    [{ uri: ['spiffe://Example.org/proxy'] }, 'trustCertificate.uri', /"spiffe:\/\/Example.org\/proxy".*trust domain/],
    [{ uri: ['spiffe:///proxy'] }, 'trustCertificate.uri', /trust domain/],
    [{ uri: ['spiffe://user@example.org/proxy'] }, 'trustCertificate.uri', /trust domain/],
    [{ uri: ['spiffe://example.org:8443/proxy'] }, 'trustCertificate.uri', /trust domain/],
    [{ uri: ['spiffe://example.org'] }, 'trustCertificate.uri', /has a path/],
    [{ uri: ['spiffe://example.org/'] }, 'trustCertificate.uri', /path segments/],
    [{ uri: ['spiffe://example.org/a//b'] }, 'trustCertificate.uri', /path segments/],
    [{ uri: ['spiffe://example.org/a/../b'] }, 'trustCertificate.uri', /path segments/],
    [{ uri: ['spiffe://example.org/a/.'] }, 'trustCertificate.uri', /path segments/],
    [{ uri: ['spiffe://example.org/a%2Fb'] }, 'trustCertificate.uri', /path segments/],
    [{ uri: ['spiffe://example.org/a?b=1'] }, 'trustCertificate.uri', /path segments/],
    [{ uri: ['spiffe://example.org/a#b'] }, 'trustCertificate.uri', /path segments/],
    [{ uri: [`spiffe://example.org/${'a'.repeat(2040)}`] }, 'trustCertificate.uri', /longer than 2048/],
    [{ dns: ['*.example.org'] }, 'trustCertificate.dns', /"\*.example.org": wildcards/],
    [{ dns: ['proxy.example.org.'] }, 'trustCertificate.dns', /not a DNS name/],
    [{ dns: ['-proxy.example.org'] }, 'trustCertificate.dns', /not a DNS name/],
    [{ dns: ['proxy example.org'] }, 'trustCertificate.dns', /not a DNS name/],
    [{ dns: [''] }, 'trustCertificate.dns', /not a DNS name/],
    [{ dns: [`${'a'.repeat(63)}.`.repeat(4) + 'org'] }, 'trustCertificate.dns', /not a DNS name/],
    [{ fingerprint256: ['AB:CD'] }, 'trustCertificate.fingerprint256', /"AB:CD": not a SHA-256 fingerprint/],
  ]
  for (const [value, option, message] of bad) {
    t.throws(
      () => createTrustProxy({ trust: [], trustCertificate: value as never }),
      { name: 'ProxyAwareConfigError', option, message },
      `${JSON.stringify(value)}`,
    )
  }
  // accepted spellings
  for (const value of [
    { uri: [PROXY_ID, 'spiffe://1.2.3.4/x', 'spiffe://a_b.example-x.org/A.b_c-d/e'] },
    { dns: ['Proxy.Example.ORG', 'localhost'] },
    { fingerprint256: [fingerprint, fingerprint.replace(/:/g, '').toLowerCase()] },
  ]) {
    t.doesNotThrow(() => createTrustProxy({ trust: [], trustCertificate: value }), JSON.stringify(value))
  }
  t.throws(
    () => createTrustProxy({ trust: [], trustCertificate: { uri: [PROXY_ID] }, clientCert: { mode: 'optional' } }),
    { option: 'clientCert', message: /the proxy's own: set clientCert.forwarded.*spiffe:\/\/example.org/ },
    "clientCert on the socket: the socket's certificate is the proxy's",
  )
  const engine = createTrustProxy({ trust: [], trustCertificate: { dns: ['proxy.example.org'] } })
  t.not('trustCertificate' in engine.options, true, 'options shows the engine options only')
})

// the proxy, another certificate of the same CA, and no certificate, from one address
const callers: [string, Pair | undefined, boolean][] = [
  ["the proxy's certificate", c.proxy, true],
  ['another certificate of the same CA', c.valid, false],
  ['no certificate', undefined, false],
  ["the proxy's certificate again", c.proxy, true],
  ['no certificate again', undefined, false],
]

/** Ask the app as each caller, in order, from the same address. */
const checkCallers = async (t: Tap, port: number, label: string) => {
  for (const [name, client, believed] of callers) {
    const res = await request(port, { from: FROM, client, secure: true, headers: XFF })
    t.equal(res.status, 200, `${label}: ${name}`)
    const body = res.json as { ip: string; protocol: string; peerIdentity: string | null }
    if (believed) {
      t.same(body, { ip: '203.0.113.9', protocol: 'http', peerIdentity: `uri:${PROXY_ID}` }, `${label}: ${name}`)
    } else {
      t.same(body, { ip: FROM, protocol: 'https', peerIdentity: null }, `${label}: ${name}: headers ignored`)
    }
  }
}

const identityOnly: TrustProxyOptions = { trust: [], trustCertificate: { uri: [PROXY_ID] } }

t.test('Fastify https app: the certificate, not the address, decides (never cached by address)', async t => {
  const app = Fastify({ https: tlsServerOptions() })
  await app.register(trustProxyPlugin, identityOnly)
  app.get('/', req => ({
    ip: req.ip,
    protocol: req.protocol,
    peerIdentity: req.proxyAware.peerIdentity ?? null,
  }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  await checkCallers(t, (app.server.address() as { port: number }).port, 'Fastify')
})

t.test('Fastify: trustCertificate needs a server that verifies client certificates', async t => {
  for (const [name, https] of [
    ['plain http', undefined],
    ['https without requestCert', { key: c.server.key, cert: c.server.cert, ca: [c.root.cert] }],
    ['requestCert without ca', { key: c.server.key, cert: c.server.cert, requestCert: true }],
  ] as const) {
    // typed as a plain http app: the plugin looks at app.server at runtime
    const app = Fastify((https === undefined ? {} : { https }) as object)
    await t.rejects(
      async () => app.register(trustProxyPlugin, identityOnly).ready(),
      { option: 'trustCertificate', message: /requestCert: true and an explicit ca\), got requestCert: / },
      name,
    )
  }
})

t.test('Express https app: the certificate, not the address, decides (never cached by address)', async t => {
  const app = express()
  app.use(trustProxy(identityOnly))
  app.get('/', (req, res) => {
    res.json({ ip: req.ip, protocol: req.protocol, peerIdentity: req.proxyAware.peerIdentity ?? null })
  })
  const port = await listen(t, https.createServer(tlsServerOptions(), app))
  await checkCallers(t, port, 'Express')
})

t.test('each kind of allow-list entry; what a certificate must not get away with', async t => {
  const cases: [string, TrustProxyOptions['trustCertificate'], Pair | undefined, string | null, string][] = [
    ['uri', { uri: [PROXY_ID] }, c.proxy, `uri:${PROXY_ID}`, '127.0.0.7'],
    ['dns, any case', { dns: ['PROXY.example.org'] }, c.proxy, 'dns:proxy.example.org', '127.0.0.7'],
    [
      'fingerprint256, bare lower-case hex',
      { fingerprint256: [fingerprint.replace(/:/g, '').toLowerCase()] },
      c.proxy,
      `fingerprint256:${fingerprint}`,
      '127.0.0.7',
    ],
    ['a second URI SAN is not an X.509-SVID', { uri: [PROXY_ID] }, c.proxyTwoUris, null, '127.0.0.7'],
    ['the listed identity from another CA', { uri: ['spiffe://example.org/ns/prod/sa/web'] }, c.wrongCa, null, ''],
    ['the listed identity, expired', { uri: ['spiffe://example.org/ns/prod/sa/web'] }, c.expired, null, ''],
    ['the listed identity, revoked (crl)', { uri: ['spiffe://example.org/ns/prod/sa/web'] }, c.revoked, null, ''],
    ['the listed identity, no clientAuth', { dns: ['server-only.example.org'] }, c.serverOnly, null, ''],
    ['a fingerprint of another certificate', { fingerprint256: ['AB'.repeat(32)] }, c.proxy, null, ''],
  ]
  for (const [name, trustCertificate, client, peerIdentity] of cases) {
    const { port } = await httpsApp(t, { trust: [], trustCertificate }, { crl: c.crl })
    const res = await request(port, { from: FROM, client, headers: XFF })
    t.same(
      (res.json as { peerIdentity: string | null }).peerIdentity,
      peerIdentity,
      `${name}: peerIdentity ${peerIdentity}`,
    )
    t.equal((res.json as { ip: string }).ip, peerIdentity === null ? FROM : '203.0.113.9', `${name}: ip`)
  }
  // also a control for the rows above: the same listed identity from the right CA is believed
  const { port } = await httpsApp(t, { trust: [], trustCertificate: { uri: ['spiffe://example.org/ns/prod/sa/web'] } })
  t.equal((await request(port, { from: FROM, client: c.valid, headers: XFF })).json.ip, '203.0.113.9', 'control')
})

t.test("an SNI context trusting another CA does not make that CA's certificate a proxy", async t => {
  // the wrongCa certificate carries the listed SPIFFE ID, and the rogue.localhost context trusts its CA
  const { srv, port } = await httpsApp(t, {
    trust: [],
    trustCertificate: { uri: ['spiffe://example.org/ns/prod/sa/web'] },
  })
  srv.addContext('rogue.localhost', rogueContextOptions())
  const res = await request(port, { from: FROM, client: c.wrongCa, servername: 'rogue.localhost', headers: XFF })
  t.same(res.json, { ...res.json, ip: FROM, peerIdentity: null }, 'Node authorized it, the server ca does not')
  const control = await request(port, { from: FROM, client: c.valid, servername: 'rogue.localhost', headers: XFF })
  t.equal(control.json.ip, '203.0.113.9', 'control: the right CA through the same context')
})

t.test('address OR identity: a trusted address still works, with no peerIdentity', async t => {
  const { port } = await httpsApp(t, { trust: '127.0.0.8', trustCertificate: { uri: [PROXY_ID] } })
  const byAddress = await request(port, { from: '127.0.0.8', secure: true, headers: XFF })
  t.same(byAddress.json, { ...byAddress.json, ip: '203.0.113.9', peerIdentity: null })
  const byIdentity = await request(port, { from: FROM, client: c.proxy, headers: XFF })
  t.same(byIdentity.json, { ...byIdentity.json, ip: '203.0.113.9', peerIdentity: `uri:${PROXY_ID}` })
  const neither = await request(port, { from: FROM, client: c.valid, headers: XFF })
  t.same(neither.json, { ...neither.json, ip: FROM, peerIdentity: null })
  // forwarded hops are judged by trust only: identity vouches for the peer
  const chain = await request(port, {
    from: FROM,
    client: c.proxy,
    headers: { 'x-forwarded-for': '198.51.100.4, 127.0.0.8, 203.0.113.9' },
  })
  t.equal(chain.json.ip, '203.0.113.9', 'the hop before the proxy is not trusted by its identity')
})

t.test('HTTP/2: decided once per connection, for every stream', async t => {
  const proxy = createTrustProxy(identityOnly)
  const srv = http2.createSecureServer(tlsServerOptions() as http2.SecureServerOptions, (req, res) => {
    res.end(JSON.stringify(proxy.resolve(req)))
  })
  // how often the connection's certificate is read: once per verification
  let reads = 0
  srv.on('secureConnection', (socket: tls.TLSSocket) => {
    const read = socket.getPeerX509Certificate.bind(socket)
    socket.getPeerX509Certificate = () => (reads++, read())
  })
  const port = await listen(t, srv)
  for (const [name, client, ip] of [
    ["the proxy's certificate", c.proxy, '203.0.113.9'],
    ['another certificate', c.valid, FROM],
    ['no certificate', undefined, FROM],
  ] as const) {
    reads = 0
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      rejectUnauthorized: false,
      servername: 'localhost',
      ...({ localAddress: FROM } as tls.ConnectionOptions),
      ...(client === undefined ? {} : { cert: c.chainOf(client), key: client.key }),
    })
    for (let i = 0; i < 3; i++) {
      const body = await h2Body(session, { 'x-forwarded-for': '203.0.113.9' })
      t.equal(JSON.parse(body).ip, ip, `${name}, stream ${i + 1}`)
    }
    t.equal(reads, 1, `${name}: verified once for three streams`)
    session.close()
  }
})

t.test('plain HTTP is never trusted by identity', async t => {
  const proxy = createTrustProxy(identityOnly)
  const srv = http.createServer((req, res) => res.end(JSON.stringify(proxy.resolve(req))))
  const port = await listen(t, srv)
  const res = await request(port, { from: FROM, headers: XFF })
  t.match(res.json, { ip: FROM, reason: 'untrusted-peer' })
  t.notOk('peerIdentity' in res.json)
  // a socket that claims a verified certificate but is not encrypted
  const s = fakeSocket()
  t.equal(proxy.resolve({ headers: XFF, socket: s }).ip, '203.0.113.9', 'control: the fake TLS socket is believed')
  const plain = fakeSocket()
  plain.encrypted = false
  t.equal(proxy.resolve({ headers: XFF, socket: plain }).ip, FROM, 'the same, unencrypted, is not')
  t.equal(proxy.resolve({ headers: XFF, socket: null }).ip, undefined, 'no socket')
})

/** A TLS socket as Node reports it for the proxy's verified certificate. */
const fakeSocket = () => {
  const leaf = new X509Certificate(c.proxy.cert)
  return {
    remoteAddress: FROM,
    encrypted: true,
    authorized: true,
    server: { requestCert: true, ca: [c.root.cert] },
    getPeerX509Certificate: () => leaf,
    getPeerCertificate: () => ({ issuerCertificate: { raw: new X509Certificate(c.intermediate.cert).raw } }),
  }
}

t.test('a keep-alive connection is not trusted past its certificate', async t => {
  const proxy = createTrustProxy(identityOnly)
  const socket = fakeSocket()
  t.equal(proxy.resolve({ headers: XFF, socket }).ip, '203.0.113.9')
  const later = Date.parse(new X509Certificate(c.proxy.cert).validTo) + 1000
  const now = t.capture(Date, 'now', () => later)
  t.equal(proxy.resolve({ headers: XFF, socket }).ip, FROM, 'expired since the handshake')
  t.ok(now.args().length > 0)
})

/** One request over `tls.connect`, reporting the session and the JSON answer. */
const tlsRequest = (port: number, client: Pair | undefined, session?: Buffer) =>
  new Promise<{ body: Record<string, unknown>; session: Buffer | undefined; reused: boolean }>((resolve, reject) => {
    let ticket: Buffer | undefined
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      // net.connect's option, which tls.connect passes on
      ...({ localAddress: FROM } as tls.ConnectionOptions),
      servername: 'localhost',
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      ...(client === undefined ? {} : { cert: c.chainOf(client), key: client.key }),
      ...(session === undefined ? {} : { session }),
    })
    socket.on('session', s => (ticket = s))
    socket.on('error', reject)
    socket.once('secureConnect', () => {
      socket.write('GET / HTTP/1.1\r\nhost: localhost\r\nx-forwarded-for: 203.0.113.9\r\nconnection: close\r\n\r\n')
    })
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', d => (data += d))
    socket.on('end', () => {
      const body = JSON.parse(data.slice(data.indexOf('{'), data.lastIndexOf('}') + 1)) as Record<string, unknown>
      resolve({ body, session: ticket, reused: socket.isSessionReused() })
    })
  })

t.test('TLS 1.3 resumption: a resumed session without a certificate is not the proxy', async t => {
  const proxy = createTrustProxy(identityOnly)
  const srv = https.createServer(tlsServerOptions(), (req, res) => {
    const s = req.socket as tls.TLSSocket
    const r = proxy.resolve(req)
    res.end(JSON.stringify({ ip: r.ip, authorized: s.authorized, cert: s.getPeerX509Certificate() !== undefined }))
  })
  const port = await listen(t, srv)
  const first = await tlsRequest(port, undefined)
  t.same(first.body, { ip: FROM, authorized: false, cert: false })
  const resumed = await tlsRequest(port, undefined, first.session)
  t.equal(resumed.reused, true, 'the session was resumed')
  // nodejs/node#35317: Node may report authorized with no certificate here
  t.same(resumed.body, { ...resumed.body, ip: FROM, cert: false }, 'no certificate: headers ignored')

  const proxied = await tlsRequest(port, c.proxy)
  t.same(proxied.body, { ip: '203.0.113.9', authorized: true, cert: true })
  const again = await tlsRequest(port, undefined, proxied.session)
  t.equal(again.reused, true, "the proxy's session was resumed")
  t.same(
    again.body,
    { ip: '203.0.113.9', authorized: true, cert: true },
    'the session carries the verified certificate',
  )
})

t.test('a forwarded client certificate is read only from the identity-trusted proxy', async t => {
  // loopback is trusted by address too: that is not enough to forward a certificate
  const { port } = await httpsApp(t, {
    trust: 'loopback',
    trustCertificate: { uri: [PROXY_ID] },
    clientCert: { mode: 'optional', forwarded: { source: 'nginx' } },
  })
  const forged = { ...XFF, 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' }
  const viaProxy = await request(port, { from: FROM, client: c.proxy, headers: forged })
  t.same(viaProxy.json, {
    ip: '203.0.113.9',
    protocol: 'http',
    peerIdentity: `uri:${PROXY_ID}`,
    cn: 'client-one',
    certError: null,
    certHeader: 'present',
  })
  for (const [name, client] of [
    ['another certificate', c.valid],
    ['no certificate', undefined],
  ] as const) {
    const res = await request(port, { from: FROM, client, secure: true, headers: forged })
    t.same(
      res.json,
      {
        ip: '203.0.113.9',
        protocol: 'http',
        peerIdentity: null,
        cn: null,
        certError: 'missing',
        certHeader: 'absent',
      },
      `${name}: trusted by address for X-Forwarded-For, but the certificate headers are deleted`,
    )
  }
  // control: without trustCertificate, the address alone lets the certificate through
  const { port: plain } = await httpsApp(t, {
    trust: 'loopback',
    clientCert: { mode: 'optional', forwarded: { source: 'nginx' } },
  })
  const res = await request(plain, { from: FROM, secure: true, headers: forged })
  t.match(res.json, { ip: '203.0.113.9', peerIdentity: null, cn: 'client-one' }, 'control: by address only')
})

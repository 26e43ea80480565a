// Load balancers that terminate TLS and send the PROXY protocol: the v2 SSL
// TLV (PP2_CLIENT_SSL) of a trusted balancer, or `tls: 'terminated'` on the
// listener, makes the request https for the trust engine (protocol, secure,
// httpsRedirect, HSTS, Secure cookies, explain) in Fastify and Express.
// Headers are built from the byte layouts (haproxy doc/proxy-protocol.txt
// 2.1, 2.2, 2.2.6) and sent over real sockets from chosen loopback
// addresses; test/deploy-proxy-protocol.ts runs real hitch, stunnel and HAProxy.
import express from 'express'
import Fastify from 'fastify'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import t, { type Test } from 'tap'
import { createTrustProxy, formatExplanation, type TrustProxyOptions } from '../src/index.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { type ProxyProtocolOptions, proxyProtocol } from '../src/proxy-protocol/index.js'
import { raw, tlsOverHeader } from './fixtures/proxy-client.js'
import { ipv6Block, sslValue, v2 } from './fixtures/proxy-protocol.js'
import { tlsServerOptions } from './support/certs.js'
import { h2Body, listen, recorder } from './support/http.js'

t.setTimeout(120_000)

const FRAMEWORKS = ['fastify', 'express'] as const
/** a CDN in front of the balancer, trusted by the app (not by proxyProtocol) */
const CDN = '198.51.100.9'

const ssl = (client: number) => [0x20, sslValue(client, 0, client & 1 ? [[0x21, 'TLSv1.3']] : [])] as [number, Buffer]
const ipv4 = (src: string) => {
  const b = Buffer.alloc(12)
  src.split('.').forEach((p, i) => (b[i] = Number(p)))
  ;[198, 51, 100, 2].forEach((p, i) => (b[4 + i] = p))
  b.writeUInt16BE(41000, 8)
  b.writeUInt16BE(443, 10)
  return b
}
const V1 = 'PROXY TCP4 203.0.113.7 198.51.100.2 41000 443\r\n'
const TLV_HTTPS = v2({ addr: ipv4('203.0.113.7'), tlvs: [ssl(0x01)] })

const options: TrustProxyOptions = {
  trust: CDN,
  httpsRedirect: { allowedHosts: ['app.example'], exempt: (path: string) => path.endsWith('/whoami') },
  hsts: true,
  secureCookies: true,
}

/** Fastify under /fastify/, Express under /express/, one server wrapped by proxyProtocol(). */
const apps = async (t: Test, pp: Partial<ProxyProtocolOptions> = {}) => {
  const log = recorder()
  const ex = express()
  ex.use(expressTrustProxy(options))
  ex.get('/express/whoami', (req, res) => {
    res.json({
      ip: req.ip,
      protocol: req.protocol,
      secure: req.secure,
      protocolFrom: req.proxyAware!.protocolFrom ?? null,
      explain: req.explainProxyAware().protocol,
    })
  })
  ex.get('/express/login', (_req, res) => {
    res.cookie('sid', 'x', { httpOnly: true }).send('ok')
  })
  const serverFactory = (handler: http.RequestListener) =>
    proxyProtocol(
      http.createServer((req, res) => (req.url!.startsWith('/express/') ? ex(req, res) : handler(req, res))),
      { trust: '127.0.0.1', logger: log, ...pp },
    )
  const fy = Fastify({ serverFactory: serverFactory as never })
  await fy.register(fastifyTrustProxy, options)
  fy.get('/fastify/whoami', req => ({
    ip: req.ip,
    protocol: req.protocol,
    secure: req.proxyAware.secure,
    protocolFrom: req.proxyAware.protocolFrom ?? null,
    explain: req.explainProxyAware().protocol,
    text: formatExplanation(req.explainProxyAware()),
  }))
  fy.get('/fastify/login', (_req, reply) => reply.header('set-cookie', 'sid=x; HttpOnly').send('ok'))
  await fy.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => fy.close())
  return { port: (fy.server.address() as net.AddressInfo).port, log }
}

interface Answer {
  status: number
  headers: Record<string, string[]>
  body: string
}

/** Send `header` then a GET of `path` from `from`; the answer, or undefined when closed without one. */
const send = async (port: number, header: Buffer | string, path: string, extra = '', from = '127.0.0.1') => {
  const request = `GET ${path} HTTP/1.1\r\nHost: app.example\r\n${extra}Connection: close\r\n\r\n`
  const { data } = await raw({ port, from, chunks: [Buffer.concat([Buffer.from(header), Buffer.from(request)])] })
  const text = data.toString('latin1')
  if (text === '') return undefined
  const [head, ...rest] = text.split('\r\n\r\n')
  const [status, ...lines] = head!.split('\r\n')
  const headers: Record<string, string[]> = {}
  for (const l of lines) {
    const i = l.indexOf(':')
    ;(headers[l.slice(0, i).toLowerCase()] ??= []).push(l.slice(i + 1).trim())
  }
  return { status: Number(status!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') } satisfies Answer
}

const json = (a: Answer | undefined) => {
  if (a?.status !== 200) throw new Error(`expected 200, got ${a?.status} ${a?.body}`)
  // chunked (Express) or not (Fastify): the JSON object is the body's braces
  return JSON.parse(a.body.slice(a.body.indexOf('{'), a.body.lastIndexOf('}') + 1)) as Record<string, unknown>
}

/** https through the balancer: not redirected, HSTS, Secure cookie. */
const servedAsHttps = async (t: Test, port: number, header: Buffer | string, fw: string) => {
  const login = await send(port, header, `/${fw}/login`)
  t.equal(login?.status, 200, 'the https request is served, not redirected to itself (no loop)')
  t.match(login?.headers['strict-transport-security'], [/^max-age=/], 'HSTS')
  t.match(login?.headers['set-cookie'], [/^sid=x;.*Secure/], 'the cookie is marked Secure')
}

/** http through the balancer: redirected to https, no HSTS. */
const redirected = async (t: Test, port: number, header: Buffer | string, fw: string, from?: string) => {
  const login = await send(port, header, `/${fw}/login`, '', from)
  t.equal(login?.status, 301, 'redirected to https')
  t.same(login?.headers.location, [`https://app.example/${fw}/login`])
  t.notOk(login?.headers['strict-transport-security'], 'no HSTS over http')
}

t.test('the tls option is checked', async t => {
  const server = () => http.createServer()
  for (const bad of [true, 'yes', 'Terminated', 1, null]) {
    t.throws(
      () => proxyProtocol(server(), { trust: '127.0.0.1', tls: bad as never }),
      { name: 'ProxyAwareConfigError', option: 'tls', message: /'header'.*'terminated'/ },
      `tls: ${String(bad)} is refused, naming the option`,
    )
  }
  t.doesNotThrow(() => proxyProtocol(server(), { trust: '127.0.0.1', tls: 'header' }))
  t.doesNotThrow(() => proxyProtocol(server(), { trust: '127.0.0.1', tls: 'terminated' }))
})

for (const fw of FRAMEWORKS) {
  t.test(`${fw}: a v2 SSL TLV with PP2_CLIENT_SSL from the trusted balancer is https`, async t => {
    const { port } = await apps(t)
    t.match(json(await send(port, TLV_HTTPS, `/${fw}/whoami`)), {
      ip: '203.0.113.7',
      protocol: 'https',
      secure: true,
      protocolFrom: 'proxy-protocol',
      explain: { value: 'https', from: 'proxy-protocol', entry: 'PP2_CLIENT_SSL', balancer: '127.0.0.1' },
    })
    await servedAsHttps(t, port, TLV_HTTPS, fw)

    const v6 = v2({
      fam: 0x21,
      addr: ipv6Block(Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.alloc(16), 41000, 443),
      tlvs: [ssl(0x05)],
    })
    t.match(json(await send(port, v6, `/${fw}/whoami`)), { ip: '2001:db8::1', protocol: 'https' }, 'an IPv6 client')
  })

  t.test(`${fw}: a header that does not say TLS stays http`, async t => {
    const { port } = await apps(t)
    const plain = v2({ addr: ipv4('203.0.113.7') })
    t.match(json(await send(port, plain, `/${fw}/whoami`)), {
      ip: '203.0.113.7',
      protocol: 'http',
      secure: false,
      protocolFrom: null,
      explain: { value: 'http', from: 'socket' },
    })
    await redirected(t, port, plain, fw)
    await redirected(t, port, v2({ addr: ipv4('203.0.113.7'), tlvs: [ssl(0x00)] }), fw)
    await redirected(t, port, V1, fw)
    // LOCAL (a health check) is the balancer's own connection
    const local = v2({ verCmd: 0x20, fam: 0, addr: Buffer.alloc(0), tlvs: [ssl(0x01)] })
    t.match(json(await send(port, local, `/${fw}/whoami`)), { ip: '127.0.0.1', protocol: 'http' })
  })

  t.test(`${fw}: tls: 'terminated' for senders that cannot say it (v1)`, async t => {
    const { port } = await apps(t, { tls: 'terminated' })
    t.match(json(await send(port, V1, `/${fw}/whoami`)), {
      ip: '203.0.113.7',
      protocol: 'https',
      secure: true,
      protocolFrom: 'proxy-protocol',
      explain: { from: 'proxy-protocol', entry: "tls: 'terminated'", balancer: '127.0.0.1' },
    })
    await servedAsHttps(t, port, V1, fw)
    await servedAsHttps(t, port, v2({ addr: ipv4('203.0.113.7') }), fw)
    // the balancer's own word for one connection decides over the listener's
    await redirected(t, port, v2({ addr: ipv4('203.0.113.7'), tlvs: [ssl(0x00)] }), fw)
    const local = v2({ verCmd: 0x20, fam: 0, addr: Buffer.alloc(0) })
    t.match(json(await send(port, local, `/${fw}/whoami`)), { protocol: 'http' }, 'not a LOCAL health check')
  })

  t.test(`${fw}: a trusted HTTP proxy behind the balancer still speaks for its client`, async t => {
    const { port } = await apps(t)
    const fromCdn = v2({ addr: ipv4(CDN), tlvs: [ssl(0x01)] })
    // the CDN's client came over http: the CDN's word wins over the balancer's hop
    t.match(
      json(await send(port, fromCdn, `/${fw}/whoami`, `X-Forwarded-For: 192.0.2.44\r\nX-Forwarded-Proto: http\r\n`)),
      {
        ip: '192.0.2.44',
        protocol: 'http',
        explain: { from: 'x-forwarded-proto', raw: 'http' },
      },
    )
    // the CDN says https too: its word decides, not the balancer's
    for (const extra of [`X-Forwarded-For: 192.0.2.44\r\nX-Forwarded-Proto: https\r\n`]) {
      t.match(json(await send(port, fromCdn, `/${fw}/whoami`, extra)), {
        ip: '192.0.2.44',
        protocol: 'https',
        protocolFrom: null,
        explain: { from: 'x-forwarded-proto' },
      })
    }
    // no (usable) word from the CDN: the connection's protocol, from the balancer
    for (const extra of [
      `X-Forwarded-For: 192.0.2.44\r\n`,
      `X-Forwarded-For: 192.0.2.44\r\nX-Forwarded-Proto: ftp\r\n`,
      `X-Forwarded-For: 192.0.2.44\r\nX-Forwarded-Proto: ftp, gopher\r\n`,
    ]) {
      t.match(json(await send(port, fromCdn, `/${fw}/whoami`, extra)), {
        ip: '192.0.2.44',
        protocol: 'https',
        protocolFrom: 'proxy-protocol',
        explain: { from: 'proxy-protocol' },
      })
    }
    // a client that is not trusted cannot turn the balancer's https into http (or the reverse)
    t.match(json(await send(port, TLV_HTTPS, `/${fw}/whoami`, `X-Forwarded-Proto: http\r\n`)), {
      ip: '203.0.113.7',
      protocol: 'https',
    })
    const plain = v2({ addr: ipv4('203.0.113.7') })
    t.match(json(await send(port, plain, `/${fw}/whoami`, `X-Forwarded-Proto: https\r\n`)), { protocol: 'http' })
  })
}

t.test("an untrusted peer's SSL TLV is never believed", async t => {
  const closed = await apps(t)
  t.equal(await send(closed.port, TLV_HTTPS, '/fastify/login', '', '127.0.0.66'), undefined, 'closed unanswered')
  t.match(closed.log.entries, [{ level: 'warn', obj: { proxyProtocol: { reason: 'untrusted-header' } } }])

  const served = await apps(t, { untrusted: 'serve', tls: 'terminated' })
  const answer = await send(served.port, TLV_HTTPS, '/fastify/whoami', '', '127.0.0.66')
  t.equal(answer?.status, 400, "served unread: Node's HTTP parser refuses the stray header")
  // without a header, an untrusted peer on a tls: 'terminated' listener is itself: http
  const direct = await send(served.port, '', '/express/whoami', '', '127.0.0.66')
  t.match(json(direct), { ip: '127.0.0.66', protocol: 'http', explain: { from: 'socket' } })
  await redirected(t, served.port, '', 'fastify', '127.0.0.66')
})

t.test('formatExplanation names the balancer and what it said', async t => {
  const { port } = await apps(t, { tls: 'terminated' })
  for (const [header, said] of [
    [TLV_HTTPS, 'its SSL TLV has PP2_CLIENT_SSL'],
    [V1, "the listener has tls: 'terminated'"],
  ] as const) {
    const { text } = json(await send(port, header, '/fastify/whoami'))
    t.match(text, `https  from the PROXY protocol header of the load balancer 127.0.0.1 (${said})`)
  }
})

t.test('an app that terminates TLS itself: its own socket speaks, whatever the SSL TLV', async t => {
  const core = createTrustProxy({ trust: CDN })
  const server = proxyProtocol(
    https.createServer(tlsServerOptions(), (req, res) => {
      const r = core.resolve(req)
      res.end(JSON.stringify({ protocol: r.protocol, from: core.explain(req).protocol.from }))
    }),
    { trust: '127.0.0.1', tls: 'terminated' },
  )
  const port = await listen(t, server)
  const { text, socket } = await tlsOverHeader({
    port,
    header: TLV_HTTPS,
    request: 'GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n',
    rejectUnauthorized: false,
  })
  socket.destroy()
  t.same(JSON.parse(text.slice(text.indexOf('{'))), { protocol: 'https', from: 'socket' })
})

t.test('a request without a socket is http (core)', async t => {
  const core = createTrustProxy({ trust: CDN })
  t.match(core.resolve({ headers: {} }), { protocol: 'http', secure: false })
  t.match(core.explain({ headers: {}, socket: null }).protocol, { value: 'http', from: 'socket' })
})

t.test("HTTP/2 without TLS behind the balancer (h2c): the SSL TLV reaches the request's socket proxy", async t => {
  const core = createTrustProxy({ trust: CDN })
  const server = proxyProtocol(
    http2.createServer((req, res) => {
      const r = core.resolve(req)
      res.end(JSON.stringify({ ip: r.ip, protocol: r.protocol, from: core.explain(req).protocol.from }))
    }),
    { trust: '127.0.0.1' },
  )
  const port = await listen(t, server)
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' })
  socket.write(TLV_HTTPS)
  const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => socket })
  t.teardown(() => session.close())
  t.same(JSON.parse(await h2Body(session, { ':path': '/' })), {
    ip: '203.0.113.7',
    protocol: 'https',
    from: 'proxy-protocol',
  })
})

// Real HAProxy (Debian's, which .ci/run installs) sending the PROXY
// protocol to Fastify and Express apps: v1 (send-proxy) and v2
// (send-proxy-v2 with proxy-v2-options ssl,cert-cn,ssl-cipher,unique-id,
// authority,crc32c) in mode http, v2 in mode tcp with TLS passthrough to
// an app terminating mTLS, and health checks (LOCAL).
import express from 'express'
import Fastify from 'fastify'
import { mkdtempSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { type ProxyProtocolInfo, proxyProtocol } from '../src/proxy-protocol/index.js'
import { certs, tlsServerOptions } from './support/certs.js'
import { recorder, request } from './support/http.js'
import { freePort, need, startProxy } from './support/proxies.js'

// real sockets and child processes on a shared machine: more than tap's default 30 s
t.setTimeout(120_000)

const c = certs()

interface Seen {
  ip: string
  peer: string
  pp: ProxyProtocolInfo | undefined
  cn?: string
}

const summary = (pp: ProxyProtocolInfo | undefined) =>
  pp && {
    version: pp.version,
    command: pp.command,
    source: pp.source?.address,
    peer: pp.peer.address,
    authority: pp.tlvs.authority,
    crc32c: typeof pp.tlvs.crc32c,
    ssl: pp.tlvs.ssl && {
      ssl: pp.tlvs.ssl.ssl,
      verified: pp.tlvs.ssl.verified,
      cn: pp.tlvs.ssl.cn,
      version: pp.tlvs.ssl.version,
      cipher: typeof pp.tlvs.ssl.cipher,
    },
  }

/** GET / through HAProxy from `from`, over HTTP or TLS (with the client certificate). */
const get = (port: number, from: string, headers: Record<string, string> = {}, secure = false) =>
  new Promise<Seen>((resolve, reject) => {
    const req = (secure ? https : http).request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        localAddress: from,
        headers,
        agent: false,
        ...(secure ? { ca: c.root.cert, servername: 'localhost', cert: c.chainOf(c.valid), key: c.valid.key } : {}),
      },
      res => {
        let body = ''
        res.on('data', d => {
          body += d
        })
        res.on('end', () =>
          res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode} ${body}`)),
        )
      },
    )
    req.on('error', reject)
    req.end()
  })

const fastifyApp = async (t: Test, health: ProxyProtocolInfo[]) => {
  const app = Fastify({ serverFactory: handler => proxyProtocol(http.createServer(handler), { trust: '127.0.0.1' }) })
  // the app trusts the "CDN" on 127.0.0.5, which reaches it through HAProxy
  await app.register(fastifyTrustProxy, { trust: '127.0.0.5' })
  app.get('/', req => ({ ip: req.ip, peer: req.raw.socket.remoteAddress, pp: req.proxyProtocol }))
  app.get('/health', req => {
    health.push(req.proxyProtocol!)
    return 'ok'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return (app.server.address() as AddressInfo).port
}

const expressApp = async (t: Test, health: ProxyProtocolInfo[], tls = false) => {
  const app = express()
  app.use(expressTrustProxy({ trust: '127.0.0.5' }))
  app.get('/health', (req, res) => {
    health.push(req.proxyProtocol!)
    res.send('ok')
  })
  app.get('/', (req, res) => {
    const cert = tls ? (req.socket as import('node:tls').TLSSocket).getPeerX509Certificate() : undefined
    res.json({
      ip: req.ip,
      peer: req.socket.remoteAddress,
      pp: req.proxyProtocol,
      cn: cert?.subject.split('\n').find(l => l.startsWith('CN=')),
    })
  })
  const server = proxyProtocol(tls ? https.createServer(tlsServerOptions(), app) : http.createServer(app), {
    trust: '127.0.0.1',
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  t.teardown(
    () =>
      new Promise(r => {
        server.closeAllConnections()
        server.close(r)
      }),
  )
  return (server.address() as AddressInfo).port
}

const startHaproxy = async (t: Test, bin: string, body: string, ports: number[]) => {
  const dir = mkdtempSync(join(tmpdir(), 'pa-haproxy-pp-'))
  writeFileSync(join(dir, 'both.pem'), c.server.cert + c.server.key)
  writeFileSync(join(dir, 'ca.pem'), c.root.cert)
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `
global
  maxconn 64
defaults
  timeout connect 5s
  timeout client 10s
  timeout server 10s
  # a loaded machine must not mark the app down (it would answer 503)
  timeout check 5s
  unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt
${body.replaceAll('DIR', dir)}
`,
  )
  await startProxy(t, bin, ['-db', '-f', join(dir, 'haproxy.cfg')], ports)
}

for (const [name, start] of [
  ['Fastify', fastifyApp],
  ['Express', expressApp],
] as const) {
  t.test(`HAProxy mode http -> ${name}: send-proxy (v1) and send-proxy-v2 with TLVs; LOCAL health checks`, async t => {
    const haproxy = need(t, 'haproxy')
    if (!haproxy) return
    const health1: ProxyProtocolInfo[] = []
    const health2: ProxyProtocolInfo[] = []
    const app1 = await start(t, health1)
    const app2 = await start(t, health2)
    const [p1, p2] = [await freePort(), await freePort()]
    await startHaproxy(
      t,
      haproxy,
      `
frontend v1
  mode http
  bind 127.0.0.1:${p1}
  default_backend v1
backend v1
  mode http
  server app 127.0.0.1:${app1} send-proxy
frontend v2
  mode http
  bind 127.0.0.1:${p2} ssl crt DIR/both.pem ca-file DIR/ca.pem verify optional
  unique-id-header X-Unique-ID
  default_backend v2
backend v2
  mode http
  option httpchk GET /health
  server app 127.0.0.1:${app2} send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,unique-id,authority,crc32c check inter 200ms fall 1000
`,
      [p1, p2],
    )

    // v1: the client's address from the header; a CDN's X-Forwarded-For is believed only from the CDN
    const direct = await get(p1, '127.0.0.6', { 'x-forwarded-for': '6.6.6.6' })
    t.match(direct, { ip: '127.0.0.6', peer: '127.0.0.6' }, 'an untrusted client cannot spoof through the header')
    t.match(summary(direct.pp), { version: 1, command: 'PROXY', source: '127.0.0.6', peer: '127.0.0.1' })
    const cdn = await get(p1, '127.0.0.5', { 'x-forwarded-for': '198.51.100.7' })
    t.match(cdn, { ip: '198.51.100.7', peer: '127.0.0.5' }, 'X-Forwarded-For from the trusted CDN behind the balancer')

    // v2 over TLS terminated by HAProxy with a client certificate
    const tls = await get(p2, '127.0.0.6', {}, true)
    t.match(tls, { ip: '127.0.0.6', peer: '127.0.0.6' })
    t.match(summary(tls.pp), {
      version: 2,
      command: 'PROXY',
      source: '127.0.0.6',
      peer: '127.0.0.1',
      authority: 'localhost',
      crc32c: 'number',
      ssl: { ssl: true, verified: true, cn: 'client-one', cipher: 'string' },
    })
    t.match(tls.pp!.tlvs.ssl!.version, /^TLSv1\.[23]$/)
    // (the Buffer went through JSON) HAProxy's unique-id-format, %ci in hex
    const uid = Buffer.from((tls.pp!.tlvs.uniqueId as unknown as { data: number[] }).data).toString()
    t.match(uid, /^7F000006:/, 'the unique id arrives')

    // HAProxy's health checks reach the app with a LOCAL header
    for (let i = 0; i < 200 && health2.length === 0; i++) await new Promise(r => setTimeout(r, 50))
    t.match(summary(health2[0]), {
      version: 2,
      command: 'LOCAL',
      source: undefined,
      peer: '127.0.0.1',
      // a LOCAL header's TLVs are not read (its CRC32C included)
      crc32c: 'undefined',
    })
  })
}

t.test('HAProxy mode tcp, TLS passthrough -> Express terminating mTLS: certificate and real address', async t => {
  const haproxy = need(t, 'haproxy')
  if (!haproxy) return
  const appPort = await expressApp(t, [], true)
  const port = await freePort()
  await startHaproxy(
    t,
    haproxy,
    `
frontend tcp
  mode tcp
  bind 127.0.0.1:${port}
  default_backend tcp
backend tcp
  mode tcp
  server app 127.0.0.1:${appPort} send-proxy-v2 proxy-v2-options crc32c
`,
    [port],
  )
  const res = await request(port, { secure: true, from: '127.0.0.6', client: c.valid })
  t.equal(res.status, 200)
  t.match(JSON.parse(res.body), { ip: '127.0.0.6', peer: '127.0.0.6', cn: 'CN=client-one' })
  const cdn = await request(port, {
    secure: true,
    from: '127.0.0.5',
    client: c.valid,
    headers: { 'x-forwarded-for': '198.51.100.7' },
  })
  t.match(JSON.parse(cdn.body), {
    ip: '198.51.100.7',
    peer: '127.0.0.5',
    cn: 'CN=client-one',
    pp: { version: 2, command: 'PROXY' },
  })
})

t.test(
  'HAProxy mode tcp health checks (check-send-proxy: header then reset; plain port checks) close quietly',
  async t => {
    const haproxy = need(t, 'haproxy')
    if (!haproxy) return
    const log = recorder()
    const server = http.createServer((_req, res) => res.end('ok'))
    proxyProtocol(server, { trust: '127.0.0.1', logger: log })
    let accepted = 0
    const emit = server.emit as (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean
    server.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]) {
      if (event === 'connection') accepted++
      return emit.call(this, event, ...args)
    } as typeof server.emit
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
    t.teardown(() => new Promise(r => server.close(r)))
    const appPort = (server.address() as AddressInfo).port
    const port = await freePort()
    await startHaproxy(
      t,
      haproxy,
      `
frontend tcp
  mode tcp
  bind 127.0.0.1:${port}
  default_backend tcp
backend tcp
  mode tcp
  server proxied 127.0.0.1:${appPort} send-proxy-v2 check check-send-proxy inter 50ms fall 1000 rise 1
  server plain 127.0.0.1:${appPort} send-proxy-v2 check inter 50ms fall 1000 rise 1
  server v1 127.0.0.1:${appPort} send-proxy check check-send-proxy inter 50ms fall 1000 rise 1
`,
      [port],
    )
    // 3 servers checked every 50 ms: 60 checks in about 1 s; a loaded machine gets 60 s
    const until = Date.now() + 60_000
    while (accepted < 60 && Date.now() < until) await new Promise(r => setTimeout(r, 50))
    t.ok(accepted >= 60, `${accepted} health checks reached the app`)
    t.same(
      log.entries.map(e => `${e.msg} ${String(e.obj.peer)}`),
      [],
      'no check was logged',
    )
    // and the balancer still relays clients
    const res = await request(port, { from: '127.0.0.6' })
    t.equal(res.body, 'ok')
  },
)

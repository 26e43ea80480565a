// Issue 19 item 1 (and the root of item 2): a TCP client that sends its
// bytes and resets before Node accepts the connection leaves a socket
// without `remoteAddress` whose bytes are still readable. It must never
// pass for a Unix socket (`trustUnixSocket: true` on a TCP listener):
// proxyProtocol closes it quietly, the engine, Fastify and Express resolve
// it with no peer. Real Unix sockets stay trusted.
import express from 'express'
import Fastify from 'fastify'
import { mkdtempSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createTrustProxy } from '../src/index.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { proxyProtocol, proxyProtocolOf } from '../src/proxy-protocol/index.js'
import { resetBeforeAccept } from './fixtures/proxy-client.js'
import { certs, tlsServerOptions } from './support/certs.js'
import { portOf, recorder, unixPeer } from './support/http.js'

t.setTimeout(120_000)

const ATTACK = 'POST /admin/delete HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 10.0.0.1\r\nContent-Length: 0\r\n\r\n'
const V1 = 'PROXY TCP4 10.0.0.1 127.0.0.1 41000 80\r\n'

const listenTcp = async (t: Test, server: net.Server) => {
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise(r => server.close(r)))
  return portOf(server)
}

/** Record every socket the server accepts, before proxyProtocol() (applied first) sees it. */
const acceptedSockets = (server: net.Server): net.Socket[] => {
  const sockets: net.Socket[] = []
  const emit = server.emit as (this: net.Server, event: string | symbol, ...args: unknown[]) => boolean
  server.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'connection') sockets.push(args[0] as net.Socket)
    return emit.call(this, event, ...args)
  } as typeof server.emit
  return sockets
}

t.test('proxyProtocol: a PROXY header plus a reset before accept is closed unread and unlogged', async t => {
  for (const trustUnixSocket of [true, false]) {
    const log = recorder()
    const ran: string[] = []
    const server = http.createServer((req, res) => {
      ran.push(`${req.method} ${req.url} as ${req.socket.remoteAddress}`)
      res.end()
    })
    proxyProtocol(server, { trust: '127.0.0.1', trustUnixSocket, logger: log })
    const sockets = acceptedSockets(server)
    const port = await listenTcp(t, server)
    resetBeforeAccept(port, V1 + ATTACK)
    while (sockets.length === 0) await new Promise(r => setImmediate(r))
    t.equal(sockets[0]!.remoteAddress, undefined, 'the race was reproduced: the socket has no address')
    if (!sockets[0]!.destroyed) await new Promise(r => sockets[0]!.once('close', r))
    t.same(ran, [], `trustUnixSocket: ${trustUnixSocket}: the request never ran`)
    t.same(log.entries, [], 'nothing logged (a health check shape: no untrusted-header with peer undefined)')
  }
})

/** POST /admin/delete from an untrusted client that resets: what the app saw. */
const attack = async (port: number, seen: Promise<unknown>) => {
  resetBeforeAccept(port, ATTACK)
  return seen
}

t.test('engine (createTrustProxy): an addressless TCP socket is no Unix socket', async t => {
  const proxy = createTrustProxy({ trust: '10.0.0.0/8', trustUnixSocket: true })
  let done!: (v: unknown) => void
  const seen = new Promise(r => (done = r))
  const server = http.createServer((req, res) => {
    const r = proxy.resolve(req)
    done({ ip: r.ip, reason: r.reason, why: proxy.explain(req).why })
    res.end()
  })
  const port = await listenTcp(t, server)
  t.match(await attack(port, seen), {
    ip: undefined,
    reason: 'no-peer',
    why: /TCP socket closed or reset before it was read/,
  })
  t.equal(proxy.trust(undefined as unknown as string, 0), false, 'the predicate never trusts a missing address')
})

t.test('Fastify: trustUnixSocket on a TCP listener does not trust an addressless socket', async t => {
  let done!: (v: unknown) => void
  const seen = new Promise(r => (done = r))
  const app = Fastify()
  await app.register(fastifyTrustProxy, { trust: '10.0.0.0/8', trustUnixSocket: true })
  app.post('/admin/delete', req => {
    done({ ip: req.ip, reason: req.proxyAware.reason })
    return 'deleted'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  t.same(await attack(portOf(app.server), seen), { ip: undefined, reason: 'no-peer' })
})

t.test('Express: trustUnixSocket on a TCP listener does not trust an addressless socket', async t => {
  let done!: (v: unknown) => void
  const seen = new Promise(r => (done = r))
  const app = express()
  app.use(expressTrustProxy({ trust: '10.0.0.0/8', trustUnixSocket: true }))
  app.post('/admin/delete', (req, res) => {
    done({ ip: req.ip ?? null, reason: req.proxyAware.reason })
    res.end()
  })
  const port = await listenTcp(t, http.createServer(app))
  t.same(await attack(port, seen), { ip: null, reason: 'no-peer' })
})

t.test('a real Unix socket stays trusted, by proxyProtocol and the engine', async t => {
  const path = join(mkdtempSync(join(tmpdir(), 'pa-unix-pp-')), 'app.sock')
  const proxy = createTrustProxy({ trust: '10.0.0.0/8', trustUnixSocket: true })
  const server = proxyProtocol(
    http.createServer((req, res) => {
      const unix = proxy.resolve(req)
      res.end(`${proxyProtocolOf(req)?.source?.address} ${unix.ip} ${unix.reason}`)
    }),
    { trust: [], trustUnixSocket: true },
  )
  await new Promise<void>(r => server.listen(path, r))
  t.teardown(() => new Promise(r => server.close(r)))
  const body = await new Promise<string>((resolve, reject) => {
    const s = net.connect(path, () =>
      s.end(`PROXY TCP4 10.0.0.1 127.0.0.1 41000 80\r\n${ATTACK.replace('POST', 'GET')}`),
    )
    let data = ''
    s.on('data', d => (data += d))
    s.on('close', () => resolve(data.slice(data.indexOf('\r\n\r\n') + 4)))
    s.on('error', reject)
  })
  // the header's source replaces the address only for TCP: a Unix socket's peer stays addressless
  t.equal(body, '10.0.0.1 10.0.0.1 end-of-chain')
})

t.test('what makes a Unix socket: a TLS socket over one, a closed one, no socket at all', async t => {
  const proxy = createTrustProxy({ trust: '10.0.0.0/8', trustUnixSocket: true })
  const headers = { 'x-forwarded-for': '198.51.100.7' }
  t.equal(proxy.resolve({ headers, socket: null }).reason, 'no-peer', 'no socket')
  // closed: the handle is gone, its server still listens on a path
  const [closed] = await unixPeer()
  closed.destroy()
  await new Promise(r => closed.once('close', r))
  t.equal(closed.remoteAddress, undefined)
  t.equal(proxy.resolve({ headers, socket: closed }).ip, '198.51.100.7', 'a closed Unix socket')
  // https on a Unix socket: the TLS socket reads through the socket under it
  const path = join(mkdtempSync(join(tmpdir(), 'pa-unix-tls-')), 'app.sock')
  const server = https.createServer(tlsServerOptions(), (req, res) => res.end(`${proxy.resolve(req).ip}`))
  await new Promise<void>(r => server.listen(path, r))
  t.teardown(() => new Promise(r => server.close(r)))
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(
        { socketPath: path, path: '/', headers, ca: certs().root.cert, servername: 'localhost', agent: false },
        res => {
          let data = ''
          res.on('data', d => (data += d))
          res.on('end', () => resolve(data))
        },
      )
      .on('error', reject)
  })
  t.equal(body, '198.51.100.7', 'a TLS socket over a Unix socket')
})

// proxyProtocol() in front of real net, http, https and http2 servers:
// byte-exact hand-over, the header's source as the peer, and a test per
// rejection reason (closed, logged with the reason and the peer, no crash).
import fc from 'fast-check'
import { once } from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net, { type AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import tls from 'node:tls'
import t, { type Test } from 'tap'
import {
  ProxyAwareConfigError,
  type ProxyProtocolOptions,
  proxyProtocol,
  proxyProtocolOf,
} from '../src/proxy-protocol/index.js'
import { createTrustProxy } from '../src/index.js'
import express from 'express'
import Fastify from 'fastify'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { certs, tlsServerOptions } from './support/certs.js'
import { recorder, unixPeer } from './support/http.js'
import { bytes, raw, tlsOverHeader } from './fixtures/proxy-client.js'
import { ipv6Block, sslValue, v2 } from './fixtures/proxy-protocol.js'

// real sockets and child processes on a shared machine: more than tap's default 30 s
t.setTimeout(120_000)

const c = certs()
const V1 = 'PROXY TCP4 203.0.113.7 198.51.100.2 41000 443\r\n'
const GET = (path: string, close = true) =>
  `GET ${path} HTTP/1.1\r\nHost: app\r\n${close ? 'Connection: close\r\n' : ''}\r\n`

const listen = async (t: Test, server: net.Server) => {
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  t.teardown(
    () =>
      new Promise(r => {
        ;(server as http.Server).closeAllConnections?.()
        server.close(r)
      }),
  )
  return (server.address() as AddressInfo).port
}

/** An http server answering "<path> <remoteAddress>:<remotePort> <header source>". */
const httpApp = async (t: Test, options: Partial<ProxyProtocolOptions> = {}) => {
  const log = recorder()
  const server = proxyProtocol(
    http.createServer((req, res) => {
      const info = proxyProtocolOf(req)
      res.end(
        `${req.url} ${req.socket.remoteAddress}:${req.socket.remotePort} ${req.socket.remoteFamily} ${info?.command ?? '-'} ${info?.peer.address ?? '-'}`,
      )
    }),
    { trust: '127.0.0.1', logger: log, ...options },
  )
  return { port: await listen(t, server), log, server }
}

const bodies = (data: Buffer) =>
  data
    .toString('latin1')
    .split(/HTTP\/1\.1 /)
    .slice(1)
    .map(r => r.slice(r.indexOf('\r\n\r\n') + 4))

t.test("http: the header's source becomes the peer; header and request in one packet", async t => {
  const { port } = await httpApp(t)
  const { data } = await raw({ port, chunks: [V1 + GET('/one')] })
  t.same(bodies(data), ['/one 203.0.113.7:41000 IPv4 PROXY 127.0.0.1'])
})

t.test(
  "a runtime whose socket getters do not read Node's cached peer name still reports the header's source",
  async t => {
    // Node's remoteAddress/remotePort/remoteFamily read `_peername`, which the
    // wrapper sets; the sockets of a runtime that ignores it (here: a socket
    // class whose peer-name lookup does not cache) get own properties. The
    // wrapper checks this once per socket class: a Node socket goes first,
    // so the other class must be checked on its own
    const real = new WeakMap<object, object>()
    class OtherRuntimeSocket extends net.Socket {
      _getpeername(): object {
        return { ...real.get(this) }
      }
    }
    const wrapped = proxyProtocol(
      http.createServer((req, res) =>
        res.end(`${req.socket.remoteAddress}:${req.socket.remotePort} ${req.socket.remoteFamily}`),
      ),
      { trust: '127.0.0.1' },
    )
    let other = false
    const front = net.createServer(s => {
      if (other) {
        real.set(s, { address: s.remoteAddress, port: s.remotePort, family: s.remoteFamily })
        Object.setPrototypeOf(s, OtherRuntimeSocket.prototype)
      }
      wrapped.emit('connection', s)
    })
    const port = await listen(t, front)
    const node = await raw({ port, chunks: [V1 + GET('/')] })
    t.same(bodies(node.data), ['203.0.113.7:41000 IPv4'], 'a Node socket first')
    other = true
    const { data } = await raw({ port, chunks: [V1 + GET('/')] })
    t.same(bodies(data), ['203.0.113.7:41000 IPv4'])
    const v6 = await raw({ port, chunks: ['PROXY TCP6 2001:db8::7 2001:db8::1 41001 443\r\n' + GET('/')] })
    t.same(bodies(v6.data), ['2001:db8::7:41001 IPv6'])
  },
)

t.test(
  'http: the header split byte by byte, then pipelined requests: nothing lost, duplicated or reordered',
  async t => {
    const { port } = await httpApp(t)
    const all = Buffer.from(V1 + GET('/a', false) + GET('/b', false) + GET('/c'))
    const { data } = await raw({ port, chunks: bytes(all), pause: true })
    t.same(
      bodies(data),
      ['/a', '/b', '/c'].map(p => `${p} 203.0.113.7:41000 IPv4 PROXY 127.0.0.1`),
    )
  },
)

t.test(
  'net: an echo server gets exactly the bytes after the header, for any split (property, real sockets)',
  async t => {
    const server = proxyProtocol(
      net.createServer(s => s.pipe(s)),
      { trust: '127.0.0.1' },
    )
    const port = await listen(t, server)
    await t.resolves(
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(Buffer.from(V1), v2({ tlvs: [[0x02, Buffer.from('example.com')]], crc: true })),
          fc.uint8Array({ minLength: 1, maxLength: 3000 }),
          fc.array(fc.nat(), { maxLength: 6 }),
          async (header, payload, cuts) => {
            const all = Buffer.concat([header, payload])
            const points = [...new Set(cuts.map(n => n % all.length))].sort((a, b) => a - b)
            const chunks = [0, ...points]
              .map((p, i, a) => all.subarray(p, i + 1 < a.length ? a[i + 1] : all.length))
              .filter(b => b.length > 0)
            const { data } = await raw({ port, chunks, pause: true, end: true })
            return data.equals(Buffer.from(payload))
          },
        ),
        { numRuns: 25 },
      ),
    )
  },
)

t.test(
  'net: the socket is handed over as a fresh one reads: by readable, or by a data listener added later',
  async t => {
    const reply = (s: net.Socket, data: Buffer) => s.end(`${data.length} ${data.toString('latin1')}`)
    // a server that reads in paused mode, from its connection listener
    const paused = proxyProtocol(
      net.createServer(s => {
        const chunks: Buffer[] = []
        s.on('readable', () => {
          let chunk: Buffer | null
          while ((chunk = s.read() as Buffer | null) !== null) chunks.push(chunk)
        })
        s.on('end', () => reply(s, Buffer.concat(chunks)))
      }),
      { trust: '127.0.0.1' },
    )
    // a server that attaches its data listener only later: the bytes wait for it
    const later = proxyProtocol(
      net.createServer(s => {
        setTimeout(() => {
          const chunks: Buffer[] = []
          s.on('data', (d: Buffer) => chunks.push(d))
          s.on('end', () => reply(s, Buffer.concat(chunks)))
        }, 50)
      }),
      { trust: '127.0.0.1' },
    )
    // a server that pauses the socket in its listener, then listens: nothing
    // flows until it resumes (an explicit pause is the server's to lift)
    const early: Buffer[] = []
    const pausing = proxyProtocol(
      net.createServer(s => {
        s.pause()
        let resumed = false
        const chunks: Buffer[] = []
        s.on('data', (d: Buffer) => {
          if (!resumed) early.push(d)
          chunks.push(d)
        })
        s.on('end', () => reply(s, Buffer.concat(chunks)))
        setTimeout(() => {
          resumed = true
          s.resume()
        }, 50)
      }),
      { trust: '127.0.0.1' },
    )
    for (const server of [paused, later, pausing]) {
      const port = await listen(t, server)
      const { data } = await raw({ port, chunks: [V1 + 'hello', ' world'], pause: true, end: true })
      t.equal(data.toString('latin1'), '11 hello world')
    }
    t.same(early, [], 'no data before the server resumed its paused socket')
  },
)

t.test('https with mTLS: the ClientHello right behind the header; certificate and real address together', async t => {
  const seen: string[] = []
  const server = proxyProtocol(
    https.createServer(tlsServerOptions(), (req, res) => {
      const s = req.socket as import('node:tls').TLSSocket
      const cert = s.getPeerX509Certificate()
      seen.push(
        `${s.remoteAddress} ${s.authorized} ${cert?.subject.split('\n').find(l => l.startsWith('CN=')) ?? 'none'} ${proxyProtocolOf(req)?.tlvs.authority}`,
      )
      res.end('ok')
    }),
    { trust: '127.0.0.1' },
  )
  const port = await listen(t, server)
  const header = v2({ fam: 0x11, tlvs: [[0x02, Buffer.from('app.example')]], crc: true })
  const tlsOpts = { ca: c.root.cert, servername: 'localhost', cert: c.chainOf(c.valid), key: c.valid.key }
  const first = await tlsOverHeader({
    port,
    header,
    request: GET('/'),
    ...tlsOpts,
    maxVersion: 'TLSv1.3',
    minVersion: 'TLSv1.3',
  })
  t.match(first.text, /^HTTP\/1\.1 200/)
  t.same(seen, ['192.0.2.1 true CN=client-one app.example'])
})

t.test("tlsClientError (mTLS client without a certificate) sees the header's client, not the balancer", async t => {
  const server = proxyProtocol(https.createServer(tlsServerOptions({ requestCert: true, rejectUnauthorized: true })), {
    trust: '127.0.0.1',
  })
  const failed = new Promise<string>(resolve =>
    server.on('tlsClientError', (_err, s) =>
      resolve(`${s.remoteAddress}:${s.remotePort} ${s.remoteFamily} ${proxyProtocolOf(s)?.peer.address}`),
    ),
  )
  const port = await listen(t, server)
  const attempt = tlsOverHeader({
    port,
    header: v2({ fam: 0x11 }),
    request: GET('/'),
    ca: c.root.cert,
    servername: 'localhost',
    maxVersion: 'TLSv1.2',
  }).catch(() => undefined)
  t.equal(await failed, '192.0.2.1:56324 IPv4 127.0.0.1')
  await attempt
})

t.test('https: the TLS 1.3 resumption guard keeps working behind the header', async t => {
  const log = recorder()
  const proxy = createTrustProxy({ trust: 'loopback', clientCert: {} })
  const reused: boolean[] = []
  const server = proxyProtocol(
    https.createServer(tlsServerOptions(), (req, res) => {
      reused.push((req.socket as import('node:tls').TLSSocket).isSessionReused())
      if (proxy.handle(req, res, log)) return
      res.end('served')
    }),
    { trust: '127.0.0.1' },
  )
  const port = await listen(t, server)
  let session: Buffer | undefined
  const statuses: string[] = []
  for (let i = 0; i < 6 && !reused.includes(true); i++) {
    const r = await tlsOverHeader({
      port,
      header: Buffer.from(V1),
      request: GET('/'),
      ca: c.root.cert,
      servername: 'localhost',
      session,
      minVersion: 'TLSv1.3',
    })
    session = r.session ?? session
    statuses.push(r.text.slice(9, 12))
  }
  t.ok(reused.includes(true), 'a session was resumed')
  t.same(new Set(statuses), new Set(['403']), 'no certificate, resumed or not, is refused')
  t.equal((log.entries.at(-1)!.obj.clientCert as { reason: string }).reason, 'missing')
  t.equal(log.entries.at(-1)!.obj.peer, '203.0.113.7', 'the log names the client from the header')
})

t.test('http2: secure (h2 over TLS behind the header) and cleartext', async t => {
  const handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    res.end(`${req.socket.remoteAddress} ${proxyProtocolOf(req)?.version}`)
  }
  const secure = proxyProtocol(
    http2.createSecureServer({ key: c.server.key, cert: c.server.cert, allowHTTP1: true }, handler),
    { trust: '127.0.0.1' },
  )
  const sport = await listen(t, secure)
  const r = await tlsOverHeader({
    port: sport,
    header: Buffer.from(V1),
    request: GET('/'),
    ca: c.root.cert,
    servername: 'localhost',
    ALPNProtocols: ['http/1.1'],
  })
  t.match(r.text, /203\.0\.113\.7 1$/, 'HTTP/1.1 over TLS (allowHTTP1)')
  const h2 = await new Promise<string>((resolve, reject) => {
    const session = http2.connect(`https://localhost:${sport}`, {
      createConnection: () => {
        const s = net.connect({ port: sport, host: '127.0.0.1' })
        s.write(
          v2({
            fam: 0x21,
            addr: ipv6Block(Buffer.from('20010db8000000000000000000000042', 'hex'), Buffer.alloc(16), 1, 2),
          }),
        )
        return tls.connect({ socket: s, ALPNProtocols: ['h2'], ca: c.root.cert, servername: 'localhost' })
      },
    })
    const req = session.request({ ':path': '/' })
    let text = ''
    req.setEncoding('utf8')
    req.on('data', d => {
      text += d
    })
    req.on('end', () => {
      session.close()
      resolve(text)
    })
    req.on('error', reject)
  })
  t.equal(h2, '2001:db8::42 2', 'h2 over TLS')
  const plain = proxyProtocol(http2.createServer(handler), { trust: '127.0.0.1' })
  const pport = await listen(t, plain)
  // an h2c client session over a socket that starts with the header
  const body = await new Promise<string>((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${pport}`, {
      createConnection: () => {
        const s = net.connect({ port: pport, host: '127.0.0.1' })
        s.write(v2())
        return s
      },
    })
    const req = session.request({ ':path': '/' })
    let text = ''
    req.setEncoding('utf8')
    req.on('data', d => {
      text += d
    })
    req.on('end', () => {
      session.close()
      resolve(text)
    })
    req.on('error', reject)
  })
  t.equal(body, '192.0.2.1 2')
})

t.test('LOCAL (health checks) and UNKNOWN keep the real peer; IPv6 sources', async t => {
  const { port } = await httpApp(t)
  const local = await raw({
    port,
    chunks: [Buffer.concat([v2({ verCmd: 0x20, fam: 0, addr: Buffer.alloc(0) }), Buffer.from(GET('/health'))])],
  })
  t.match(bodies(local.data)[0], /^\/health 127\.0\.0\.1:\d+ IPv4 LOCAL 127\.0\.0\.1$/)
  const unknown = await raw({ port, chunks: ['PROXY UNKNOWN\r\n' + GET('/u')] })
  t.match(bodies(unknown.data)[0], /^\/u 127\.0\.0\.1:\d+ IPv4 PROXY/)
  const six = await raw({ port, chunks: ['PROXY TCP6 2001:DB8::7 2001:db8::1 1 2\r\n' + GET('/6')] })
  t.same(bodies(six.data), ['/6 2001:db8::7:1 IPv6 PROXY 127.0.0.1'])
})

t.test(
  'peers outside trust: served with their real address; a header from them closes (default) or is served unread',
  async t => {
    const { port, log } = await httpApp(t)
    const direct = await raw({ port, from: '127.0.0.2', chunks: [GET('/direct')] })
    t.match(bodies(direct.data)[0], /^\/direct 127\.0\.0\.2:/)
    const spoof = await raw({ port, from: '127.0.0.2', chunks: bytes(Buffer.from(V1 + GET('/spoof'))), pause: true })
    t.equal(spoof.data.length, 0, 'closed without an answer')
    t.equal(log.entries.at(-1)!.obj.peer, '127.0.0.2')
    t.same((log.entries.at(-1)!.obj.proxyProtocol as { reason: string }).reason, 'untrusted-header')
    const v2spoof = await raw({ port, from: '127.0.0.2', chunks: [v2()] })
    t.equal(v2spoof.data.length, 0)
    const served = await httpApp(t, { untrusted: 'serve' })
    const unread = await raw({ port: served.port, from: '127.0.0.2', chunks: [V1 + GET('/spoof')] })
    t.match(unread.data.toString(), /^HTTP\/1\.1 400 Bad Request/, "Node's HTTP parser refuses the stray header")
    const fine = await raw({ port: served.port, from: '127.0.0.2', chunks: [GET('/direct')] })
    t.match(bodies(fine.data)[0], /^\/direct 127\.0\.0\.2:/)
    t.equal(served.log.entries.length, 0)
  },
)

t.test('a trust function is asked on every connection (its verdict is not remembered)', async t => {
  let allow = true
  const { port } = await httpApp(t, { trust: (address: string) => allow && address === '127.0.0.1' })
  const served = await raw({ port, chunks: [V1 + GET('/1')] })
  t.same(bodies(served.data), ['/1 203.0.113.7:41000 IPv4 PROXY 127.0.0.1'])
  allow = false
  const refused = await raw({ port, chunks: [V1 + GET('/2')] })
  t.equal(refused.data.length, 0, 'the same peer, no longer trusted: its header closes the connection')
  allow = true
  const again = await raw({ port, chunks: [V1 + GET('/3')] })
  t.same(bodies(again.data), ['/3 203.0.113.7:41000 IPv4 PROXY 127.0.0.1'])
})

t.test('every rejection closes before the server sees a byte, and is logged with its reason and the peer', async t => {
  const hits: string[] = []
  const log = recorder()
  let connections = 0
  const start = async (timeouts: { headerTimeout?: number }) => {
    const server = proxyProtocol(
      http.createServer((req, res) => {
        hits.push(req.url!)
        res.end()
      }),
      { trust: '127.0.0.1', logger: log, ...timeouts },
    )
    server.on('connection', () => connections++)
    return listen(t, server)
  }
  // the timeout cases on a 100 ms timer; the others with the default (5 s):
  // a loaded machine that stalls 100 ms between accepting a connection and
  // reading its bytes would otherwise see them time out
  const port = await start({})
  const quick = await start({ headerTimeout: 100 })
  const cases: Array<[string, Array<string | Buffer>, boolean]> = [
    ['missing-header', [GET('/no-header')], false],
    ['missing-header', [Buffer.from([0x16, 0x03, 0x01, 0x00])], false],
    ['v1-syntax', ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n' + GET('/x')], false],
    ['v1-too-long', ['PROXY UNKNOWN ' + 'x'.repeat(100)], false],
    ['v1-address', ['PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n' + GET('/x')], false],
    ['v1-port', ['PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n' + GET('/x')], false],
    ['v2-version', [v2({ verCmd: 0x11 })], false],
    ['v2-command', [v2({ verCmd: 0x23 })], false],
    ['v2-family', [v2({ fam: 0x44 })], false],
    ['v2-too-large', [v2({ tlvs: [[0x04, Buffer.alloc(5000)]] })], false],
    ['v2-address-length', [v2({ addr: Buffer.alloc(4) })], false],
    ['v2-tlv', [v2({ tlvs: [[0x20, Buffer.alloc(2)]] })], false],
    ['v2-crc32c', [v2({ tlvs: [[0x20, sslValue(1, 0, [[0x21, 'TLSv1.3']])]], crc: 1 })], false],
    ['incomplete', [V1.slice(0, 20)], true],
    ['timeout', [V1.slice(0, 20)], false],
    ['timeout', [], false], // connected, silent
  ]
  for (const [reason, chunks, end] of cases) {
    const before = log.entries.length
    const { data } = await raw({ port: reason === 'timeout' ? quick : port, chunks, end })
    t.equal(data.length, 0, `${reason}: closed without an answer`)
    t.equal(log.entries.length, before + 1, `${reason}: one warning`)
    const entry = log.entries.at(-1)!
    t.equal((entry.obj.proxyProtocol as { reason: string }).reason, reason)
    t.equal(entry.obj.peer, '127.0.0.1')
    t.match(entry.msg, `(${reason})`)
  }
  t.same(hits, [], 'the server never saw a request')
  t.equal(connections, 0, 'nor a connection')
  // a bare connect-and-close (a port check) is closed quietly
  const before = log.entries.length
  await raw({ port, chunks: [], end: true })
  t.equal(log.entries.length, before)
})

t.test('socket errors during the header, and Unix-socket peers (trustUnixSocket)', async t => {
  const log = recorder()
  const seen: unknown[] = []
  const server = proxyProtocol(
    net.createServer(s => seen.push(proxyProtocolOf(s)?.source ?? s)),
    { trust: '127.0.0.1', trustUnixSocket: true, logger: log },
  )
  // a real Unix socket (no address, trusted) that fails in the middle of the header
  const [failing, failingClient] = await unixPeer()
  // (unixPeer's sockets do not keep the process alive: these must, until used)
  failing.ref()
  server.emit('connection', failing)
  failingClient.write('PROXY TCP4 ')
  await once(failing, 'readable')
  failing.destroy(new Error('boom'))
  await new Promise(r => failing.once('close', r))
  t.same(
    log.entries.map(e => [(e.obj.proxyProtocol as { reason: string }).reason, e.obj.peer]),
    [['socket-error', undefined]],
  )
  const [good, goodClient] = await unixPeer()
  good.ref()
  server.emit('connection', good)
  goodClient.write(V1)
  while (seen.length === 0) await new Promise(r => setImmediate(r))
  t.same(seen, [{ address: '203.0.113.7', port: 41000 }])
  good.destroy()
  // a stream without an address that is no Unix socket is closed, unread and unlogged
  const fake = new PassThrough()
  server.emit('connection', fake)
  t.equal(fake.destroyed, true)
  t.equal(log.entries.length, 1)
  // without trustUnixSocket, a Unix-socket peer is untrusted: served unread
  const plain = proxyProtocol(
    net.createServer(s => seen.push(s)),
    { trust: '127.0.0.1', untrusted: 'serve' },
  )
  const [other] = await unixPeer()
  plain.emit('connection', other)
  t.equal(seen.at(-1), other)
  plain.emit('connection', fake)
  t.equal(seen.at(-1), other, 'the fake stream is not served')
})

t.test('other events pass through; bad options throw at startup', async t => {
  const server = proxyProtocol(net.createServer(), { trust: 'loopback' })
  let listening = false
  server.on('listening', () => {
    listening = true
  })
  server.emit('listening')
  t.equal(listening, true)
  const bad: Array<[unknown, string]> = [
    [undefined, 'trust'],
    [{}, 'trust'],
    [{ trust: 1 }, 'trust'],
    [{ trust: 'nonsense' }, 'trust'],
    [{ trust: 'loopback', untrusted: 'ignore' }, 'untrusted'],
    [{ trust: 'loopback', headerTimeout: 0 }, 'headerTimeout'],
    [{ trust: 'loopback', headerTimeout: 1.5 }, 'headerTimeout'],
    [{ trust: 'loopback', maxHeaderBytes: 100 }, 'maxHeaderBytes'],
    [{ trust: 'loopback', maxHeaderBytes: 70000 }, 'maxHeaderBytes'],
    [{ trust: 'loopback', logger: {} }, 'logger'],
    [{ trust: 'loopback', timeout: 5 }, 'timeout'],
  ]
  for (const [options, option] of bad) {
    t.throws(
      () => proxyProtocol(net.createServer(), options as ProxyProtocolOptions),
      { name: 'ProxyAwareConfigError', option },
      JSON.stringify(options),
    )
  }
  t.throws(() => proxyProtocol(server, { trust: 'loopback' }), { option: 'server', message: /twice/ })
  t.throws(
    () => proxyProtocol({} as net.Server, { trust: 'loopback' }),
    new ProxyAwareConfigError('server', 'must be a net, http, https, tls or http2 server, got {}'),
  )
  t.equal(proxyProtocolOf(null), undefined)
  t.equal(proxyProtocolOf({}), undefined)
})

t.test(
  "Fastify (serverFactory) and Express: request.proxyProtocol, and the header's source as the trust engine's peer",
  async t => {
    const fastify = Fastify({
      serverFactory: handler => proxyProtocol(http.createServer(handler), { trust: '127.0.0.1' }),
    })
    await fastify.register(fastifyTrustProxy, { trust: '203.0.113.0/24' })
    fastify.get('/', req => `${req.ip} ${req.proxyProtocol?.source?.address} ${req.proxyProtocol?.peer.address}`)
    await fastify.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => fastify.close())
    const fport = (fastify.server.address() as AddressInfo).port
    const xff = 'GET / HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 198.51.100.9\r\nConnection: close\r\n\r\n'
    t.same(
      bodies((await raw({ port: fport, chunks: [V1 + xff] })).data),
      ['198.51.100.9 203.0.113.7 127.0.0.1'],
      'the CDN (header source) is trusted: its X-Forwarded-For counts',
    )
    t.same(
      bodies((await raw({ port: fport, chunks: ['PROXY TCP4 192.0.2.66 198.51.100.2 1 2\r\n' + xff] })).data),
      ['192.0.2.66 192.0.2.66 127.0.0.1'],
      'any other client cannot spoof',
    )
    t.equal((await fastify.inject('/')).body, '127.0.0.1 undefined undefined', 'no header: undefined')

    const app = express()
    app.use(expressTrustProxy({ trust: '203.0.113.0/24' }))
    app.get('/', (req, res) => {
      res.send(`${req.ip} ${req.proxyProtocol?.version}`)
    })
    const eport = await listen(t, proxyProtocol(http.createServer(app), { trust: '127.0.0.1' }))
    t.same(bodies((await raw({ port: eport, chunks: [V1 + xff] })).data), ['198.51.100.9 1'])
  },
)

t.test('a client behind proxyProtocol sending X-Forwarded-For is not called a proxy to trust', async t => {
  const log = recorder()
  const app = express()
  app.use(expressTrustProxy({ trust: '203.0.113.0/24', logger: log }))
  app.get('/', (req, res) => {
    res.send(`${req.ip}`)
  })
  const port = await listen(t, proxyProtocol(http.createServer(app), { trust: '127.0.0.1', untrusted: 'serve' }))
  const xff = 'GET / HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 198.51.100.9\r\nConnection: close\r\n\r\n'
  // a private-range client, relayed by the balancer's header
  t.same(bodies((await raw({ port, chunks: ['PROXY TCP4 10.1.2.3 198.51.100.2 1 2\r\n' + xff] })).data), ['10.1.2.3'])
  t.same(log.entries, [], 'no advice to trust 10.1.2.3: it is a client')
  // the same from a local peer without a header (served as it is) is the forgotten proxy
  t.same(bodies((await raw({ port, from: '127.0.0.6', chunks: [xff] })).data), ['127.0.0.6'])
  t.match(log.entries, [{ obj: { code: 'PROXY_AWARE_UNTRUSTED_PROXY', peer: '127.0.0.6' } }])
})

t.test('trust values that believe everyone warn at startup, as the plugin does', async t => {
  const warnings: string[] = []
  const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code} ${w.message}`)
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const everyone: ProxyProtocolOptions['trust'][] = [
    true,
    () => true,
    (_a: string, i: number) => i < 1,
    '0.0.0.0/1,128.0.0.0/1',
  ]
  for (const trust of everyone) proxyProtocol(net.createServer(), { trust })
  for (const trust of ['loopback', '10.0.0.0/8', '0.0.0.0/1', (a: string) => a === '10.0.0.1'])
    proxyProtocol(net.createServer(), { trust })
  await new Promise(r => setImmediate(r))
  t.equal(warnings.length, everyone.length, warnings.join('\n'))
  t.match(
    warnings[0],
    /^PROXY_AWARE_PROXY_PROTOCOL_TRUST_ALL proxy-aware: proxyProtocol trust: true trusts every address/,
  )
  t.match(warnings[3], /trust: "0\.0\.0\.0\/1,128\.0\.0\.0\/1" trusts every address/)
})

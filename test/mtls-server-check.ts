// assertClientCertServer: empty ca values and shared ticket keys, over
// real TLS servers.
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import https from 'node:https'
import tls from 'node:tls'
import t from 'tap'
import trustProxy from '../src/fastify.js'
import {
  assertClientCertServer,
  clientCertErrorOf,
  clientCertOf,
  createTrustProxy,
  ProxyAwareConfigError,
} from '../src/index.js'
import { certs, tlsServerOptions } from './support/certs.js'
import { listen } from './support/http.js'

const c = certs()

t.test('an empty ca is no ca', async t => {
  for (const ca of ['', Buffer.alloc(0), [''], [Buffer.alloc(0), ''], []]) {
    const options = tlsServerOptions({ ca })
    t.throws(
      () => assertClientCertServer(options),
      { name: 'ProxyAwareConfigError', message: /option "clientCert" needs an explicit ca/ },
      `options, ca: ${JSON.stringify(ca)}`,
    )
    t.throws(
      () => assertClientCertServer(https.createServer(options)),
      ProxyAwareConfigError,
      `server, ca: ${JSON.stringify(ca)}`,
    )
  }
  for (const ca of [c.root.cert, Buffer.from(c.root.cert), ['', c.root.cert]]) {
    const options = tlsServerOptions({ ca })
    t.equal(assertClientCertServer(options), options, 'a ca with a certificate is accepted')
  }
})

t.test('ticketKeys need an explicit sessionIdContext', async t => {
  const ticketKeys = randomBytes(48)
  const message =
    /option "clientCert" needs an explicit sessionIdContext, unique to this ca, on a TLS server with ticketKeys: servers sharing ticket keys resume each other's sessions/
  for (const sessionIdContext of [undefined, '']) {
    const options = tlsServerOptions({ ticketKeys, sessionIdContext })
    t.throws(
      () => assertClientCertServer(options),
      { name: 'ProxyAwareConfigError', message },
      `options, sessionIdContext: ${sessionIdContext}`,
    )
    // a server always has one: Node's default, the same for every server of the process
    t.throws(
      () => assertClientCertServer(https.createServer(options)),
      { message },
      `server, sessionIdContext: ${sessionIdContext}`,
    )
  }
  for (const server of [
    tlsServerOptions({ ticketKeys, sessionIdContext: 'app-a' }),
    https.createServer(tlsServerOptions({ ticketKeys, sessionIdContext: 'app-a' })),
  ]) {
    t.equal(assertClientCertServer(server), server, 'explicit sessionIdContext')
  }
  const noKeys = https.createServer(tlsServerOptions())
  t.equal(assertClientCertServer(noKeys), noKeys, 'no ticketKeys: every server has its own random keys')

  const app = Fastify({ https: tlsServerOptions({ ticketKeys }) })
  t.teardown(() => app.close())
  await t.rejects(
    async () => {
      await app.register(trustProxy, { trust: 'loopback', clientCert: {} })
    },
    { name: 'ProxyAwareConfigError', message },
  )
})

t.test("servers sharing ticketKeys with their own sessionIdContext do not resume each other's sessions", async t => {
  const ticketKeys = randomBytes(48)
  const server = async (ca: string, sessionIdContext: string) => {
    const proxy = createTrustProxy({ trust: 'loopback', clientCert: { mode: 'optional' } })
    const srv = https.createServer(
      assertClientCertServer(tlsServerOptions({ ca: [ca], ticketKeys, sessionIdContext })),
      (req, res) => {
        if (proxy.handle(req, res)) return
        res.end(clientCertOf(req)?.commonNames[0] ?? clientCertErrorOf(req)!.reason)
      },
    )
    const port = await listen(t, srv)
    return port
  }
  const a = await server(c.root.cert, 'trusts-root')
  const b = await server(c.otherRoot.cert, 'trusts-other-root')
  const request = (port: number, options: tls.ConnectionOptions) =>
    new Promise<{ body: string; session: Buffer | undefined; reused: boolean }>((resolve, reject) => {
      let session: Buffer | undefined
      const socket = tls.connect(
        { host: '127.0.0.1', port, servername: 'localhost', ca: c.root.cert, ...options },
        () => {
          socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
        },
      )
      socket.on('session', s => {
        session = s
      })
      let data = ''
      socket.setEncoding('utf8')
      socket.on('data', d => (data += d))
      socket.on('end', () => resolve({ body: data.split('\r\n\r\n')[1]!, session, reused: socket.isSessionReused() }))
      socket.on('error', reject)
    })
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const pin = { minVersion: version, maxVersion: version }
    const first = await request(a, { ...pin, cert: c.chainOf(c.valid), key: c.valid.key })
    t.equal(first.body, 'client-one', `${version}: accepted by the server trusting its CA`)
    t.ok(first.session, `${version}: the client got a session`)
    const resumedA = await request(a, { ...pin, session: first.session })
    t.equal(resumedA.reused, true, `${version}: the same server resumes it`)
    t.equal(resumedA.body, 'client-one', `${version}: with the certificate`)
    const resumedB = await request(b, { ...pin, session: first.session })
    t.equal(resumedB.reused, false, `${version}: the other server does not resume it`)
    t.equal(resumedB.body, 'missing', `${version}: and sees no certificate`)
  }
})

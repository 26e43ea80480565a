import t from 'tap'
import { randomBytes } from 'node:crypto'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { SecureVersion, Server } from 'node:tls'
import Fastify from 'fastify'
import { assertClientCertServer } from '../src/index.js'
import trustProxy from '../src/fastify.js'
import { tlsOptions, watchTls } from '../src/tls/index.js'
import { pki } from './fixtures/tls-pki.js'
import { APPLIED, connect, tlsDir, tlsServer } from './fixtures/tls-watch-helpers.js'

const a = pki('Client CA A')
const b = pki('Client CA B')
const server1 = a.issue('server', 'server')
const clientA = a.issue('client-a', 'client')
const clientB = b.issue('client-b', 'client')
const trustServer = a.ca.cert

for (const version of ['TLSv1.2', 'TLSv1.3'] as SecureVersion[]) {
  for (const rotateTicketKeys of [true, false]) {
    t.test(
      `${version}, rotateTicketKeys ${rotateTicketKeys}: a session from the old CA is not resumed after the CA changes`,
      async t => {
        const d = tlsDir(t)
        d.write('tls.key', server1.key)
        d.write('tls.crt', server1.cert)
        d.write('ca.crt', a.ca.cert)
        // shared ticket keys (a fleet) when the watcher does not rotate them: the sessionIdContext alone must hold
        const ticketKeys = rotateTicketKeys ? {} : { ticketKeys: randomBytes(48) }
        const { server, port } = await tlsServer(t, {
          ...tlsOptions({ key: server1.key, cert: server1.cert, ca: a.ca.cert, clientCert: 'optional' }),
          ...ticketKeys,
        })
        const w = watchTls(server, { ...d.files, debounce: 10, rotateTicketKeys })
        t.teardown(() => w.close())
        await w.ready
        const o = { minVersion: version, maxVersion: version }
        const first = await connect(port, trustServer, clientA, o)
        t.equal(first.authorized, true)
        t.ok(first.session, 'the server issued a session')
        // control: before the rotation the session resumes
        const control = await connect(port, trustServer, clientA, { ...o, session: first.session! })
        t.equal(control.reused, true, 'resumed under the same CA')
        t.equal(control.authorized, true)

        const keys = (server as Server).getTicketKeys()
        const context = (server as unknown as { sessionIdContext: string }).sessionIdContext
        d.write('ca.crt', b.ca.cert)
        t.match(await w.reload(), APPLIED)
        t.not(
          (server as unknown as { sessionIdContext: string }).sessionIdContext,
          context,
          'sessionIdContext changed with the CA',
        )
        t.equal((server as Server).getTicketKeys().equals(keys), !rotateTicketKeys, 'ticket keys rotated when asked')
        t.doesNotThrow(() => assertClientCertServer(server), 'the resumption guard holds after the rotation')

        const after = await connect(port, trustServer, clientA, { ...o, session: first.session! })
        t.equal(after.reused, false, 'full handshake')
        t.equal(after.authorized, false, "the old CA's certificate is refused")
        t.equal((await connect(port, trustServer, clientB, o)).authorized, true, "the new CA's certificate is accepted")
      },
    )
  }
}

t.test("Fastify with clientCert: after the CA changes, the old CA's clients get 403, the new CA's 200", async t => {
  const d = tlsDir(t)
  d.write('tls.key', server1.key)
  d.write('tls.crt', server1.cert)
  d.write('ca.crt', a.ca.cert)
  const app = Fastify({
    https: tlsOptions({ key: server1.key, cert: server1.cert, ca: a.ca.cert, clientCert: 'optional' }),
  })
  await app.register(trustProxy, { trust: 'loopback', clientCert: { mode: 'required' } })
  app.get('/', req => req.clientCert!.san.uri)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const w = watchTls(app.server as unknown as Server, { ...d.files, debounce: 10 })
  t.teardown(() => w.close())
  await w.ready
  const port = (app.server.address() as AddressInfo).port
  const status = (client: { cert: string; key: string }) =>
    new Promise<number>((resolve, reject) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port,
            ca: trustServer,
            servername: 'localhost',
            agent: false,
            cert: client.cert,
            key: client.key,
          },
          res => {
            res.resume()
            resolve(res.statusCode!)
          },
        )
        .on('error', reject)
    })
  t.equal(await status(clientA), 200)
  t.equal(await status(clientB), 403)
  d.write('ca.crt', b.ca.cert)
  t.match(await w.reload(), APPLIED)
  t.equal(await status(clientA), 403)
  t.equal(await status(clientB), 200)
})

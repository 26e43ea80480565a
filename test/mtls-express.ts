// Client certificates through the Express middleware, over real sockets.
import express from 'express'
import http from 'node:http'
import https from 'node:https'
import t from 'tap'
import { clientCertPolicy, trustProxy } from '../src/express.js'
import { assertClientCertServer, createTrustProxy } from '../src/index.js'
import { certs, rogueContextOptions, tlsServerOptions } from './support/certs.js'
import { urlPem } from './support/forwarded-certs.js'
import { listen, recorder, request } from './support/http.js'

const c = certs()
const nginx = (p = c.valid) => ({ 'x-ssl-client-cert': urlPem(p), 'x-ssl-client-verify': 'SUCCESS' })

function routes(app: express.Express, adminLog = recorder()) {
  const view = (req: express.Request, res: express.Response) => {
    res.json({ cn: req.clientCert?.commonNames[0] ?? null, error: req.clientCertError ?? null, headers: req.headers })
  }
  app.get('/', view)
  const admin = express.Router()
  admin.use(clientCertPolicy({ mode: 'required', allow: { commonName: ['client-one'] }, logger: adminLog }))
  admin.get('/', view)
  app.use('/admin', admin)
  const strict = express.Router()
  strict.use(clientCertPolicy({ allow: { commonName: ['someone-else'] }, status: 401 }))
  strict.get('/', view)
  app.use('/strict', strict)
  return adminLog
}

t.test('forwarded certificate, optional globally, required per router', async t => {
  const app = express()
  const log = recorder()
  app.use(
    trustProxy({ trust: '127.0.0.1', logger: log, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } }),
  )
  const adminLog = routes(app)
  const srv = http.createServer(app)
  const port = await listen(t, srv)

  const home = await request(port, { from: '127.0.0.1', headers: nginx() })
  t.equal(home.status, 200)
  t.equal(JSON.parse(home.body).cn, 'client-one')
  t.equal(home.headers['cache-control'], 'no-store')
  t.equal((await request(port, { from: '127.0.0.1', path: '/admin' })).status, 403, 'admin requires a certificate')
  t.equal(adminLog.entries[0]!.level, 'warn')
  t.same(adminLog.entries[0]!.obj.peer, '127.0.0.1')
  const admin = await request(port, { from: '127.0.0.1', path: '/admin', headers: nginx() })
  t.equal(admin.status, 200)
  t.equal(JSON.parse(admin.body).cn, 'client-one')
  const strict = await request(port, { from: '127.0.0.1', path: '/strict', headers: nginx() })
  t.equal(strict.status, 401, 'router allow-list and status')
  t.equal(strict.body, 'Unauthorized\n')
  const head = await request(port, { from: '127.0.0.1', path: '/strict', method: 'HEAD', headers: nginx() })
  t.equal(head.status, 401)
  t.equal(head.body, '')

  // an attacker connecting directly, from an address that is not the proxy
  const forged = await request(port, { from: '127.0.0.2', path: '/', headers: nginx() })
  t.equal(forged.status, 200)
  const body = JSON.parse(forged.body)
  t.equal(body.cn, null)
  t.equal(body.error.reason, 'missing')
  t.equal(body.headers['x-ssl-client-cert'], undefined, 'forged header deleted')
  t.equal(body.headers['x-ssl-client-verify'], undefined, 'forged header deleted')
  t.equal(
    (await request(port, { from: '127.0.0.2', path: '/admin', headers: nginx() })).status,
    403,
    'forged certificate cannot reach admin',
  )

  const malformed = await request(port, {
    from: '127.0.0.1',
    headers: { 'x-ssl-client-cert': '%ZZ', 'x-ssl-client-verify': 'SUCCESS' },
  })
  t.equal(malformed.status, 400)
  const headMalformed = await request(port, {
    from: '127.0.0.1',
    method: 'HEAD',
    headers: { 'x-ssl-client-cert': '%ZZ', 'x-ssl-client-verify': 'SUCCESS' },
  })
  t.equal(headMalformed.status, 400)
  t.equal(headMalformed.body, '', 'HEAD gets no body')
  t.equal(
    log.entries.at(-1)!.obj.clientCert && (log.entries.at(-1)!.obj.clientCert as { reason: string }).reason,
    'malformed',
  )
  const failed = await request(port, { from: '127.0.0.1', headers: nginx(c.expired) })
  t.equal(JSON.parse(failed.body).error.reason, 'expired', 'global optional mode: recorded, not refused')
})

t.test('clientCertPolicy without clientCert on trustProxy fails closed', async t => {
  const app = express()
  app.use(trustProxy({ trust: '127.0.0.1' }))
  routes(app)
  const srv = http.createServer(app)
  const port = await listen(t, srv)
  t.equal((await request(port, { path: '/admin', headers: nginx() })).status, 403)
  t.equal(JSON.parse((await request(port)).body).cn, null)
})

t.test('clientCertPolicy without trustProxy at all fails closed', async t => {
  const app = express()
  routes(app)
  const srv = http.createServer(app)
  const port = await listen(t, srv)
  t.equal((await request(port, { path: '/admin', headers: nginx() })).status, 403)
})

t.test('clientCertPolicy options are validated when it is created', async t => {
  t.throws(() => clientCertPolicy(null as never), {
    name: 'ProxyAwareConfigError',
    message: /option "clientCertPolicy" must be an object/,
  })
  t.throws(() => clientCertPolicy({ mode: 'always' } as never), {
    message: /option "clientCertPolicy.mode" must be 'required' or 'optional', got "always"/,
  })
  t.throws(() => clientCertPolicy({ forwarded: {} } as never), {
    message: /option "clientCertPolicy.forwarded" is not a known option/,
  })
})

t.test("mTLS terminated by the Express app's https server", async t => {
  const app = express()
  app.use(trustProxy({ trust: 'loopback', clientCert: { mode: 'optional' } }))
  routes(app)
  const srv = https.createServer(assertClientCertServer(tlsServerOptions()), app)
  const port = await listen(t, srv)
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    t.equal(
      JSON.parse((await request(port, { secure: true, client: c.valid, tls: version })).body).cn,
      'client-one',
      version,
    )
    t.equal(JSON.parse((await request(port, { secure: true, tls: version })).body).error.reason, 'missing', version)
    t.equal((await request(port, { secure: true, path: '/admin', client: c.valid, tls: version })).status, 200, version)
    t.equal((await request(port, { secure: true, path: '/admin', tls: version })).status, 403, version)
    t.equal(
      (await request(port, { secure: true, path: '/admin', client: c.wrongCa, tls: version })).status,
      403,
      version,
    )
    t.equal(
      (await request(port, { secure: true, path: '/admin', client: c.notYetValid, tls: version })).status,
      403,
      version,
    )
  }
})

t.test('Express: an SNI context trusting another CA does not widen the server ca', async t => {
  const app = express()
  app.use(trustProxy({ trust: 'loopback', clientCert: { mode: 'optional' } }))
  routes(app)
  const srv = https.createServer(assertClientCertServer(tlsServerOptions()), app)
  srv.addContext('rogue.test', rogueContextOptions())
  const port = await listen(t, srv)
  const res = await request(port, { secure: true, client: c.wrongCa, servername: 'rogue.test' })
  t.match(
    JSON.parse(res.body).error,
    { reason: 'untrusted', detail: /configured CA/ },
    'not attached through the SNI context',
  )
  t.equal(
    (await request(port, { secure: true, path: '/admin', client: c.wrongCa, servername: 'rogue.test' })).status,
    403,
  )
  t.equal(
    (await request(port, { secure: true, path: '/admin', client: c.valid, servername: 'rogue.test' })).status,
    200,
  )
})

t.test('a clientCert refusal over https carries HSTS (Express and the core handle(), as on Fastify)', async t => {
  const options = {
    trust: '127.0.0.1',
    hsts: { maxAge: 600 },
    clientCert: { mode: 'required' as const, forwarded: { source: 'nginx' as const } },
  }
  const app = express()
  app.use(trustProxy(options))
  app.get('/', (_req, res) => {
    res.end('ok')
  })
  const proxy = createTrustProxy(options)
  const core = http.createServer((req, res) => {
    if (proxy.handle(req, res)) return
    res.end('ok')
  })
  for (const [name, srv] of [
    ['express', http.createServer(app)],
    ['core', core],
  ] as const) {
    const port = await listen(t, srv)
    const refused = await request(port, {
      from: '127.0.0.1',
      headers: { 'host': 'app.example', 'x-forwarded-proto': 'https' },
    })
    t.equal(refused.status, 403, `${name}: no certificate, refused`)
    t.equal(
      refused.headers['strict-transport-security'],
      'max-age=600; includeSubDomains',
      `${name}: the refusal carries HSTS`,
    )
    const ok = await request(port, {
      from: '127.0.0.1',
      headers: { 'host': 'app.example', 'x-forwarded-proto': 'https', ...nginx() },
    })
    t.equal(ok.status, 200, `${name}: with a certificate`)
    t.equal(ok.headers['strict-transport-security'], 'max-age=600; includeSubDomains')
    const plain = await request(port, { from: '127.0.0.1', headers: { host: 'app.example' } })
    t.equal(plain.headers['strict-transport-security'], undefined, `${name}: no HSTS over http`)
  }
})

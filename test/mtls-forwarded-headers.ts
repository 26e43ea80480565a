// Forwarded client-certificate headers over real sockets: forged ones are
// deleted from every view of the headers, only the configured source's and
// mode's headers are read. The trusted proxy is 127.0.0.1, an untrusted
// client connects from 127.0.0.2. Their options: mtls-forwarded-config.ts.
import express from 'express'
import http from 'node:http'
import t, { type Test } from 'tap'
import { trustProxy } from '../src/express.js'
import { clientCertErrorOf, clientCertOf, createTrustProxy, type ClientCertPolicy } from '../src/index.js'
import { certs } from './support/certs.js'
import { albPem, urlPem } from './support/forwarded-certs.js'
import { listen, recorder, request } from './support/http.js'

const c = certs()
const TRUSTED = '127.0.0.1'
const UNTRUSTED = '127.0.0.2'

/** the part of a tap test the helpers use */
type T = Pick<Test, 'teardown'>

const serve = (t: T, handler: http.RequestListener) => listen(t, http.createServer(handler))

const forged = { 'X-SSL-Client-Cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS', 'x-other': 'kept' }

/** what the app sees of the request's headers, by every accessor */
const view = (req: http.IncomingMessage) => ({
  cn: clientCertOf(req)?.commonNames[0] ?? null,
  error: clientCertErrorOf(req)?.reason ?? null,
  headers: req.headers,
  distinct: req.headersDistinct,
  raw: req.rawHeaders,
})

const checkStripped = (t: Test, body: ReturnType<typeof view>, name: string) => {
  t.equal(body.cn, null, `${name}: no certificate`)
  t.equal(body.error, 'missing', `${name}: reason`)
  for (const h of ['x-ssl-client-cert', 'x-ssl-client-verify']) {
    t.equal(body.headers[h], undefined, `${name}: ${h} deleted from headers`)
    t.equal(body.distinct[h], undefined, `${name}: ${h} deleted from headersDistinct`)
    t.notOk(
      body.raw.some(r => r.toLowerCase() === h),
      `${name}: ${h} deleted from rawHeaders`,
    )
  }
  t.equal(body.headers['x-other'], 'kept', `${name}: other headers kept`)
  t.same(body.distinct['x-other'], ['kept'], `${name}: other headers kept in headersDistinct`)
  t.same(
    body.raw
      .filter((_, i) => i % 2 === 0)
      .map(r => r.toLowerCase())
      .sort(),
    Object.keys(body.headers).sort(),
    `${name}: rawHeaders match headers`,
  )
}

t.test('stripping forged headers keeps headersDistinct consistent (plain handler)', async t => {
  const policy: ClientCertPolicy = { mode: 'optional', forwarded: { source: 'nginx' } }
  for (const before of [false, true]) {
    const name = before ? 'headersDistinct read before' : 'headersDistinct read after only'
    const proxy = createTrustProxy({ trust: TRUSTED, clientCert: policy })
    const port = await serve(t, (req, res) => {
      if (before) void req.headersDistinct
      if (proxy.handle(req, res)) return
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(view(req)))
    })
    const res = await request(port, { from: UNTRUSTED, headers: forged })
    t.equal(res.status, 200, `${name}: no 500`)
    checkStripped(t, JSON.parse(res.body), name)
    const trusted = JSON.parse((await request(port, { from: TRUSTED, headers: forged })).body)
    t.equal(trusted.cn, 'client-one', `${name}: accepted from the proxy`)
    t.same(trusted.distinct['x-ssl-client-verify'], ['SUCCESS'], `${name}: the proxy's headers are left`)
  }
})

t.test('stripping forged headers keeps headersDistinct consistent (Express)', async t => {
  for (const before of [false, true]) {
    const name = before ? 'Express, middleware reads headersDistinct first' : 'Express, read in the route'
    const app = express()
    // e.g. a logging or tracing middleware
    if (before)
      app.use((req, _res, next) => {
        void req.headersDistinct
        next()
      })
    app.use(trustProxy({ trust: TRUSTED, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } }))
    app.get('/', (req, res) => {
      res.json(view(req))
    })
    const port = await serve(t, app)
    const res = await request(port, { from: UNTRUSTED, headers: forged })
    t.equal(res.status, 200, `${name}: no 500`)
    checkStripped(t, JSON.parse(res.body), name)
  }
})

t.test('a request with no certificate headers is left alone', async t => {
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } })
  const port = await serve(t, (req, res) => {
    if (proxy.handle(req, res)) return
    res.end(JSON.stringify(view(req)))
  })
  const body = JSON.parse((await request(port, { from: UNTRUSTED, headers: { 'x-other': 'kept' } })).body)
  t.same(body.distinct['x-other'], ['kept'])
  t.equal(body.raw.length, Object.keys(body.headers).length * 2)
})

t.test('trust: [] with forwarded reads no certificate', async t => {
  const proxy = createTrustProxy({ trust: [], clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } })
  const port = await serve(t, (req, res) => {
    if (proxy.handle(req, res)) return
    res.end(JSON.stringify(view(req)))
  })
  const body = JSON.parse((await request(port, { from: TRUSTED, headers: forged })).body)
  t.equal(body.cn, null)
  t.equal(body.headers['x-ssl-client-verify'], undefined)
})

t.test("aws-alb reads only the configured mode's header", async t => {
  const verify: ClientCertPolicy = { mode: 'optional', forwarded: { source: 'aws-alb', mode: 'verify' } }
  const passthrough: ClientCertPolicy = {
    mode: 'optional',
    forwarded: { source: 'aws-alb', mode: 'passthrough', ca: c.root.cert },
  }
  const leaf = (pem: string) => ({ 'x-amzn-mtls-clientcert-leaf': albPem(pem) })
  const chain = (pem: string) => ({ 'x-amzn-mtls-clientcert': albPem(pem) })
  const cases: [string, ClientCertPolicy, Record<string, string>, number, string][] = [
    ['verify: the leaf', verify, leaf(c.valid.cert), 200, 'client-one'],
    [
      'verify: a client-sent passthrough header with a self-signed certificate',
      verify,
      chain(c.selfSigned.cert),
      400,
      'malformed',
    ],
    ['verify: both headers', verify, { ...leaf(c.valid.cert), ...chain(c.valid.cert) }, 400, 'malformed'],
    ['passthrough: the chain', passthrough, chain(c.valid.cert + c.intermediate.cert), 200, 'client-one'],
    // without ca this was accepted: the leaf header was read as "verified by the ALB"
    [
      'passthrough: a self-signed leaf header beside the chain',
      passthrough,
      { ...leaf(c.selfSigned.cert), ...chain(c.valid.cert + c.intermediate.cert) },
      400,
      'malformed',
    ],
    ['passthrough: a self-signed leaf header alone', passthrough, leaf(c.selfSigned.cert), 400, 'malformed'],
    ['passthrough: a self-signed chain', passthrough, chain(c.selfSigned.cert), 200, 'untrusted'],
    ['passthrough: nothing', passthrough, {}, 200, 'missing'],
  ]
  for (const [name, policy, headers, status, expect] of cases) {
    const log = recorder()
    const proxy = createTrustProxy({ trust: TRUSTED, clientCert: policy })
    const port = await serve(t, (req, res) => {
      if (proxy.handle(req, res, log)) return
      res.end(JSON.stringify(view(req)))
    })
    const res = await request(port, { from: TRUSTED, headers })
    t.equal(res.status, status, `${name}: status`)
    if (status === 400) {
      const logged = log.entries[0]?.obj.clientCert as { reason: string; detail: string } | undefined
      t.equal(logged?.reason, expect, `${name}: reason`)
      t.match(logged?.detail, /is not sent in (verify|passthrough) mode/, `${name}: detail`)
    } else {
      const body = JSON.parse(res.body)
      t.equal(body.cn ?? body.error, expect, name)
    }
  }
})

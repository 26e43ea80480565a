// Client certificates on whichever runtime runs this file: a TLS server
// set up correctly for clientCert (requestCert and an explicit ca) is
// accepted on Node, and refused at startup on Bun and Deno with an error
// naming the runtime (never one blaming the configuration); the same for
// the Fastify plugin on an https server. Certificates forwarded by a
// trusted proxy (clientCert.forwarded) are verified on Node and Bun, and
// refused at startup on Deno, naming it (its X509Certificate.keyUsage
// differs from Node's).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import express from 'express'
import Fastify from 'fastify'
import { assertClientCertServer, createTrustProxy } from '../../dist/esm/index.js'
import trustProxyFastify from '../../dist/esm/fastify.js'
import { trustProxy as trustProxyExpress } from '../../dist/esm/express.js'
import { CLIENT, PROXY, check, isBun, isDeno, listen, raw, runtime } from './harness.mjs'

const key = fs.readFileSync(new URL('../fixtures/https-key.pem', import.meta.url))
const cert = fs.readFileSync(new URL('../fixtures/https-cert.pem', import.meta.url))
const TLS = { key, cert, ca: cert, requestCert: true, rejectUnauthorized: false }
const refused = isBun || isDeno
const naming = {
  name: 'ProxyAwareConfigError',
  message: new RegExp(`on ${runtime.replaceAll('.', '\\.')}: its node:tls server does not expose the ca`),
}

check(
  `assertClientCertServer on a correctly set up https server: ${refused ? 'refused naming the runtime' : 'accepted'}`,
  async () => {
    const server = https.createServer(TLS)
    if (refused) assert.throws(() => assertClientCertServer(server), naming)
    else assert.equal(assertClientCertServer(server), server)
  },
)

check(`fastify https with clientCert: ${refused ? 'refused at startup naming the runtime' : 'starts'}`, async () => {
  const app = Fastify({ https: TLS })
  // the plugin is async: its startup error rejects ready()
  app.register(trustProxyFastify, { trust: '127.0.0.2', clientCert: { mode: 'required' } })
  const error = await app.ready().then(
    () => undefined,
    e => e,
  )
  if (refused) assert.match(String(error?.message), naming.message)
  else assert.equal(error, undefined)
  await app.close().catch(() => {})
})

check(
  `trustCertificate through the core and Express: ${refused ? 'refused at startup naming the runtime' : 'compiles'}`,
  async () => {
    const options = { trust: [], trustCertificate: { dns: ['proxy.internal'] } }
    if (refused) {
      assert.throws(() => createTrustProxy(options), naming)
      assert.throws(() => trustProxyExpress(options), naming)
    } else {
      assert.equal(typeof createTrustProxy(options).resolve, 'function')
      assert.equal(typeof trustProxyExpress(options), 'function')
    }
  },
)

/** A CA and a client certificate it issued (openssl), as PEM. */
const pki = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runtimes-pki-'))
  const f = name => path.join(dir, name)
  const ssl = args => execFileSync('openssl', args, { stdio: 'pipe' })
  ssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=Runtime CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ])
  ssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    f('client.key'),
    '-out',
    f('client.csr'),
    '-subj',
    '/CN=client',
  ])
  fs.writeFileSync(
    f('ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://example.org/web\n',
  )
  ssl([
    'x509',
    '-req',
    '-in',
    f('client.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('client.pem'),
    '-days',
    '1',
    '-extfile',
    f('ext'),
  ])
  const read = name => fs.readFileSync(f(name), 'utf8')
  const out = { ca: read('ca.pem'), client: read('client.pem') }
  fs.rmSync(dir, { recursive: true, force: true })
  return out
}

if (isDeno) {
  check('clientCert.forwarded refuses to start on Deno, naming Deno', async () => {
    const { ca } = pki()
    assert.throws(() => trustProxyExpress({ trust: PROXY, clientCert: { forwarded: { source: 'rfc9440', ca } } }), {
      name: 'ProxyAwareConfigError',
      message: new RegExp(
        `"clientCert.forwarded" cannot verify client certificates on ${runtime.replaceAll('.', '\\.')}: its node:crypto X509Certificate.keyUsage`,
      ),
    })
  })
} else
  check('clientCert.forwarded (RFC 9440 Client-Cert from a trusted proxy, verified against forwarded.ca)', async () => {
    const { ca, client } = pki()
    const der = new X509Certificate(client).raw.toString('base64')
    const app = express()
    app.use(trustProxyExpress({ trust: PROXY, clientCert: { mode: 'optional', forwarded: { source: 'rfc9440', ca } } }))
    app.get('/', (req, res) => res.end(JSON.stringify(req.clientCert?.san.uri ?? req.clientCertError ?? null)))
    const { port, close } = await listen(http.createServer(app))
    try {
      const ok = await raw(port, { from: PROXY, headers: { 'client-cert': `:${der}:` } })
      assert.equal(ok.status, 200)
      assert.deepEqual(JSON.parse(ok.body), ['spiffe://example.org/web'])
      assert.equal(JSON.parse((await raw(port, { from: PROXY })).body).reason, 'missing', 'no certificate')
      const forged = await raw(port, { from: CLIENT, headers: { 'client-cert': `:${der}:` } })
      assert.equal(JSON.parse(forged.body).reason, 'missing', 'from an untrusted peer: never read')
    } finally {
      await close()
    }
  })

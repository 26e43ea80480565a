// Client certificates on whichever runtime runs this file: a TLS server
// set up correctly for clientCert (requestCert and an explicit ca) is
// accepted on Node, and refused at startup on Bun and Deno with an error
// naming the runtime (never one blaming the configuration); the same for
// the Fastify plugin on an https server.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import https from 'node:https'
import Fastify from 'fastify'
import { assertClientCertServer } from '../../dist/esm/index.js'
import trustProxyFastify from '../../dist/esm/fastify.js'
import { check, isBun, isDeno, runtime } from './harness.mjs'

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

// Client IP and protocol (core, Fastify, Express) and the https redirect of
// a forged protocol, on whichever runtime runs this file.
import assert from 'node:assert/strict'
import http from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import { createTrustProxy } from '../../dist/esm/index.js'
import trustProxyFastify from '../../dist/esm/fastify.js'
import { trustProxy as trustProxyExpress } from '../../dist/esm/express.js'
import { CLIENT, PROXY, check, listen, raw, values } from './harness.mjs'

const FORWARDED = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' }
const who = JSON.stringify

/** The three apps, each answering `{ ip, protocol }` as JSON. */
const apps = {
  async core(options) {
    const proxy = createTrustProxy({ trust: PROXY, ...options })
    return listen(
      http.createServer((req, res) => {
        if (proxy.handle(req, res)) return
        const r = proxy.resolve(req)
        res.end(who({ ip: r.ip, protocol: r.protocol }))
      }),
    )
  },
  async fastify(options) {
    const app = Fastify()
    await app.register(trustProxyFastify, { trust: PROXY, ...options })
    app.get('/', async request => ({ ip: request.ip, protocol: request.protocol }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { port: app.server.address().port, close: () => app.close() }
  },
  async express(options) {
    const app = express()
    app.use(trustProxyExpress({ trust: PROXY, ...options }))
    app.get('/', (req, res) => res.end(who({ ip: req.ip, protocol: req.protocol })))
    return listen(http.createServer(app))
  },
}

for (const [name, start] of Object.entries(apps)) {
  check(`${name}: client IP and protocol from a trusted proxy, not from a client`, async () => {
    const { port, close } = await start({})
    try {
      const viaProxy = await raw(port, { from: PROXY, headers: FORWARDED })
      assert.equal(viaProxy.status, 200)
      assert.deepEqual(JSON.parse(viaProxy.body), { ip: '203.0.113.9', protocol: 'https' })
      const forged = await raw(port, { from: CLIENT, headers: FORWARDED })
      assert.deepEqual(JSON.parse(forged.body), { ip: CLIENT, protocol: 'http' })
    } finally {
      await close()
    }
  })
  check(`${name}: httpsRedirect redirects a direct client's forged https, not the proxy's`, async () => {
    const { port, close } = await start({ httpsRedirect: { host: 'good.com' } })
    try {
      const forged = await raw(port, { from: CLIENT, path: '/a?b=1', headers: FORWARDED })
      assert.equal(forged.status, 301)
      assert.deepEqual(values(forged, 'location'), ['https://good.com/a?b=1'])
      const viaProxy = await raw(port, { from: PROXY, headers: FORWARDED })
      assert.equal(viaProxy.status, 200)
    } finally {
      await close()
    }
  })
}

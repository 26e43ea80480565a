// hsts and secureCookies on whichever runtime runs this file: every cookie
// write path of Fastify, Express and plain node:http, hooks and middleware
// before and after the plugin, HEAD and chunked responses. An https
// response (a trusted proxy's X-Forwarded-Proto) must carry one
// Strict-Transport-Security and Secure on every cookie; a direct client's
// forged https gets neither.
import assert from 'node:assert/strict'
import http from 'node:http'
import express from 'express'
import Fastify from 'fastify'
import fastifyCookie from '@fastify/cookie'
import onHeaders from 'on-headers'
import { createTrustProxy } from '../../dist/esm/index.js'
import trustProxyFastify from '../../dist/esm/fastify.js'
import { trustProxy as trustProxyExpress } from '../../dist/esm/express.js'
import { CLIENT, PROXY, check, listen, raw, values } from './harness.mjs'

const OPTIONS = { trust: PROXY, hsts: true, secureCookies: true }
const HSTS = 'max-age=31536000; includeSubDomains'
const HTTPS = { 'x-forwarded-proto': 'https' }

/** Check every route of `paths` (path: the cookies it sets) on `port`. */
const expectAll = async (port, paths) => {
  for (const [path, cookies] of Object.entries(paths)) {
    for (const method of ['GET', 'HEAD']) {
      const https = await raw(port, { method, path, from: PROXY, headers: HTTPS })
      const where = `${method} ${path}`
      assert.equal(https.status, 200, where)
      assert.deepEqual(values(https, 'strict-transport-security'), [HSTS], where)
      assert.deepEqual(values(https, 'set-cookie').sort(), cookies.map(c => `${c}; Secure`).sort(), where)
      const forged = await raw(port, { method, path, from: CLIENT, headers: HTTPS })
      assert.deepEqual(values(forged, 'strict-transport-security'), [], `${where} forged`)
      assert.deepEqual(values(forged, 'set-cookie').sort(), [...cookies].sort(), `${where} forged`)
    }
  }
}

check('fastify: every cookie write path, hooks before and after the plugin', async () => {
  const app = Fastify()
  // registered before the plugin: its cookie is written after the plugin's hook
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/hook-before') reply.header('set-cookie', 'before=1')
  })
  await app.register(trustProxyFastify, OPTIONS)
  await app.register(fastifyCookie)
  app.addHook('onSend', async (request, reply) => {
    if (request.url === '/hook-after') reply.header('set-cookie', 'after=1')
  })
  app.get('/header', async (_q, reply) => reply.header('set-cookie', ['a=1', 'b=2']).send('ok'))
  app.get('/set-cookie', async (_q, reply) => reply.setCookie('c', '3').send('ok'))
  app.get('/raw-set', (_q, reply) => {
    reply.raw.setHeader('Set-Cookie', 'd=4')
    reply.send('ok')
  })
  app.get('/raw-write-head', (_q, reply) => {
    reply.hijack()
    reply.raw.writeHead(200, { 'Set-Cookie': 'e=5' }).end('ok')
  })
  app.get('/raw-write-head-array', (_q, reply) => {
    reply.hijack()
    reply.raw.writeHead(200, ['Set-Cookie', 'f=6', 'set-cookie', 'g=7']).end('ok')
  })
  app.get('/raw-chunked', (_q, reply) => {
    reply.hijack()
    reply.raw.appendHeader('Set-Cookie', 'h=8')
    reply.raw.write('o')
    reply.raw.end('k')
  })
  app.get('/hook-before', async () => 'ok')
  app.get('/hook-after', async () => 'ok')
  await app.listen({ port: 0, host: '127.0.0.1' })
  try {
    await expectAll(app.server.address().port, {
      '/header': ['a=1', 'b=2'],
      '/set-cookie': ['c=3; SameSite=Lax'],
      '/raw-set': ['d=4'],
      '/raw-write-head': ['e=5'],
      '/raw-write-head-array': ['f=6', 'g=7'],
      '/raw-chunked': ['h=8'],
      '/hook-before': ['before=1'],
      '/hook-after': ['after=1'],
    })
  } finally {
    await app.close()
  }
})

check('express: every cookie write path, middleware and on-headers before and after the plugin', async () => {
  const app = express()
  // before the plugin: on-headers wraps writeHead on the response
  app.use((req, res, next) => {
    if (req.path === '/on-headers-before') onHeaders(res, () => res.setHeader('Set-Cookie', 'before=1'))
    next()
  })
  app.use(trustProxyExpress(OPTIONS))
  app.use((req, res, next) => {
    if (req.path === '/on-headers-after') onHeaders(res, () => res.append('Set-Cookie', 'after=1'))
    next()
  })
  app.get('/cookie', (_q, res) => res.cookie('a', '1').cookie('b', '2').send('ok'))
  app.get('/append', (_q, res) => res.append('Set-Cookie', 'c=3').end('ok'))
  app.get('/write-head', (_q, res) => res.writeHead(200, { 'Set-Cookie': ['d=4', 'e=5'] }).end('ok'))
  app.get('/write-head-array', (_q, res) => res.writeHead(200, ['Set-Cookie', 'f=6']).end('ok'))
  app.get('/flush', (_q, res) => {
    res.setHeader('Set-Cookie', 'g=7')
    res.flushHeaders()
    res.end('ok')
  })
  app.get('/chunked', (_q, res) => {
    res.setHeader('Set-Cookie', 'h=8')
    res.write('o')
    res.end('k')
  })
  app.get('/on-headers-before', (_q, res) => res.end('ok'))
  app.get('/on-headers-after', (_q, res) => res.end('ok'))
  const { port, close } = await listen(http.createServer(app))
  try {
    await expectAll(port, {
      '/cookie': ['a=1; Path=/', 'b=2; Path=/'],
      '/append': ['c=3'],
      '/write-head': ['d=4', 'e=5'],
      '/write-head-array': ['f=6'],
      '/flush': ['g=7'],
      '/chunked': ['h=8'],
      '/on-headers-before': ['before=1'],
      '/on-headers-after': ['after=1'],
    })
  } finally {
    await close()
  }
})

check('core: node:http write paths', async () => {
  const proxy = createTrustProxy(OPTIONS)
  const routes = {
    '/set': res => res.setHeader('Set-Cookie', 'a=1').end('ok'),
    '/write-head': res => res.writeHead(200, { 'set-cookie': 'b=2' }).end(),
    '/implicit': res => {
      res.setHeader('Set-Cookie', ['c=3', 'd=4'])
      res.write('ok')
      res.end()
    },
  }
  const { port, close } = await listen(
    http.createServer((req, res) => {
      if (!proxy.handle(req, res)) routes[req.url](res)
    }),
  )
  try {
    await expectAll(port, { '/set': ['a=1'], '/write-head': ['b=2'], '/implicit': ['c=3', 'd=4'] })
  } finally {
    await close()
  }
})

// Request logs carry the trusted client address: Fastify's own request
// logging reads request.ip; for Express, pino-http needs a one-line
// serializer (it logs the socket peer), and morgan's :remote-addr reads
// req.ip. Each shown against what the logger writes without proxy-aware.
import t from 'tap'
import Fastify from 'fastify'
import express from 'express'
import morgan from 'morgan'
import { pinoHttp } from 'pino-http'
import http from 'node:http'
import { listen, portOf, recorder, request } from './support/http.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'

const PROXY = '127.0.0.2' // the only trusted peer
const CLIENT = '127.0.0.3' // a client reaching the app directly
const FORGED = { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }

/** Wait (bounded) until `find` finds a log line: loggers write on response finish. */
const logged = async <T>(find: () => T | undefined): Promise<T> => {
  for (let i = 0; i < 2000; i++) {
    const found = find()
    if (found !== undefined) return found
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  throw new Error('nothing logged')
}

t.test('Fastify: its own request log reads request.ip', async t => {
  const start = async (withProxyAware: boolean) => {
    const capture = recorder()
    const app = Fastify({ logger: { stream: capture.stream } })
    if (withProxyAware) await app.register(fastifyTrustProxy, { trust: PROXY })
    app.get('/', () => 'ok')
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const port = portOf(app.server)
    const remoteAddress = async (from: string) => {
      const before = capture.lines.length
      await request(port, { from, headers: FORGED })
      const line = await logged(() => capture.lines.slice(before).find(l => l.msg === 'incoming request'))
      return line.req.remoteAddress as string
    }
    return remoteAddress
  }
  const plain = await start(false)
  t.equal(await plain(PROXY), PROXY, 'without proxy-aware: the proxy')
  const aware = await start(true)
  t.equal(await aware(PROXY), '203.0.113.7', 'behind the trusted proxy: the client, not the forged entry')
  t.equal(await aware(CLIENT), CLIENT, 'a direct client: its socket address, forged headers ignored')
})

t.test('Express + pino-http: one serializer line', async t => {
  const start = async (setup: 'none' | 'default' | 'documented') => {
    const capture = recorder()
    const app = express()
    if (setup !== 'none') app.use(expressTrustProxy({ trust: PROXY }))
    app.use(
      setup === 'documented'
        ? // the documented line: mount after trustProxy (pino-http serializes
          // the request when the request starts)
          pinoHttp({ serializers: { req: req => Object.assign(req, { remoteAddress: req.raw.ip }) } }, capture.stream)
        : pinoHttp({}, capture.stream),
    )
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    const port = await listen(t, http.createServer(app))
    return async (from: string) => {
      const before = capture.lines.length
      await request(port, { from, headers: FORGED })
      const line = await logged(() => capture.lines.slice(before).find(l => l.msg === 'request completed'))
      return line.req.remoteAddress as string
    }
  }
  const plain = await start('none')
  t.equal(await plain(PROXY), PROXY, 'without proxy-aware: the proxy')
  const unconfigured = await start('default')
  t.equal(await unconfigured(PROXY), PROXY, 'with proxy-aware but pino-http as is: still the socket peer')
  const configured = await start('documented')
  t.equal(await configured(PROXY), '203.0.113.7', 'with the serializer: the trusted client')
  t.equal(await configured(CLIENT), CLIENT, 'a direct client: its socket address, forged headers ignored')
})

t.test('Express + morgan: :remote-addr reads req.ip', async t => {
  const start = async (withProxyAware: boolean) => {
    const lines: string[] = []
    const app = express()
    if (withProxyAware) app.use(expressTrustProxy({ trust: PROXY }))
    app.use(
      morgan(':remote-addr', {
        stream: {
          write: (line: string) => {
            lines.push(line.trim())
          },
        },
      }),
    )
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    const port = await listen(t, http.createServer(app))
    return async (from: string) => {
      const before = lines.length
      await request(port, { from, headers: FORGED })
      return logged(() => lines[before])
    }
  }
  const plain = await start(false)
  t.equal(await plain(PROXY), PROXY, 'without proxy-aware: the proxy')
  const aware = await start(true)
  t.equal(await aware(PROXY), '203.0.113.7', 'behind the trusted proxy: the client')
  t.equal(await aware(CLIENT), CLIENT, 'a direct client: its socket address')
})

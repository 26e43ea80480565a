import t, { type Test } from 'tap'
import Fastify, { type FastifyRequest } from 'fastify'
import fastifyRateLimit from '@fastify/rate-limit'
import express from 'express'
import { rateLimit } from 'express-rate-limit'
import { createServer } from 'node:http'
import fastifyTrustProxy from '../src/fastify.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { listen, recorder, request } from './support/http.js'

const PROXY = '127.0.0.2' // the only trusted peer
const ATTACKER = '127.0.0.3' // talks to the app directly

// one IPv6 client, spelled the ways proxies and clients write it
const IPV6_SPELLINGS = ['2001:DB8::1', '2001:db8:0:0:0:0:0:1', '[2001:db8::1]:443']

t.test('@fastify/rate-limit', async t => {
  // the default key generator, and one that keys on request.ip verbatim (so
  // only proxy-aware's canonical form can make the spellings one identity)
  const keyGenerators = {
    'default': undefined,
    'request.ip verbatim': (request: FastifyRequest) => request.ip,
  }
  for (const [name, keyGenerator] of Object.entries(keyGenerators)) {
    t.test(`key generator: ${name}`, async t => {
      const app = Fastify()
      t.teardown(() => app.close())
      // the limiter is registered before proxy-aware: it still sees our IP
      await app.register(fastifyRateLimit, { max: 2, timeWindow: 60_000, ...(keyGenerator ? { keyGenerator } : {}) })
      await app.register(fastifyTrustProxy, { trust: PROXY })
      app.get('/', request => request.ip)
      const hit = async (remoteAddress: string, xff?: string) => {
        const res = await app.inject({
          url: '/',
          remoteAddress,
          headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
        })
        return `${res.statusCode} ${res.statusCode === 200 ? res.body : res.headers['x-ratelimit-remaining']}`
      }

      t.same(
        [await hit(PROXY, '198.51.100.1'), await hit(PROXY, '198.51.100.1'), await hit(PROXY, '198.51.100.1')],
        ['200 198.51.100.1', '200 198.51.100.1', '429 0'],
        'client A behind the proxy is limited',
      )
      t.equal(await hit(PROXY, '198.51.100.2'), '200 198.51.100.2', 'client B behind the same proxy has its own budget')

      const attacker: string[] = []
      for (let i = 1; i <= 5; i++) attacker.push(await hit(ATTACKER, `203.0.113.${i}`))
      t.same(
        attacker,
        ['200 127.0.0.3', '200 127.0.0.3', '429 0', '429 0', '429 0'],
        'a direct client cannot mint identities with X-Forwarded-For',
      )
      t.equal(await hit(PROXY, '198.51.100.3'), '200 198.51.100.3', 'other clients are not affected')

      const v6: string[] = []
      for (const spelling of IPV6_SPELLINGS) v6.push(await hit(PROXY, spelling))
      t.same(v6, ['200 2001:db8::1', '200 2001:db8::1', '429 0'], 'one IPv6 client spelled three ways is one identity')

      t.same(
        [await hit(PROXY, '::ffff:198.51.100.9'), await hit(PROXY, '198.51.100.9'), await hit(PROXY, '198.51.100.9')],
        ['200 198.51.100.9', '200 198.51.100.9', '429 0'],
        'an IPv4-mapped spelling is the IPv4 client',
      )
    })
  }
})

/** express-rate-limit's console output (its default logger writes there). */
const captureConsole = (t: Test) => {
  const errors = t.capture(console, 'error', () => {})
  const warnings = t.capture(console, 'warn', () => {})
  return () => [...errors(), ...warnings()].map(c => String(c.args[0]))
}

t.test('express-rate-limit', async t => {
  t.test('limits per real client, with no validation errors', async t => {
    const logged = captureConsole(t)
    const app = express()
    // the attacker below is a loopback peer sending X-Forwarded-For, which
    // proxy-aware reports (PROXY_AWARE_UNTRUSTED_PROXY): to its logger, not
    // the console express-rate-limit's silence is checked on
    const log = recorder()
    app.use(expressTrustProxy({ trust: PROXY, logger: log }))
    // ipv6Subnet: false keys on req.ip verbatim
    app.use(
      rateLimit({ windowMs: 60_000, limit: 2, ipv6Subnet: false, standardHeaders: 'draft-6', legacyHeaders: false }),
    )
    app.get('/', (req, res) => {
      res.send(req.ip)
    })
    const port = await listen(t, createServer(app))
    const hit = async (from: string, xff?: string) => {
      const res = await request(port, { from, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } })
      return `${res.status} ${res.status === 200 ? res.body : res.headers['ratelimit-remaining']}`
    }

    t.same(
      [await hit(PROXY, '198.51.100.1'), await hit(PROXY, '198.51.100.1'), await hit(PROXY, '198.51.100.1')],
      ['200 198.51.100.1', '200 198.51.100.1', '429 0'],
      'client A behind the proxy is limited',
    )
    t.equal(await hit(PROXY, '198.51.100.2'), '200 198.51.100.2', 'client B has its own budget')

    const attacker: string[] = []
    for (let i = 1; i <= 5; i++) attacker.push(await hit(ATTACKER, `203.0.113.${i}`))
    t.same(
      attacker,
      ['200 127.0.0.3', '200 127.0.0.3', '429 0', '429 0', '429 0'],
      'a direct client cannot mint identities with X-Forwarded-For',
    )

    const v6: string[] = []
    for (const spelling of IPV6_SPELLINGS) v6.push(await hit(PROXY, spelling))
    t.same(v6, ['200 2001:db8::1', '200 2001:db8::1', '429 0'], 'one IPv6 client spelled three ways is one identity')

    t.same(logged(), [], 'express-rate-limit logged nothing')
    t.match(log.entries, [{ obj: { code: 'PROXY_AWARE_UNTRUSTED_PROXY', peer: ATTACKER } }])
  })

  t.test('a limiter inside a mounted sub-app, and RFC 7239 Forwarded', async t => {
    const logged = captureConsole(t)
    const app = express()
    app.use(expressTrustProxy({ trust: PROXY, headers: ['forwarded'] }))
    const api = express()
    api.use(rateLimit({ windowMs: 60_000, limit: 1, ipv6Subnet: false }))
    api.get('/', (req, res) => {
      res.send(req.ip)
    })
    app.use('/api', api)
    const port = await listen(t, createServer(app))
    const hit = async (from: string, forwarded: string) => {
      const res = await request(port, { from, path: '/api', headers: { forwarded, 'x-forwarded-for': '192.0.2.99' } })
      return `${res.status} ${res.status === 200 ? res.body : ''}`
    }
    t.same(
      [await hit(PROXY, 'for="[2001:DB8::1]:443";proto=https'), await hit(PROXY, 'for="2001:db8:0:0:0:0:0:1"')],
      ['200 2001:db8::1', '429 '],
      'Forwarded spellings of one client are one identity',
    )
    t.equal(await hit(PROXY, 'for=198.51.100.4'), '200 198.51.100.4')
    t.same(logged(), [], 'express-rate-limit logged nothing')
  })

  t.test('a limiter mounted before proxy-aware', async t => {
    const logged = captureConsole(t)
    const app = express()
    app.use(rateLimit({ windowMs: 60_000, limit: 1, ipv6Subnet: false }))
    // proxy-aware's own warning about the attacker goes to its logger
    app.use(expressTrustProxy({ trust: PROXY, logger: recorder() }))
    app.get('/', (req, res) => {
      res.send(req.ip)
    })
    const port = await listen(t, createServer(app))
    const hit = async (from: string, xff: string) => {
      const res = await request(port, { from, headers: { 'x-forwarded-for': xff } })
      return `${res.status} ${res.body}`
    }
    // the first request reaches the limiter before proxy-aware has ever run:
    // Express's defaults (no trust) key it on the proxy, and the limiter says so
    t.equal(await hit(PROXY, '198.51.100.1'), '200 198.51.100.1')
    t.match(logged(), [/ERR_ERL_UNEXPECTED_X_FORWARDED_FOR/], 'the first request only: mount proxy-aware first')
    // from then on the limiter reads proxy-aware's req.ip
    t.same(
      [await hit(PROXY, '198.51.100.2'), await hit(PROXY, '198.51.100.2'), await hit(PROXY, '198.51.100.3')],
      ['200 198.51.100.2', '429 Too many requests, please try again later.', '200 198.51.100.3'],
      'one budget per client behind the proxy',
    )
    t.same(
      [await hit(ATTACKER, '203.0.113.1'), await hit(ATTACKER, '203.0.113.2')],
      ['200 127.0.0.3', '429 Too many requests, please try again later.'],
      'a direct client cannot mint identities with X-Forwarded-For',
    )
    t.same(logged(), [], 'nothing more logged')
  })

  t.test('control: without proxy-aware, express-rate-limit does complain', async t => {
    const logged = captureConsole(t)
    const app = express()
    app.use(rateLimit({ windowMs: 60_000, limit: 5, ipv6Subnet: false }))
    app.get('/', (req, res) => {
      res.send(req.ip)
    })
    const port = await listen(t, createServer(app))
    await request(port, { from: PROXY, headers: { 'x-forwarded-for': '198.51.100.1' } })
    t.match(logged(), [/ERR_ERL_UNEXPECTED_X_FORWARDED_FOR/], 'so the captures above can fail')
  })

  t.test('trust: true stays visible to express-rate-limit', async t => {
    const logged = captureConsole(t)
    const app = express()
    const log = recorder()
    app.use(expressTrustProxy({ trust: true, logger: log }))
    app.use(rateLimit({ windowMs: 60_000, limit: 5, ipv6Subnet: false }))
    app.get('/', (req, res) => {
      res.send(req.ip)
    })
    const port = await listen(t, createServer(app))
    const res = await request(port, { from: ATTACKER, headers: { 'x-forwarded-for': '198.51.100.1' } })
    t.equal(res.body, '198.51.100.1', 'trust: true believes anyone (documented as dangerous)')
    t.equal(app.get('trust proxy'), true)
    t.match(logged(), [/ERR_ERL_PERMISSIVE_TRUST_PROXY/], 'and the limiter warns about it')
    t.match(
      log.entries,
      [{ obj: { code: 'PROXY_AWARE_TRUST_ALL' } }, { obj: { code: 'PROXY_AWARE_CLIENT_CHOSE_IP' } }],
      'and so does proxy-aware, at startup and on the request',
    )
  })
})

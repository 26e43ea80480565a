import t, { type Test } from 'tap'
import http, { OutgoingMessage } from 'node:http'
import http2 from 'node:http2'
import express from 'express'
import session from 'express-session'
import cookieSession from 'cookie-session'
import onHeaders from 'on-headers'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { createTrustProxy, type TrustProxyOptions } from '../src/index.js'
import { type HeaderSet, onHeaders as hookHeaders } from '../src/response/hook.js'
import trustProxyFastify from '../src/fastify.js'
import { trustProxy as trustProxyExpress } from '../src/express.js'
import { CLIENT, PROXY, listen, recorder, siteRequest as request, tls } from './support/http.js'
import { engineOf } from './support/engine.js'

type App = (req: http.IncomingMessage, res: http.ServerResponse) => void

const HTTPS = { 'x-forwarded-proto': 'https' }
/** a trusted proxy that terminated TLS */
const viaTls = { from: PROXY, headers: HTTPS }
/** an untrusted client forging the same header */
const forged = { from: CLIENT, headers: HTTPS }

/** A plain http server behind the core; `before` runs before `handle`. */
const serve = async (
  tt: Test,
  app: App,
  options: Omit<TrustProxyOptions, 'trust'> = { secureCookies: true },
  before?: App,
) => {
  const proxy = createTrustProxy({ trust: PROXY, ...options })
  const log = recorder()
  const port = await listen(
    tt,
    http.createServer((req, res) => {
      before?.(req, res)
      if (!proxy.handle(req, res, log)) app(req, res)
    }),
  )
  return { port, log }
}

t.test('configuration errors', async t => {
  const cases: [unknown, string, RegExp][] = [
    ['yes', 'secureCookies', /must be true, false or an options object, got "yes"/],
    [null, 'secureCookies', /got null/],
    [[], 'secureCookies', /got \[\]/],
    [{ warm: true }, 'secureCookies.warm', /is not a known option \(known: warn\)/],
    [{ warn: 'no' }, 'secureCookies.warn', /must be a boolean, got "no"/],
  ]
  for (const [secureCookies, option, message] of cases) {
    t.throws(() => createTrustProxy({ trust: PROXY, secureCookies } as TrustProxyOptions), {
      name: 'ProxyAwareConfigError',
      option,
      message,
    })
  }
  t.equal(engineOf({ trust: PROXY, secureCookies: false }).hasFeatures, false)
  t.equal(engineOf({ trust: PROXY, secureCookies: {} }).hasFeatures, true)
})

t.test('Set-Cookie spellings (Rails ssl_test and more)', async t => {
  // [as written, as sent on an https response]
  const cases: [string, string][] = [
    ['id=1; path=/', 'id=1; path=/; Secure'],
    ['id=1; path=/; HttpOnly; secure', 'id=1; path=/; HttpOnly; secure'],
    ['id=1; path=/;  secure', 'id=1; path=/;  secure'],
    ['id=1; path=/;secure; HttpOnly', 'id=1; path=/;secure; HttpOnly'],
    ['id=1; path=/; secure;HttpOnly', 'id=1; path=/; secure;HttpOnly'],
    ['id=1; path=/; Secure;', 'id=1; path=/; Secure;'],
    ['id=1; SECURE', 'id=1; SECURE'],
    ['id=1;sEcUrE', 'id=1;sEcUrE'],
    ['id=1; SeCuRe; PATH=/', 'id=1; SeCuRe; PATH=/'],
    ['id=1; Secure=whatever', 'id=1; Secure=whatever'],
    ['id=1; secure = 1; Path=/', 'id=1; secure = 1; Path=/'],
    // a cookie named or valued secure is not the attribute
    ['x=secure', 'x=secure; Secure'],
    ['secure=1', 'secure=1; Secure'],
    ['Secure=1; Path=/', 'Secure=1; Path=/; Secure'],
    ['name=secure; Path=/', 'name=secure; Path=/; Secure'],
    ['secure', 'secure; Secure'],
    ['a=1; x_secure=y', 'a=1; x_secure=y; Secure'],
    ['a=1; Path=/secure', 'a=1; Path=/secure; Secure'],
    ['a=1; insecure', 'a=1; insecure; Secure'],
    ['a=1; secured', 'a=1; secured; Secure'],
    ['a=b;secure=', 'a=b;secure='],
    // the comma inside Expires is just a character
    ['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure'],
    ['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; secure', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; secure'],
    ['a=1;', 'a=1; Secure'],
    ['a=1; ;', 'a=1; ; Secure'],
    ['a=1;  ', 'a=1; Secure'],
    ['a=1 ', 'a=1 ; Secure'],
    ['a=1; SameSite=None ; Path=/', 'a=1; SameSite=None ; Path=/; Secure'],
    ['a=1; SameSite=Lax', 'a=1; SameSite=Lax; Secure'],
    ['a=1; SameSite=None', 'a=1; SameSite=None; Secure'],
    ['a="x;y"', 'a="x;y"; Secure'],
  ]
  const { port } = await serve(t, (_req, res) => {
    res.setHeader(
      'Set-Cookie',
      cases.map(c => c[0]),
    )
    res.end()
  })
  const https = await request(port, viaTls)
  t.same(
    https.cookies,
    cases.map(c => c[1]),
  )
  // over http (or a forged header) nothing changes
  // (the client trims the trailing spaces of a header line)
  t.same(
    (await request(port, { from: PROXY })).cookies,
    cases.map(c => c[0].trimEnd()),
  )
  t.same(
    (await request(port, forged)).cookies,
    cases.map(c => c[0].trimEnd()),
  )
})

t.test('every way of writing Set-Cookie, in both orders with on-headers', async t => {
  const both = ['a=1', 'b=2; Secure']
  const secured = ['a=1; Secure', 'b=2; Secure']
  const protoSet = (res: http.ServerResponse, v: string[]) =>
    OutgoingMessage.prototype.setHeader.call(res, 'Set-Cookie', v)
  const apps: [string, App, App?][] = [
    [
      'setHeader string',
      (_q, res) => {
        res.setHeader('set-cookie', 'a=1')
        res.end()
      },
    ],
    [
      'setHeader array',
      (_q, res) => {
        res.setHeader('Set-Cookie', both)
        res.end()
      },
    ],
    [
      'appendHeader',
      (_q, res) => {
        res.appendHeader('Set-Cookie', 'a=1')
        res.appendHeader('set-cookie', 'b=2; Secure')
        res.end()
      },
    ],
    [
      'setHeaders(Headers)',
      (_q, res) => {
        res.setHeaders(
          new Headers([
            ['set-cookie', 'a=1'],
            ['set-cookie', 'b=2; Secure'],
          ]),
        )
        res.end()
      },
    ],
    [
      'setHeaders(Map)',
      (_q, res) => {
        res.setHeaders(new Map([['Set-Cookie', both]]))
        res.end()
      },
    ],
    [
      'OutgoingMessage.prototype.setHeader (cookies, Koa)',
      (_q, res) => {
        protoSet(res, both)
        res.end()
      },
    ],
    ['writeHead object', (_q, res) => res.writeHead(200, { 'Set-Cookie': both, 'x-a': '1' }).end()],
    [
      'writeHead object, two spellings',
      (_q, res) => res.writeHead(200, { 'Set-Cookie': 'a=1', 'set-cookie': 'b=2; Secure' }).end(),
    ],
    ['writeHead reason and object', (_q, res) => res.writeHead(200, 'Fine', { 'SET-COOKIE': both }).end()],
    [
      'writeHead flat array (CVE-2025-7339 shape)',
      (_q, res) => res.writeHead(200, ['Set-Cookie', 'a=1', 'x-a', '1', 'set-cookie', 'b=2; Secure']).end(),
    ],
    ['writeHead flat array, value array', (_q, res) => res.writeHead(200, ['Set-Cookie', both]).end()],
    [
      'writeHead nested array',
      (_q, res) =>
        res
          .writeHead(200, [
            ['Set-Cookie', 'a=1'],
            ['x-a', '1'],
            ['set-cookie', 'b=2; Secure'],
          ] as unknown as string[])
          .end(),
    ],
    [
      'writeHead after setHeader',
      (_q, res) => {
        res.setHeader('x-a', '1')
        res.writeHead(200, { 'Set-Cookie': both }).end()
      },
    ],
    [
      'implicit headers from write',
      (_q, res) => {
        res.setHeader('Set-Cookie', both)
        res.write('x')
        res.end()
      },
    ],
    // on-headers listeners installed after us (they run first) ...
    [
      'on-headers after us, setHeader',
      (_q, res) => {
        onHeaders(res, () => res.setHeader('Set-Cookie', both))
        res.end()
      },
    ],
    [
      'on-headers after us, prototype setHeader, flat-array writeHead',
      (_q, res) => {
        onHeaders(res, () => protoSet(res, both))
        res.writeHead(200, ['x-a', '1']).end()
      },
    ],
    // ... and before us (they run after our writeHead would have)
    [
      'on-headers before us, setHeader',
      (_q, res) => res.end(),
      (_q, res) => {
        onHeaders(res, () => res.setHeader('Set-Cookie', both))
      },
    ],
    [
      'on-headers before us, prototype setHeader',
      (_q, res) => res.end(),
      (_q, res) => {
        onHeaders(res, () => protoSet(res, both))
      },
    ],
    [
      'on-headers before us, flat-array writeHead',
      (_q, res) => res.writeHead(200, ['Set-Cookie', 'a=1', 'set-cookie', 'b=2; Secure']).end(),
      (_q, res) => {
        onHeaders(res, () => res.setHeader('x-a', '1'))
      },
    ],
    [
      'writeHead wrapped by hand before us',
      (_q, res) => res.end(),
      (_q, res) => {
        const writeHead = res.writeHead
        res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
          protoSet(this, both)
          return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args)
        } as typeof res.writeHead
      },
    ],
  ]
  for (const [name, app, before] of apps) {
    const { port } = await serve(t, app, { secureCookies: true }, before)
    const r = await request(port, viaTls)
    const expected = name === 'setHeader string' ? ['a=1; Secure'] : secured
    t.same(r.cookies, expected, name)
    if (
      name.includes('x-a') ||
      name.includes('flat array (') ||
      name.includes('nested') ||
      name.includes('after setHeader') ||
      name.includes('before us, flat')
    ) {
      t.equal(r.headers['x-a'], '1', `${name}: other headers kept`)
    }
    const plain = await request(port, { from: CLIENT })
    t.same(plain.cookies, name === 'setHeader string' ? ['a=1'] : both, `${name} over http`)
  }
  // a response without any header at all
  const bare = await serve(t, (_q, res) => res.writeHead(204).end())
  const none = await request(bare.port, viaTls)
  t.equal(none.status, 204)
  t.same(none.cookies, [])
  // the caller's header object is not mutated
  const given = { 'Set-Cookie': 'a=1' }
  const { port } = await serve(t, (_q, res) => res.writeHead(200, given).end())
  t.same((await request(port, viaTls)).cookies, ['a=1; Secure'])
  t.same(given, { 'Set-Cookie': 'a=1' })
  // values Node coerces, and values Node refuses (its own error, not ours)
  const odd = await serve(t, (_q, res) => {
    try {
      res.writeHead(200, { 'Set-Cookie': undefined as unknown as string })
    } catch (err) {
      res.setHeader('Set-Cookie', 42)
      res.end((err as { code: string }).code)
    }
  })
  const r = await request(odd.port, viaTls)
  t.equal(r.body, 'ERR_HTTP_INVALID_HEADER_VALUE')
  t.same(r.cookies, ['42; Secure'])
})

t.test('__Host- / __Secure- prefixes and SameSite=None: warnings through the logger', async t => {
  const cookies = [
    '__Host-ok=1; Path=/',
    '__Host-domain=1; Path=/; Domain=good.com',
    '__HOST-nopath=1',
    '__host-subpath=1; Path=/a',
    '__Host-emptypath=1; Path',
    '__Secure-ok=1',
    '__secure-lower=1; Secure',
    'plain=1',
    'x=__Host-',
    ' __Host-spaced =1; Path=/a',
    'none=1; SameSite=None',
    'lax=1; SameSite=Lax',
  ]
  const app: App = (_q, res) => {
    res.setHeader('Set-Cookie', cookies)
    res.end()
  }
  const { port, log } = await serve(t, app)
  const r = await request(port, viaTls)
  t.equal(r.cookies.length, cookies.length)
  t.ok(
    r.cookies.every(c => /; Secure$|; Secure;|; Secure /i.test(c) || /secure$/i.test(c)),
    'all Secure',
  )
  t.same(log.entries, [
    {
      level: 'warn',
      obj: { cookie: '__Host-domain' },
      msg: 'proxy-aware: secureCookies: a __Host- cookie must not have a Domain attribute',
    },
    {
      level: 'warn',
      obj: { cookie: '__HOST-nopath' },
      msg: 'proxy-aware: secureCookies: a __Host- cookie must have Path=/',
    },
    {
      level: 'warn',
      obj: { cookie: '__host-subpath' },
      msg: 'proxy-aware: secureCookies: a __Host- cookie must have Path=/',
    },
    {
      level: 'warn',
      obj: { cookie: '__Host-emptypath' },
      msg: 'proxy-aware: secureCookies: a __Host- cookie must have Path=/',
    },
    {
      level: 'warn',
      obj: { cookie: '__Host-spaced' },
      msg: 'proxy-aware: secureCookies: a __Host- cookie must have Path=/',
    },
  ])
  // over http: left alone, but prefixed cookies will be rejected by browsers
  log.entries.length = 0
  const plain = await request(port, { from: CLIENT })
  t.same(
    plain.cookies,
    cookies.map(c => c.trim()),
  )
  t.same(
    log.entries.map(e => (e.obj as { cookie: string }).cookie),
    [
      '__Host-ok',
      '__Host-domain',
      '__HOST-nopath',
      '__host-subpath',
      '__Host-emptypath',
      '__Secure-ok',
      '__secure-lower',
      '__Host-spaced',
      'none',
    ],
  )
  t.match(log.entries[8], {
    msg: 'proxy-aware: secureCookies: a SameSite=None cookie set over http is rejected by browsers',
  })
  t.match(log.entries[0], { msg: 'proxy-aware: secureCookies: a __Host- cookie set over http is rejected by browsers' })
  t.match(log.entries[5], {
    msg: 'proxy-aware: secureCookies: a __Secure- cookie set over http is rejected by browsers',
  })
  // warn: false
  const quiet = await serve(t, app, { secureCookies: { warn: false } })
  t.same((await request(quiet.port, viaTls)).cookies, (await request(port, viaTls)).cookies)
  t.same(
    (await request(quiet.port, { from: CLIENT })).cookies,
    cookies.map(c => c.trim()),
  )
  t.same(quiet.log.entries, [])
})

t.test('Express: res.cookie, express-session and cookie-session behind a TLS-terminating proxy', async t => {
  const logger = recorder()
  const app = express()
  app.use(trustProxyExpress({ trust: PROXY, secureCookies: true, logger }))
  app.get('/cookie', (_req, res) => {
    res.cookie('a', '1', { expires: new Date(Date.UTC(2030, 0, 1)) })
    res.cookie('__Host-b', '2', { domain: 'good.com' })
    res.send('ok')
  })
  const sessionApp = express()
  // express-session mounted before proxy-aware: its on-headers wrapper is
  // installed first and runs last
  sessionApp.use(session({ secret: 'test secret', resave: false, saveUninitialized: true, cookie: { secure: true } }))
  sessionApp.use(trustProxyExpress({ trust: PROXY, secureCookies: true }))
  sessionApp.get('/', (req, res) => {
    res.send(`secure=${req.secure}`)
  })
  const cookieApp = express()
  cookieApp.use(trustProxyExpress({ trust: PROXY, secureCookies: true }))
  cookieApp.use(cookieSession({ name: 'sess', keys: ['k1'], secure: true }))
  cookieApp.get('/', (req, res) => {
    ;(req.session as unknown as Record<string, unknown>).n = 1
    res.send('ok')
  })
  const port = await listen(t, http.createServer(app))
  const sessionPort = await listen(t, http.createServer(sessionApp))
  const cookiePort = await listen(t, http.createServer(cookieApp))

  let r = await request(port, { ...viaTls, path: '/cookie' })
  t.same(r.cookies, [
    'a=1; Path=/; Expires=Tue, 01 Jan 2030 00:00:00 GMT; Secure',
    '__Host-b=2; Domain=good.com; Path=/; Secure',
  ])
  t.match(logger.entries, [{ level: 'warn', obj: { cookie: '__Host-b' }, msg: /must not have a Domain/ }])
  r = await request(port, { path: '/cookie' })
  t.same(r.cookies, ['a=1; Path=/; Expires=Tue, 01 Jan 2030 00:00:00 GMT', '__Host-b=2; Domain=good.com; Path=/'])

  // express-session with cookie.secure: the cookie is finally sent
  r = await request(sessionPort, viaTls)
  t.equal(r.body, 'secure=true')
  t.equal(r.cookies.length, 1)
  t.match(r.cookies[0], /^connect\.sid=s%3A[^;]+; Path=\/; HttpOnly; Secure$/)
  r = await request(sessionPort, forged)
  t.equal(r.body, 'secure=false')
  t.same(r.cookies, [])
  r = await request(sessionPort, { from: PROXY })
  t.same(r.cookies, [])

  // cookie-session with secure: true (its cookies throw 'Cannot send secure
  // cookie over unencrypted connection', which cookie-session swallows)
  // now sends its cookie behind the proxy
  r = await request(cookiePort, viaTls)
  t.equal(r.status, 200)
  t.equal(r.cookies.length, 2)
  t.match(r.cookies[0], /^sess=[^;]+; path=\/; secure; httponly$/)
  t.match(r.cookies[1], /^sess\.sig=[^;]+; path=\/; secure; httponly$/)
  r = await request(cookiePort, forged)
  t.equal(r.status, 200)
  t.same(r.cookies, [])
})

t.test('edits stored before a response changes prototype are kept (core handle(), then Express)', async t => {
  // handle() hooks a response whose prototype is Node's; Express then sets
  // its own prototype, and its middleware adds an edit. On Node 20 and 22
  // the two prototypes pick different places for a first edit: the second
  // must find the first, and the serialiser both.
  const core = createTrustProxy({ trust: PROXY, hsts: true })
  const app = express()
  app.use(trustProxyExpress({ trust: PROXY, secureCookies: true }))
  app.get('/', (_req, res) => {
    res.cookie('a', '1')
    res.send('ok')
  })
  const port = await listen(
    t,
    http.createServer((req, res) => {
      if (!core.handle(req, res)) app(req, res)
    }),
  )
  const https = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' }
  for (const n of [1, 2]) {
    const r = await request(port, { from: PROXY, headers: https })
    t.match(
      [r.status, r.headers['strict-transport-security'], r.cookies],
      [200, /max-age=/, ['a=1; Path=/; Secure']],
      `${n}`,
    )
  }
  const plain = await request(port, { from: PROXY, headers: { 'x-forwarded-proto': 'http' } })
  t.same([plain.headers['strict-transport-security'], plain.cookies], [undefined, ['a=1; Path=/']], 'over http')
})

t.test('Express: cookie-session without secure gets Secure added on https only', async t => {
  const app = express()
  app.use(cookieSession({ name: 'sess', keys: ['k1'] }))
  app.use(trustProxyExpress({ trust: PROXY, secureCookies: true }))
  app.get('/', (req, res) => {
    ;(req.session as unknown as Record<string, unknown>).n = 1
    res.send('ok')
  })
  const port = await listen(t, http.createServer(app))
  let r = await request(port, viaTls)
  t.equal(r.cookies.length, 2)
  // cookies reads req.protocol: our getter already says https, so it marks
  // them itself; we add nothing twice
  t.ok(r.cookies.every(c => c.split(';').filter(p => p.trim().toLowerCase() === 'secure').length === 1))
  r = await request(port, forged)
  t.equal(r.cookies.length, 2)
  t.ok(r.cookies.every(c => !/secure/i.test(c)))
})

const fastifyApp = async (order: 'before' | 'after', withSession = false) => {
  const app = Fastify()
  const cookie = async () => {
    await app.register(fastifyCookie)
    if (withSession) await app.register(fastifySession, { secret: 'a secret with minimum length of 32 characters' })
  }
  if (order === 'before') await cookie()
  await app.register(trustProxyFastify, { trust: PROXY, secureCookies: true })
  if (order === 'after') await cookie()
  app.get('/set', async (_req, reply) => {
    reply.setCookie('a', '1', { path: '/' })
    reply.header('set-cookie', 'b=2')
    return 'ok'
  })
  app.get('/raw', (_req, reply) => {
    reply.hijack()
    reply.raw.writeHead(200, { 'Set-Cookie': ['c=3', 'd=4; Secure'] })
    reply.raw.end('raw')
  })
  app.get('/session', async req => {
    ;(req.session as unknown as { set(key: string, value: unknown): void }).set('n', 1)
    return `protocol=${req.protocol}`
  })
  return app
}

const check = async (
  t: Test,
  send: (
    url: string,
    o: { from: string; headers?: Record<string, string> },
  ) => Promise<{ cookies: string[]; body: string }>,
  withSession: boolean,
) => {
  const mine = (cookies: string[]) => cookies.filter(c => !c.startsWith('sessionId=')).sort()
  let r = await send('/set', viaTls)
  t.same(mine(r.cookies), ['a=1; Path=/; SameSite=Lax; Secure', 'b=2; Secure'])
  r = await send('/set', forged)
  t.same(mine(r.cookies), ['a=1; Path=/; SameSite=Lax', 'b=2'])
  r = await send('/raw', viaTls)
  t.same(mine(r.cookies), ['c=3; Secure', 'd=4; Secure'])
  r = await send('/raw', { from: CLIENT })
  t.same(mine(r.cookies), ['c=3', 'd=4; Secure'])
  if (withSession) {
    // @fastify/session defaults to secure: true and silently skips the
    // cookie over http: behind the trusted proxy it is now sent
    r = await send('/session', viaTls)
    t.equal(r.body, 'protocol=https')
    t.equal(r.cookies.length, 1)
    t.match(r.cookies[0], /^sessionId=[^;]+; Path=\/; HttpOnly; Secure$/)
    r = await send('/session', forged)
    t.equal(r.body, 'protocol=http')
    t.same(r.cookies, [])
  }
}

const injector =
  (app: FastifyInstance) => async (url: string, o: { from: string; headers?: Record<string, string> }) => {
    const res = await app.inject({ url, remoteAddress: o.from, headers: { host: 'good.com', ...o.headers } })
    const raw = res.headers['set-cookie']
    return { cookies: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw], body: res.body }
  }

for (const order of ['before', 'after'] as const) {
  t.test(`Fastify with @fastify/cookie and @fastify/session registered ${order} proxy-aware (inject)`, async t => {
    const app = await fastifyApp(order, true)
    await check(t, injector(app), true)
    await app.close()
  })
  t.test(`Fastify with @fastify/cookie registered ${order} proxy-aware (sockets)`, async t => {
    const app = await fastifyApp(order, order === 'after')
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    const port = (app.server.address() as { port: number }).port
    await check(t, (url, o) => request(port, { ...o, path: url }), order === 'after')
  })
}

/** A response over HTTP/2, as the tests look at it. */
interface H2Reply {
  status: number
  headers: http2.IncomingHttpHeaders
  /** every Set-Cookie field, in order */
  cookies: string[]
  body: string
}

/** One HTTP/2 request on its own connection from `from` (h2c unless `secure`). */
const h2request = async (
  port: number,
  o: { from?: string; secure?: boolean; path?: string; headers?: Record<string, string> } = {},
): Promise<H2Reply> => {
  // passed on to net.connect / tls.connect (@types/node omits localAddress)
  const options: http2.SecureClientSessionOptions & { localAddress: string } = {
    rejectUnauthorized: false,
    localAddress: o.from ?? CLIENT,
  }
  const client = http2.connect(`${o.secure === true ? 'https' : 'http'}://127.0.0.1:${port}`, options)
  try {
    return await new Promise<H2Reply>((resolve, reject) => {
      client.on('error', reject)
      const stream = client.request({ ':path': o.path ?? '/', ':authority': 'good.com', ...o.headers })
      let body = ''
      stream.setEncoding('latin1')
      stream.on('response', headers => {
        stream.on('data', (c: string) => (body += c))
        stream.on('end', () => {
          const raw = headers['set-cookie']
          resolve({
            status: Number(headers[':status']),
            headers,
            cookies: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw],
            body,
          })
        })
      })
      stream.on('error', reject)
      stream.end()
    })
  } finally {
    client.close()
  }
}

type H2App = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void

/** An HTTP/2 server (TLS when `secure`, else h2c) behind the core. */
const serveH2 = async (
  tt: Test,
  app: H2App,
  options: Omit<TrustProxyOptions, 'trust'> = { secureCookies: true },
  secure = false,
  before?: H2App,
) => {
  const proxy = createTrustProxy({ trust: PROXY, ...options })
  const log = recorder()
  const handler: H2App = (req, res) => {
    before?.(req, res)
    if (!proxy.handle(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, log)) app(req, res)
  }
  const port = await listen(tt, secure ? http2.createSecureServer(tls, handler) : http2.createServer(handler))
  return { port, log }
}

t.test('HTTP/2 compatibility responses: every way of writing Set-Cookie', async t => {
  const both = ['a=1', 'b=2; Secure']
  const secured = ['a=1; Secure', 'b=2; Secure']
  const apps: [string, H2App, H2App?][] = [
    [
      'setHeader string',
      (_q, res) => {
        res.setHeader('set-cookie', 'a=1')
        res.end()
      },
    ],
    [
      'setHeader array',
      (_q, res) => {
        res.setHeader('Set-Cookie', both)
        res.end('body')
      },
    ],
    [
      'appendHeader',
      (_q, res) => {
        res.appendHeader('Set-Cookie', 'a=1')
        res.appendHeader('set-cookie', 'b=2; Secure')
        res.end()
      },
    ],
    ['writeHead object', (_q, res) => res.writeHead(200, { 'Set-Cookie': both, 'x-a': '1' }).end()],
    [
      'writeHead flat array',
      (_q, res) =>
        res
          .writeHead(200, [
            'Set-Cookie',
            'a=1',
            'x-a',
            '1',
            'set-cookie',
            'b=2; Secure',
          ] as unknown as http2.OutgoingHttpHeaders)
          .end(),
    ],
    [
      'writeHead nested array',
      (_q, res) =>
        res
          .writeHead(200, [
            ['Set-Cookie', 'a=1'],
            ['x-a', '1'],
            ['set-cookie', 'b=2; Secure'],
          ] as unknown as http2.OutgoingHttpHeaders)
          .end(),
    ],
    [
      'writeHead after setHeader',
      (_q, res) => {
        res.setHeader('x-a', '1')
        res.writeHead(200, { 'Set-Cookie': both }).end()
      },
    ],
    [
      'implicit headers from write',
      (_q, res) => {
        res.setHeader('Set-Cookie', both)
        res.write('x')
        res.end()
      },
    ],
    [
      'flushHeaders',
      (_q, res) => {
        res.setHeader('Set-Cookie', both)
        // Http2ServerResponse#flushHeaders exists, @types/node omits it
        const flushable = res as unknown as { flushHeaders(): void }
        flushable.flushHeaders()
        res.end('x')
      },
    ],
    [
      'set later, from a timer',
      (_q, res) => {
        setTimeout(() => {
          res.setHeader('Set-Cookie', both)
          res.end()
        }, 5)
      },
    ],
    // on-headers wraps writeHead; installed after us or before us
    [
      'on-headers after us',
      (_q, res) => {
        onHeaders(res as unknown as http.ServerResponse, () => res.setHeader('Set-Cookie', both))
        res.end()
      },
    ],
    [
      'on-headers before us',
      (_q, res) => res.end(),
      (_q, res) => {
        onHeaders(res as unknown as http.ServerResponse, () => res.setHeader('Set-Cookie', both))
      },
    ],
    [
      'the core API through res.stream',
      (_q, res) => {
        res.stream.respond({ ':status': 200, 'set-cookie': both }, { endStream: true })
      },
    ],
  ]
  for (const secure of [false, true]) {
    for (const [name, app, before] of apps) {
      const label = `${name} (${secure ? 'h2 over TLS' : 'h2c behind a TLS-terminating proxy'})`
      const { port, log } = await serveH2(t, app, { secureCookies: true }, secure, before)
      const r = await h2request(port, secure ? { secure } : { from: PROXY, headers: HTTPS })
      t.equal(r.status, 200, label)
      t.same(r.cookies, name === 'setHeader string' ? ['a=1; Secure'] : secured, label)
      if (name.startsWith('writeHead')) t.equal(r.headers['x-a'], '1', `${label}: other headers kept`)
      t.same(log.entries, [], `${label}: nothing logged`)
      if (!secure) {
        // plain http, or a forged header: left alone
        for (const o of [{ from: PROXY }, { from: CLIENT, headers: HTTPS }]) {
          const plain = await h2request(port, o)
          t.same(plain.cookies, name === 'setHeader string' ? ['a=1'] : both, `${label} over http from ${o.from}`)
        }
      }
    }
  }
  // the app's header map is not changed behind its back
  let after: unknown
  const { port } = await serveH2(
    t,
    (_q, res) => {
      res.setHeader('Set-Cookie', 'a=1')
      res.end(() => (after = res.getHeader('set-cookie')))
    },
    { secureCookies: true },
    true,
  )
  t.same((await h2request(port, { secure: true })).cookies, ['a=1; Secure'])
  t.equal(after, 'a=1')
  // a response without any cookie
  const bare = await serveH2(t, (_q, res) => res.writeHead(204).end(), { secureCookies: true }, true)
  const none = await h2request(bare.port, { secure: true })
  t.equal(none.status, 204)
  t.same(none.cookies, [])
})

t.test('HTTP/2: prefix warnings, HSTS and cookies together', async t => {
  const cookies = ['__Host-ok=1; Path=/', '__Host-domain=1; Path=/; Domain=good.com', 'plain=1']
  const { port, log } = await serveH2(
    t,
    (req, res) => {
      if (req.url === '/own-hsts') res.setHeader('Strict-Transport-Security', 'max-age=5')
      res.setHeader('Set-Cookie', cookies)
      res.end('h2')
    },
    { secureCookies: true, hsts: true },
    true,
  )
  let r = await h2request(port, { secure: true })
  t.equal(r.body, 'h2')
  t.same(
    r.cookies,
    cookies.map(c => `${c}; Secure`),
  )
  t.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  t.same(log.entries, [
    {
      level: 'warn',
      obj: { cookie: '__Host-domain' },
      msg: 'proxy-aware: secureCookies: a __Host- cookie must not have a Domain attribute',
    },
  ])
  // an HSTS header the app set itself is kept, once
  r = await h2request(port, { secure: true, path: '/own-hsts' })
  t.equal(r.headers['strict-transport-security'], 'max-age=5')
  t.same(
    r.cookies,
    cookies.map(c => `${c}; Secure`),
  )
  // h2c: HSTS and Secure only behind the trusted proxy
  const h2c = await serveH2(
    t,
    (_q, res) => {
      res.setHeader('Set-Cookie', 'a=1')
      res.end()
    },
    { secureCookies: true, hsts: true },
  )
  r = await h2request(h2c.port, { from: PROXY, headers: HTTPS })
  t.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  t.same(r.cookies, ['a=1; Secure'])
  r = await h2request(h2c.port, { from: CLIENT, headers: HTTPS })
  t.equal(r.headers['strict-transport-security'], undefined)
  t.same(r.cookies, ['a=1'])
})

/** One HTTP/2 request over TLS that also collects the pushed responses. */
const h2pushes = async (port: number, path: string) => {
  const client = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  try {
    return await new Promise<{ main: http2.IncomingHttpHeaders; pushed: Record<string, http2.IncomingHttpHeaders> }>(
      (resolve, reject) => {
        client.on('error', reject)
        const pushed: Record<string, http2.IncomingHttpHeaders> = {}
        let expected = 0
        let main: http2.IncomingHttpHeaders | undefined
        const done = () => {
          if (main !== undefined && Object.keys(pushed).length === expected) resolve({ main, pushed })
        }
        client.on('stream', (stream, requestHeaders) => {
          expected++
          stream.on('push', headers => {
            pushed[String(requestHeaders[':path'])] = headers
            done()
          })
          stream.resume()
        })
        const stream = client.request({ ':path': path, ':authority': 'good.com' })
        stream.on('response', headers => {
          stream.resume()
          // the push promises arrive before the main response ends
          stream.on('end', () => {
            main = headers
            done()
          })
        })
        stream.on('error', reject)
        stream.end()
      },
    )
  } finally {
    client.close()
  }
}

t.test('HTTP/2 server push: pushed responses get Secure and HSTS too', async t => {
  const { port } = await serveH2(
    t,
    (_req, res) => {
      // the compatibility API: an Http2ServerResponse for the pushed stream
      res.createPushResponse({ ':path': '/compat.css' }, (err, push) => {
        if (err) throw err
        push.setHeader('set-cookie', ['p=1', 'q=2; Secure'])
        push.end('css')
      })
      // the core API: respond() on the pushed stream
      res.stream.pushStream({ ':path': '/core.js' }, (err, push) => {
        if (err) throw err
        push.respond({ ':status': 200, 'set-cookie': 'c=3' })
        push.end('js')
      })
      res.setHeader('set-cookie', 'main=1')
      res.end('page')
    },
    { secureCookies: true, hsts: true },
    true,
  )
  const r = await h2pushes(port, '/')
  const hsts = 'max-age=31536000; includeSubDomains'
  t.same(r.main['set-cookie'], ['main=1; Secure'])
  t.equal(r.main['strict-transport-security'], hsts)
  t.same(r.pushed['/compat.css']!['set-cookie'], ['p=1; Secure', 'q=2; Secure'])
  t.equal(r.pushed['/compat.css']!['strict-transport-security'], hsts)
  t.same(r.pushed['/core.js']!['set-cookie'], ['c=3; Secure'])
  t.equal(r.pushed['/core.js']!['strict-transport-security'], hsts)
  // a bad call still fails as Node makes it fail
  const plain = await serveH2(
    t,
    (_req, res) => {
      t.throws(() => res.stream.pushStream({ ':path': '/x' }, undefined as never), { code: 'ERR_INVALID_ARG_TYPE' })
      res.end()
    },
    { secureCookies: true },
    true,
  )
  await h2pushes(plain.port, '/')
})

t.test('HTTP/2 push refused by nghttp2: the error reaches the callback untouched', async t => {
  // (out of stream ids: Node calls back with an error and no stream)
  const refused = new Error('refused')
  const calls: unknown[][] = []
  const stream = {
    respond() {},
    pushStream(_headers: object, callback: (err: Error) => void) {
      callback(refused)
    },
  }
  t.equal(
    hookHeaders({ stream } as unknown as http.ServerResponse, (headers: HeaderSet) => headers),
    true,
  )
  stream.pushStream({}, (...args: unknown[]) => calls.push(args))
  t.same(calls, [[refused, undefined]])
  // a stream that cannot push is only hooked for its own response
  const bare = { respond() {} }
  t.equal(
    hookHeaders({ stream: bare } as unknown as http.ServerResponse, (headers: HeaderSet) => headers),
    true,
  )
  t.same(Object.keys(bare), ['respond'])
})

t.test('Fastify over HTTP/2 with allowHTTP1 (h2 and HTTP/1.1 clients)', async t => {
  const logged: string[] = []
  const app = Fastify({
    http2: true,
    https: { ...tls, allowHTTP1: true },
    logger: { level: 'warn', stream: { write: (line: string) => logged.push(line) } },
  })
  await app.register(fastifyCookie)
  await app.register(trustProxyFastify, { trust: 'loopback', secureCookies: true, hsts: true })
  app.get('/', async (_req, reply) => {
    reply.header('set-cookie', 'sid=1; Path=/')
    return 'ok'
  })
  app.get('/many', async (_req, reply) => {
    reply.setCookie('a', '1', { path: '/' })
    reply.header('set-cookie', 'b=2')
    reply.header('set-cookie', 'c=3; Secure')
    return 'ok'
  })
  app.get('/raw', (_req, reply) => {
    reply.hijack()
    reply.raw.writeHead(200, { 'Set-Cookie': ['d=4', 'e=5; Secure'] })
    reply.raw.end('raw')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const expected: Record<string, string[]> = {
    '/': ['sid=1; Path=/; Secure'],
    // @fastify/cookie appends its cookies in onSend, after reply.header's
    '/many': ['b=2; Secure', 'c=3; Secure', 'a=1; Path=/; SameSite=Lax; Secure'],
    '/raw': ['d=4; Secure', 'e=5; Secure'],
  }
  for (const [path, cookies] of Object.entries(expected)) {
    const h2 = await h2request(port, { secure: true, path })
    t.equal(h2.status, 200, `h2 ${path}`)
    t.same(h2.cookies, cookies, `h2 ${path}`)
    t.equal(h2.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', `h2 ${path}`)
    const h1 = await request(port, { secure: true, path })
    t.equal(h1.status, 200, `HTTP/1.1 ${path}`)
    t.same(h1.cookies, cookies, `HTTP/1.1 ${path}`)
    t.equal(h1.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', `HTTP/1.1 ${path}`)
  }
  t.same(logged, [])
})

t.test(
  'a response object that is neither HTTP/1 nor HTTP/2: HSTS through setHeader, cookies left alone with a warning',
  async t => {
    const proxy = createTrustProxy({ trust: PROXY, secureCookies: true, hsts: true })
    const log = recorder()
    const set: Record<string, unknown> = {}
    const res = {
      setHeader(name: string, value: unknown) {
        set[name.toLowerCase()] = value
      },
      getHeader: (name: string) => set[name.toLowerCase()],
      hasHeader: (name: string) => name.toLowerCase() in set,
    }
    const req = {
      url: '/',
      method: 'GET',
      headers: { host: 'good.com', ...HTTPS },
      rawHeaders: ['Host', 'good.com'],
      socket: { remoteAddress: PROXY },
    }
    t.equal(proxy.handle(req as never, res as never, log), false)
    t.same(set, { 'strict-transport-security': 'max-age=31536000; includeSubDomains' })
    t.match(log.entries, [
      {
        level: 'warn',
        msg: /neither a node:http ServerResponse nor a node:http2 Http2ServerResponse; cookies are left alone/,
      },
    ])
  },
)

import t from 'tap'
import express5, { type Express, type Request } from 'express'
import express4 from 'express4'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { trustProxy } from '../src/express.js'
import { ProxyAwareConfigError } from '../src/core/errors.js'
import { expressMiddleware } from '../src/adapters/express.js'
import { ownShapeAfterSetPrototype } from '../src/core/runtime.js'
import type { FeatureCompiler, FeatureContext } from '../src/features/feature.js'
import { listen, request } from './support/http.js'

/** Everything the request reports, JSON-safe (undefined becomes null). */
const view = (req: Request) => ({
  ip: req.ip ?? null,
  ips: req.ips,
  protocol: req.protocol,
  secure: req.secure,
  host: req.host ?? null,
  hostname: req.hostname ?? null,
  // undefined on a request no proxy-aware getter covers
  reason: (req.proxyAware as typeof req.proxyAware | undefined)?.reason ?? null,
  hops: (req.proxyAware as typeof req.proxyAware | undefined)?.hops ?? null,
})

const viaProxy = {
  'x-forwarded-for': '203.0.113.7, 10.1.2.3',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'Shop.Example:8443',
}
const opts = { trust: ['127.0.0.2', '10.0.0.0/8'], forwardedHost: true }

const majors = [
  { name: 'Express 5', express: express5, major: 5 },
  { name: 'Express 4', express: express4, major: 4 },
] as const

for (const { name, express, major } of majors) {
  t.test(name, async t => {
    // what 127.0.0.2 sending `viaProxy` resolves to
    const proxied = {
      ip: '203.0.113.7',
      ips: ['203.0.113.7', '10.1.2.3'],
      protocol: 'https',
      secure: true,
      // Express 5: host[:port]; Express 4: req.host is the hostname
      host: major === 5 ? 'shop.example:8443' : 'shop.example',
      hostname: 'shop.example',
      reason: 'untrusted-hop',
      hops: 2,
    }

    t.test('where properties on a request are dear, the middleware adds none', async t => {
      // Express sets each request's prototype: on V8 before 13 (Node 20, 22)
      // that gives it a hidden class of its own, and every property added
      // allocates a new one. Elsewhere the marks on the request are cheaper
      // than WeakMaps, and used.
      const app = express()
      const keys = new WeakMap<object, (string | symbol)[]>()
      const snap = (o: object) => keys.set(o, Reflect.ownKeys(o))
      const added = (o: object) =>
        Reflect.ownKeys(o)
          .filter(k => !keys.get(o)!.includes(k))
          .map(String)
      const middleware: { req: string[]; res: string[] }[] = []
      app.use((req, res, next) => {
        snap(req)
        snap(res)
        next()
      })
      app.use(trustProxy({ ...opts, hsts: true, secureCookies: true }))
      app.use((req, res, next) => {
        middleware.push({ req: added(req), res: added(res) })
        next()
      })
      app.get('/', (req, res) => {
        snap(req)
        snap(res)
        const seen = view(req)
        res.cookie('sid', 'a')
        res.json({ seen, again: view(req).ip, req: added(req), res: added(res) })
      })
      const port = await listen(t, createServer(app))
      const { json, headers, cookies } = await request(port, { from: '127.0.0.2', headers: viaProxy })
      t.match([headers['strict-transport-security'], cookies], [/max-age/, [/; Secure/]], 'the features ran')
      t.same(json, { seen: proxied, again: proxied.ip, req: [], res: [] }, 'the getters')
      // (the features made the middleware resolve the request)
      const marks = ['Symbol(proxy-aware.passed)', 'Symbol(proxy-aware.resolvedBy)', 'Symbol(proxy-aware.resolution)']
      const edit = ['Symbol(proxy-aware.headerEdit)']
      const dear = ownShapeAfterSetPrototype()
      t.same(middleware, [dear ? { req: [], res: [] } : { req: marks, res: edit }], 'the middleware')
    })

    t.test('a middleware before it gives each request a prototype of its own', async t => {
      // (the middleware recognises an app's requests by their prototype,
      // app.request; these have another one above it)
      const app = express()
      app.use((req, _res, next) => {
        Object.setPrototypeOf(req, Object.create(Object.getPrototypeOf(req) as object))
        next()
      })
      app.use(trustProxy(opts))
      app.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))
      for (const n of [1, 2]) {
        t.same((await request(port, { from: '127.0.0.2', headers: viaProxy })).json, proxied, `request ${n}`)
      }
      t.equal((await request(port, { from: '127.0.0.3', headers: viaProxy })).json.ip, '127.0.0.3', 'untrusted')
    })

    t.test('a trusted proxy and a direct client', async t => {
      const app = express()
      app.use(trustProxy(opts))
      app.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))

      t.same((await request(port, { from: '127.0.0.2', headers: viaProxy })).json, proxied, 'via the proxy')

      t.same(
        (await request(port, { from: '127.0.0.3', headers: viaProxy })).json,
        {
          ip: '127.0.0.3',
          ips: [],
          protocol: 'http',
          secure: false,
          host: major === 5 ? `127.0.0.1:${port}` : '127.0.0.1',
          hostname: '127.0.0.1',
          reason: 'untrusted-peer',
          hops: 0,
        },
        'direct: every forwarded header ignored',
      )

      t.same(
        (
          await request(port, {
            from: '127.0.0.2',
            headers: { 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'HTTPS' },
          })
        ).json,
        {
          ip: '10.0.0.9',
          ips: ['10.0.0.9'],
          protocol: 'https',
          secure: true,
          host: major === 5 ? `127.0.0.1:${port}` : '127.0.0.1',
          hostname: '127.0.0.1',
          reason: 'end-of-chain',
          hops: 1,
        },
        'every hop trusted: the leftmost is the client; forwardedHost without X-Forwarded-Host keeps Host',
      )

      t.same(
        (await request(port, { from: '127.0.0.2', headers: { 'x-forwarded-for': '198.51.100.1, not-an-ip' } })).json,
        {
          ip: '127.0.0.2',
          ips: [],
          protocol: 'http',
          secure: false,
          host: major === 5 ? `127.0.0.1:${port}` : '127.0.0.1',
          hostname: '127.0.0.1',
          reason: 'invalid-entry',
          hops: 0,
        },
        'junk in the chain: the proxy that sent it is the client',
      )
    })

    t.test('mounted sub-apps and routers see the same values', async t => {
      const app = express()
      const mw = trustProxy(opts)
      app.use(mw)
      const sub = express()
      const subsub = express()
      const router = express.Router()
      const subRouter = express.Router()
      sub.get('/info', (req, res) => {
        res.json(view(req))
      })
      subsub.get('/info', (req, res) => {
        res.json(view(req))
      })
      router.get('/info', (req, res) => {
        res.json(view(req))
      })
      subRouter.get('/info', (req, res) => {
        res.json(view(req))
      })
      sub.use('/deeper', subsub)
      sub.use('/router', subRouter)
      app.use('/sub', sub)
      app.use('/router', router)
      const port = await listen(t, createServer(app))
      for (const path of ['/sub/info', '/sub/deeper/info', '/router/info', '/sub/router/info']) {
        t.same((await request(port, { from: '127.0.0.2', path, headers: viaProxy })).json, proxied, path)
      }
      t.equal(app.get('trust proxy'), mw.trust, "the app's trust proxy is our predicate")
      t.equal(sub.get('trust proxy'), mw.trust, 'a mounted sub-app inherits it')
      t.equal(subsub.get('trust proxy'), mw.trust, 'and its own sub-app too')
    })

    t.test('a sub-app with its own middleware decides with its own trust', async t => {
      const app = express()
      app.use(trustProxy({ trust: '127.0.0.2' }))
      // something at the root reads req.ip first (a request logger)
      const rootSaw: string[] = []
      app.use((req, res, next) => {
        rootSaw.push(String(req.ip))
        next()
      })
      const strict = express()
      strict.get('/early', (req, res) => {
        res.json(view(req))
      })
      strict.use(trustProxy({ trust: '10.0.0.0/8' }))
      strict.get('/', (req, res) => {
        res.json(view(req))
      })
      app.use('/strict', strict)
      // a sub-app with its own middleware in an app without one
      const lone = express()
      const loneApp = express()
      lone.get('/early', (req, res) => {
        res.json(view(req))
      })
      lone.use(trustProxy({ trust: '127.0.0.4' }))
      lone.get('/', (req, res) => {
        res.json(view(req))
      })
      loneApp.use('/lone', lone)
      loneApp.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))
      const headers = { 'x-forwarded-for': '198.51.100.7' }
      const res = await request(port, { from: '127.0.0.2', path: '/strict', headers })
      t.same(rootSaw, ['198.51.100.7'], 'the root trusts 127.0.0.2')
      t.match(res.json, { ip: '127.0.0.2', ips: [], reason: 'untrusted-peer' }, 'the sub-app does not')
      t.match(
        (await request(port, { from: '127.0.0.2', path: '/strict/early', headers })).json,
        { ip: '198.51.100.7', reason: 'untrusted-hop' },
        'a sub-app route before its middleware: the decision of the one it passed',
      )

      const lonePort = await listen(t, createServer(loneApp))
      await request(lonePort, { from: '127.0.0.2', path: '/lone', headers })
      t.match(
        (await request(lonePort, { from: '127.0.0.4', path: '/lone/early', headers })).json,
        { ip: '198.51.100.7', reason: 'untrusted-hop' },
        "a sub-app route before its middleware, nothing passed: the sub-app's decision",
      )
      t.match(
        (await request(lonePort, { from: '127.0.0.4', path: '/', headers })).json,
        { ip: '127.0.0.4', reason: null },
        "the app it is mounted in keeps Express's defaults (no trust)",
      )
    })

    t.test('routes the middleware does not cover never believe more than proxy-aware', async t => {
      // the finding: a route before the middleware, routes outside its mount
      // path and a sub-app mounted before it kept Express's own getters, and
      // once the middleware had set `trust proxy` those believed the client's
      // X-Forwarded-Host (forwardedHost is off) and leftmost X-Forwarded-Proto
      const app = express()
      const full = (req: Request) => ({ ...view(req), subdomains: req.subdomains })
      app.get('/early', (req, res) => {
        res.json(full(req))
      })
      const sub = express()
      sub.get('/', (req, res) => {
        res.json(full(req))
      })
      app.use('/sub', sub)
      const router = express.Router()
      router.get('/', (req, res) => {
        res.json(full(req))
      })
      app.use('/router', router)
      app.use('/api', trustProxy({ trust: '127.0.0.2' }))
      app.get('/api', (req, res) => {
        res.json(full(req))
      })
      app.get('/other', (req, res) => {
        res.json(full(req))
      })
      const port = await listen(t, createServer(app))
      const uncovered = ['/early', '/sub', '/router', '/other']
      // a client behind the proxy forges host and protocol; the proxy
      // appends its own X-Forwarded-For and X-Forwarded-Proto entries
      const forged = {
        'host': 'www.app.example',
        'x-forwarded-for': '6.6.6.6, 203.0.113.7',
        'x-forwarded-proto': 'https, http',
        'x-forwarded-host': 'www.evil.example',
      }
      const strict = {
        protocol: 'http',
        secure: false,
        host: 'www.app.example',
        hostname: 'www.app.example',
        subdomains: ['www'],
      }

      // before any request has passed the middleware: Express's own getters
      // with the default `trust proxy` (false) believe no header at all
      for (const path of uncovered) {
        t.match(
          (await request(port, { from: '127.0.0.2', path, headers: forged })).json,
          { ...strict, ip: '127.0.0.2', ips: [] },
          `${path} before`,
        )
      }

      const decided = (await request(port, { from: '127.0.0.2', path: '/api', headers: forged })).json
      t.match(
        decided,
        { ...strict, ip: '203.0.113.7', ips: ['203.0.113.7'], reason: 'untrusted-hop' },
        "proxy-aware: no forwarded host, the proxy's protocol",
      )

      // after: every route of the app gets proxy-aware's decision
      for (const path of uncovered) {
        t.same(
          (await request(port, { from: '127.0.0.2', path, headers: forged })).json,
          decided,
          `${path} after, via the proxy`,
        )
      }
      const direct = (await request(port, { from: '127.0.0.3', path: '/api', headers: forged })).json
      t.match(direct, { ...strict, ip: '127.0.0.3', ips: [], reason: 'untrusted-peer' })
      for (const path of uncovered) {
        t.same(
          (await request(port, { from: '127.0.0.3', path, headers: forged })).json,
          direct,
          `${path} after, direct`,
        )
      }
    })

    t.test("a limiter before the middleware reads proxy-aware's req.ip", async t => {
      const app = express()
      const seen: string[] = []
      app.use((req, res, next) => {
        seen.push(`${req.ip} ${req.protocol} ${req.hostname}`)
        next()
      })
      app.use(trustProxy({ trust: '127.0.0.2' }))
      app.get('/', (req, res) => {
        res.end()
      })
      const port = await listen(t, createServer(app))
      const headers = {
        'host': 'app.example',
        'x-forwarded-for': '198.51.100.7',
        'x-forwarded-proto': 'https, http',
        'x-forwarded-host': 'evil.example',
      }
      await request(port, { from: '127.0.0.2', headers })
      await request(port, { from: '127.0.0.2', headers })
      await request(port, { from: '127.0.0.3', headers })
      t.same(seen, [
        '127.0.0.2 http app.example', // the first request: Express's defaults, no header believed
        '198.51.100.7 http app.example',
        '127.0.0.3 http app.example',
      ])
    })

    t.test('two middlewares on one app: each request gets the last one it passed', async t => {
      const app = express()
      app.get('/early', (req, res) => {
        res.json(view(req))
      })
      app.use(trustProxy({ trust: '127.0.0.2' }))
      app.use('/strict', trustProxy({ trust: '10.0.0.0/8' }))
      app.get('/strict', (req, res) => {
        res.json(view(req))
      })
      app.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))
      const headers = { 'x-forwarded-for': '198.51.100.7' }
      t.match((await request(port, { from: '127.0.0.2', path: '/strict', headers })).json, {
        ip: '127.0.0.2',
        reason: 'untrusted-peer',
      })
      t.match((await request(port, { from: '127.0.0.2', path: '/', headers })).json, {
        ip: '198.51.100.7',
        reason: 'untrusted-hop',
      })
      t.match(
        (await request(port, { from: '127.0.0.2', path: '/early', headers })).json,
        { ip: '198.51.100.7', reason: 'untrusted-hop' },
        'a route before both: the decision of the first one installed',
      )
    })

    t.test('read many times, decided once', async t => {
      let calls = 0
      const trust = (address: string) => {
        calls++
        return address === '127.0.0.2' || address.startsWith('10.')
      }
      const app = express()
      app.use(trustProxy({ trust, forwardedHost: true }))
      app.get('/', (req, res) => {
        const before = calls
        let v = view(req)
        for (let i = 0; i < 50; i++) v = view(req)
        res.json({ v, calls: calls - before, same: req.proxyAware === req.proxyAware })
      })
      const port = await listen(t, createServer(app))
      const body = (await request(port, { from: '127.0.0.2', headers: viaProxy })).json
      t.same(body.v, proxied)
      // peer, 10.1.2.3, 203.0.113.7: three trust decisions for 51 reads
      t.equal(body.calls, 3)
      t.equal(body.same, true)
    })

    t.test('an app that set trust proxy itself is overruled', async t => {
      const app = express()
      app.set('trust proxy', true)
      const warnings: unknown[][] = []
      const mw = trustProxy({
        trust: '127.0.0.2',
        logger: {
          warn: (...args: unknown[]) => {
            warnings.push(args)
          },
          info() {},
        },
      })
      app.use(mw)
      app.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))
      const direct = await request(port, { from: '127.0.0.3', headers: { 'x-forwarded-for': '6.6.6.6' } })
      t.equal(direct.json.ip, '127.0.0.3', 'a direct client cannot pick its IP')
      t.equal(app.get('trust proxy'), mw.trust)
      await request(port, { from: '127.0.0.3' })
      t.match(
        warnings,
        [
          [
            { trustProxy: 'true' },
            /set Express's trust proxy itself \(before or after the middleware\).*remove the app\.set\('trust proxy', \.\.\.\) call/,
          ],
        ],
        "warned once: routes before it used Express's reading until then",
      )
    })

    t.test('trust proxy set after the middleware: the same warning, which does not blame routes before it', async t => {
      const app = express()
      const warnings: unknown[][] = []
      app.use(
        trustProxy({ trust: '127.0.0.2', logger: { warn: (...args: unknown[]) => warnings.push(args), info() {} } }),
      )
      app.set('trust proxy', 'loopback')
      app.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))
      const direct = await request(port, { from: '127.0.0.3', headers: { 'x-forwarded-for': '6.6.6.6' } })
      t.equal(direct.json.ip, '127.0.0.3', 'the app cannot widen trust after the middleware either')
      // (the other warning: 127.0.0.3, a loopback peer, sent X-Forwarded-For untrusted)
      const ours = warnings.filter(w => 'trustProxy' in (w[0] as object))
      t.same(
        ours.map(w => w[0]),
        [{ trustProxy: 'loopback' }],
        'one trust proxy warning',
      )
      t.match(String(ours[0]?.[1]), /before or after the middleware/)
      t.notMatch(String(ours[0]?.[1]), /routes before the middleware used it/)
    })

    t.test('warns once when the middleware does not cover the whole app', async t => {
      const capture = () => {
        const warnings: unknown[][] = []
        return {
          warnings,
          logger: {
            warn: (...args: unknown[]) => {
              warnings.push(args)
            },
            info() {},
          },
        }
      }
      const cases: Array<[string, (app: Express, mw: ReturnType<typeof trustProxy>) => void, string, unknown[]]> = [
        [
          'at the root, first',
          (app, mw) => {
            app.use(mw)
          },
          '/',
          [],
        ],
        [
          'after plain middleware',
          (app, mw) => {
            app.use((req, res, next) => {
              next()
            })
            app.use(mw)
          },
          '/',
          [],
        ],
        [
          'under a path',
          (app, mw) => {
            app.use('/api', mw)
          },
          '/api',
          [[{ mountPath: '/api' }, /runs under \/api/]],
        ],
        [
          'inside a sub-app',
          (app, mw) => {
            const sub = express()
            sub.use(mw)
            app.use('/sub', sub)
          },
          '/sub',
          [[{ mountPath: '/sub' }, /mount it first, at the root/]],
        ],
        [
          'in a router at the root',
          (app, mw) => {
            const r = express.Router()
            r.use(mw)
            app.use(r)
          },
          '/',
          [],
        ],
        [
          'after routes, a router and a sub-app',
          (app, mw) => {
            app.get('/a', (req, res) => {
              res.end()
            })
            app.use('/r', express.Router())
            app.use('/s', express())
            app.use(mw)
          },
          '/',
          [[{ routes: 3 }, /3 route\(s\) or router\(s\) come before/]],
        ],
      ]
      for (const [label, mount, path, expected] of cases) {
        const { warnings, logger } = capture()
        const app = express()
        mount(app, trustProxy({ trust: '127.0.0.2', logger }))
        app.use((req, res) => {
          res.end()
        })
        const port = await listen(t, createServer(app))
        await request(port, { from: '127.0.0.2', path })
        await request(port, { from: '127.0.0.2', path })
        t.match(warnings, expected, label)
        t.equal(warnings.length, expected.length, `${label}: once`)
      }
    })

    t.test('trust: true is installed as true', async t => {
      const app = express()
      app.use(trustProxy({ trust: true }))
      app.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))
      const res = await request(port, { from: '127.0.0.3', headers: { 'x-forwarded-for': '198.51.100.1, 10.0.0.1' } })
      t.equal(res.json.ip, '198.51.100.1', 'every hop trusted: the leftmost entry')
      t.equal(app.get('trust proxy'), true, 'Express and libraries reading it see trust-everyone')
    })

    t.test('dual-stack server: mapped peers are IPv4', async t => {
      const app = express()
      app.use(trustProxy({ trust: '127.0.0.2' }))
      app.get('/', (req, res) => {
        res.json({ ...view(req), peer: req.proxyAware.peer, raw: req.socket.remoteAddress })
      })
      const port = await listen(t, createServer(app), '::')
      const res = await request(port, { from: '127.0.0.2', headers: { 'x-forwarded-for': '2001:DB8:0:0:0:0:0:1' } })
      t.equal(res.json.raw, '::ffff:127.0.0.2', 'the socket says ::ffff:127.0.0.2')
      t.equal(res.json.peer, '127.0.0.2', 'reported as IPv4')
      t.equal(res.json.ip, '2001:db8::1', 'trusted as 127.0.0.2; the client is canonical')
      t.same(res.json.ips, ['2001:db8::1'])
    })

    t.test('an unspecified forwarded address is junk: never req.ip, not in req.ips', async t => {
      const app = express()
      app.use(trustProxy({ trust: ['127.0.0.2', '10.0.0.0/8'] }))
      app.get('/', (req, res) => {
        res.json(view(req))
      })
      const port = await listen(t, createServer(app))
      const res = await request(port, {
        from: '127.0.0.2',
        headers: { 'x-forwarded-for': '203.0.113.7, ::, 10.1.2.3' },
      })
      t.same([res.json.ip, res.json.ips, res.json.reason], ['10.1.2.3', ['10.1.2.3'], 'invalid-entry'])
    })

    t.test('no deprecation warnings from reading req.host', async t => {
      const deprecations: unknown[] = []
      const onDeprecation = (err: unknown) => {
        deprecations.push(err)
      }
      process.on('deprecation', onDeprecation)
      t.teardown(() => {
        process.off('deprecation', onDeprecation)
      })
      const app = express()
      app.use(trustProxy(opts))
      app.get('/', (req, res) => {
        res.json({ host: req.host, hostname: req.hostname })
      })
      const port = await listen(t, createServer(app))
      const res = await request(port, { from: '127.0.0.2', headers: viaProxy })
      t.same(res.json, { host: proxied.host, hostname: 'shop.example' })
      t.same(deprecations, [])
    })
  })
}

t.test('bad options throw when the middleware is created', async t => {
  const cases: [unknown, string, RegExp][] = [
    [undefined, 'trust', /is required/],
    [{}, 'trust', /is required/],
    [{ trust: 'proxy.example.com' }, 'trust', /proxy\.example\.com/],
    [{ trust: '::ffff:10.0.0.0/8' }, 'trust', /::ffff:10\.0\.0\.0\/8/],
    [{ trust: 'loopback', headers: 'forwarded' }, 'headers', /"forwarded"/],
    [{ trust: 'loopback', logger: 'console' }, 'logger', /"console"/],
    [{ trust: 'loopback', logger: { warn() {} } }, 'logger', /warn\(\) and info\(\).*got an object without info\(\)$/],
    [{ trust: 'loopback', logger: {} }, 'logger', /got an object without warn\(\) and info\(\)$/],
    [{ trust: 'loopback', logger: 'console' }, 'logger', /got "console"$/],
    [{ trust: 'loopback', trustproxy: true }, 'trustproxy', /is not a known option/],
  ]
  for (const [options, option, message] of cases) {
    t.throws(
      () => trustProxy(options as never),
      { name: 'ProxyAwareConfigError', option, message },
      JSON.stringify(options) ?? 'no options',
    )
  }
  t.type(trustProxy({ trust: 'loopback', logger: console }), 'function', 'console is a logger')
})

t.test('works as plain connect-style middleware without Express', async t => {
  const mw = trustProxy({ trust: '127.0.0.2' })
  const server = createServer((req, res) => {
    mw(req as unknown as Request, res as never, () => {
      const r = req as unknown as Request
      res.end(JSON.stringify({ ip: r.ip, ips: r.ips, host: r.host, hostname: r.hostname, secure: r.secure }))
    })
  })
  const port = await listen(t, server)
  const res = await request(port, {
    from: '127.0.0.2',
    headers: { 'x-forwarded-for': '198.51.100.3', 'x-forwarded-proto': 'https' },
  })
  t.same(res.json, {
    ip: '198.51.100.3',
    ips: ['198.51.100.3'],
    host: `127.0.0.1:${port}`,
    hostname: '127.0.0.1',
    secure: true,
  })
})

t.test('the feature seam: checks answer, responders run, the logger is passed', async t => {
  const seen: FeatureContext[] = []
  const compiler: FeatureCompiler = {
    options: [],
    compile: () => ({
      check(ctx) {
        seen.push(ctx)
        if (ctx.req.headers['x-block'] !== undefined) {
          return {
            status: 403,
            headers: { 'content-type': 'text/plain', 'x-by': 'seam' },
            body: `blocked ${ctx.resolution.ip}`,
          }
        }
        return undefined
      },
      onResponse(ctx) {
        ctx.res.setHeader('x-seen-ip', String(ctx.resolution.ip))
      },
    }),
  }
  const logger = { warn() {}, info() {} }
  const mw = expressMiddleware({ trust: '127.0.0.2', logger }, [compiler])
  const app = express5()
  app.use(mw)
  app.all('/', (req, res) => {
    res.send(`hello ${req.ip}`)
  })
  const port = await listen(t, createServer(app))

  const blocked = await request(port, {
    from: '127.0.0.2',
    headers: { 'x-forwarded-for': '203.0.113.5', 'x-block': '1' },
  })
  t.equal(blocked.status, 403)
  t.equal(blocked.headers['x-by'], 'seam')
  t.equal(blocked.body, 'blocked 203.0.113.5')
  t.equal(blocked.headers['x-seen-ip'], undefined, 'responders do not run for an answered request')

  const head = await request(port, { from: '127.0.0.2', method: 'HEAD', headers: { 'x-block': '1' } })
  t.equal(head.status, 403)
  t.equal(head.body, '', 'no body for HEAD')

  const passed = await request(port, { from: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.6' } })
  t.equal(passed.status, 200)
  t.equal(passed.body, 'hello 203.0.113.6')
  t.equal(passed.headers['x-seen-ip'], '203.0.113.6')
  t.equal(seen[0]?.log, logger, 'the logger option reaches the features')
  t.equal(seen[0]?.route, undefined)
})

t.test('entry point: a ProxyAwareConfigError is a TypeError', async t => {
  const err = t.throws(() => trustProxy({ trust: 'nope' }))
  t.type(err, ProxyAwareConfigError)
  t.type(err, TypeError)
})

t.test('a trusted Unix-socket peer: req.ips keeps every forwarded entry', async t => {
  const { mkdtempSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { request } = await import('node:http')
  const socketPath = join(mkdtempSync(join(tmpdir(), 'pa-unix-')), 'app.sock')
  const app = express5()
  app.use(trustProxy({ trust: '10.0.0.0/8', trustUnixSocket: true }))
  app.get('/', (req, res) => {
    res.json({ ...view(req), all: req.proxyAware.ips, peer: req.proxyAware.peer ?? null })
  })
  const server = app.listen(socketPath)
  await once(server, 'listening')
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  const body = await new Promise<string>((resolve, reject) => {
    request({ socketPath, path: '/', headers: { 'x-forwarded-for': '1.1.1.1, 10.0.0.5' } }, res => {
      let data = ''
      res.on('data', c => {
        data += c
      })
      res.on('end', () => resolve(data))
    })
      .on('error', reject)
      .end()
  })
  t.match(JSON.parse(body), {
    ip: '1.1.1.1',
    ips: ['1.1.1.1', '10.0.0.5'],
    all: ['10.0.0.5', '1.1.1.1'],
    peer: null,
    hops: 2,
  })
})

import t, { type Test } from 'tap'
import http from 'node:http'
import https from 'node:https'
import express from 'express'
import Fastify from 'fastify'
import { createTrustProxy, ProxyAwareConfigError, type TrustProxyOptions } from '../src/index.js'
import trustProxyFastify from '../src/fastify.js'
import { trustProxy as trustProxyExpress } from '../src/express.js'
import { CLIENT, PROXY, listen, raw, recorder, siteRequest as request, tls } from './support/http.js'
import { engineOf } from './support/engine.js'

type Options = Omit<TrustProxyOptions, 'trust'> & { trust?: TrustProxyOptions['trust'] }

/** A plain http server behind proxy-aware's core; the app echoes the URL. */
const serve = async (tt: Test, options: Options, secure = false) => {
  const proxy = createTrustProxy({ trust: PROXY, ...options })
  const log = recorder()
  const app = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (proxy.handle(req, res, log)) return
    res.end(`app ${req.method} ${req.url}`)
  }
  const server = secure ? https.createServer(tls, app) : http.createServer(app)
  return { port: await listen(tt, server), log }
}

const ALLOWED = {
  allowedHosts: ['good.com', '*.example.com', '127.0.0.1', '[::1]', 'xn--4ca9at.com', '[::ffff:169.254.169.254]'],
}

t.test('configuration errors name the option and the value', async t => {
  const cases: [unknown, string, RegExp][] = [
    [{}, 'httpsRedirect', /needs `host` .* or `allowedHosts`.*open redirect/],
    [
      true,
      'httpsRedirect',
      /needs `host` .* or `allowedHosts` .*e\.g\. httpsRedirect: \{ host: 'example\.com' \}.*, got true$/,
    ],
    [['good.com'], 'httpsRedirect', /must be an options object/],
    [{ host: 'good.com', hots: 'x' }, 'httpsRedirect.hots', /is not a known option \(known: host, allowedHosts/],
    [{ host: 'good.com/x' }, 'httpsRedirect.host', /got "good.com\/x"/],
    [{ host: 'good.com@evil.com' }, 'httpsRedirect.host', /got "good.com@evil.com"/],
    [{ host: 42 }, 'httpsRedirect.host', /got 42/],
    [{ host: 'good.com:0' }, 'httpsRedirect.host', /got "good.com:0"/],
    [{ host: 'good.com:8443', port: 8443 }, 'httpsRedirect.host', /give the port once/],
    [
      { allowedHosts: 'good.com' },
      'httpsRedirect.allowedHosts',
      /must be a non-empty array of host names, got "good.com"/,
    ],
    [{ allowedHosts: ['*'] }, 'httpsRedirect.allowedHosts', /got "\*"/],
    [{ allowedHosts: [] }, 'httpsRedirect.allowedHosts', /must be a non-empty array of host names, got \[\]/],
    [{ allowedHosts: ['*.com'] }, 'httpsRedirect.allowedHosts', /wildcard for a whole top-level domain, got "\*.com"/],
    [{ allowedHosts: ['*.com.'] }, 'httpsRedirect.allowedHosts', /wildcard for a whole top-level domain/],
    [{ allowedHosts: ['good.com:443'] }, 'httpsRedirect.allowedHosts', /without port .*got "good.com:443"/],
    [{ allowedHosts: ['*.[::1]'] }, 'httpsRedirect.allowedHosts', /got "\*.\[::1\]"/],
    [{ allowedHosts: ['.'] }, 'httpsRedirect.allowedHosts', /got "."/],
    // no empty labels: https://<empty>/evil.com/x would leave our host
    [{ host: '.' }, 'httpsRedirect.host', /got "\."/],
    [{ host: '..' }, 'httpsRedirect.host', /got "\.\."/],
    [{ host: '.example.com' }, 'httpsRedirect.host', /got "\.example\.com"/],
    [{ host: 'a..b' }, 'httpsRedirect.host', /got "a\.\.b"/],
    [{ allowedHosts: ['a..b'] }, 'httpsRedirect.allowedHosts', /got "a\.\.b"/],
    [{ allowedHosts: ['*..example.com'] }, 'httpsRedirect.allowedHosts', /got "\*\.\.example\.com"/],
    [{ allowedHosts: ['good com'] }, 'httpsRedirect.allowedHosts', /got "good com"/],
    [{ allowedHosts: [null] }, 'httpsRedirect.allowedHosts', /got null/],
    [{ host: 'good.com', port: 0 }, 'httpsRedirect.port', /from 1 to 65535, got 0/],
    [{ host: 'good.com', port: '443' }, 'httpsRedirect.port', /got "443"/],
    [{ host: 'good.com', port: 70000 }, 'httpsRedirect.port', /got 70000/],
    [{ host: 'good.com', status: 303 }, 'httpsRedirect.status', /301, 302, 307 or 308, got 303/],
    [{ host: 'good.com', otherMethods: 301 }, 'httpsRedirect.otherMethods', /403, 307 or 308, got 301/],
    [
      { host: 'good.com', exempt: '/health' },
      'httpsRedirect.exempt',
      /must be an array .* or a function, got "\/health"/,
    ],
    [{ host: 'good.com', exempt: ['health'] }, 'httpsRedirect.exempt', /starting with "\/" or RegExps, got "health"/],
    [{ host: 'good.com', exempt: [/^\/h/g] }, 'httpsRedirect.exempt', /g or y flag, got \{\} \(\/\^\\\/h\/g\)/],
    [{ host: 'good.com', exempt: [/^\/h/y] }, 'httpsRedirect.exempt', /g or y flag/],
  ]
  for (const [httpsRedirect, option, message] of cases) {
    t.throws(
      () => createTrustProxy({ trust: PROXY, httpsRedirect } as TrustProxyOptions),
      { name: 'ProxyAwareConfigError', option, message },
      `${JSON.stringify(httpsRedirect)}`,
    )
  }
  const err = t.throws(() => createTrustProxy({ trust: PROXY, httpsRedirect: {} }))
  t.ok(err instanceof ProxyAwareConfigError)
  t.match((err as Error).message, /^proxy-aware: option "httpsRedirect" needs/)
  // the adapters validate the same way, at startup
  t.throws(() => trustProxyExpress({ trust: PROXY, httpsRedirect: {} }), {
    option: 'httpsRedirect',
    message: /needs `host`/,
  })
  // off unless configured
  t.equal(engineOf({ trust: PROXY }).hasFeatures, false)
  t.equal(engineOf({ trust: PROXY, httpsRedirect: undefined }).hasFeatures, false)
})

t.test('http is redirected; https, directly or from a trusted proxy, is not', async t => {
  const { port } = await serve(t, { httpsRedirect: ALLOWED })
  const cases: [string, Record<string, string>, string, string | undefined][] = [
    // [from, headers, expected body or status, expected Location]
    [CLIENT, {}, '301', 'https://good.com/a?b=1'],
    [CLIENT, { 'x-forwarded-proto': 'https' }, '301', 'https://good.com/a?b=1'], // forged: untrusted peer
    [CLIENT, { forwarded: 'for=1.2.3.4;proto=https' }, '301', 'https://good.com/a?b=1'],
    [PROXY, {}, '301', 'https://good.com/a?b=1'],
    [PROXY, { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'http' }, '301', 'https://good.com/a?b=1'],
    [PROXY, { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' }, 'app GET /a?b=1', undefined],
    [PROXY, { 'x-forwarded-proto': 'HTTPS' }, 'app GET /a?b=1', undefined],
  ]
  for (const [from, headers, expected, location] of cases) {
    const r = await request(port, { from, headers, path: '/a?b=1' })
    const name = `${from} ${JSON.stringify(headers)}`
    if (location === undefined) {
      t.equal(r.status, 200, name)
      t.equal(r.body, expected, name)
    } else {
      t.equal(r.status, Number(expected), name)
      t.equal(r.headers.location, location, name)
      t.equal(r.body, `Redirecting to ${location}\n`, name)
      t.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)), name)
      t.equal(r.cookies.length, 0, name)
    }
  }
  // a forwarded protocol from an untrusted peer: warned about once (the
  // usual cause of redirect loops is a proxy missing from `trust`)
  const loop = await serve(t, { httpsRedirect: ALLOWED })
  t.equal((await request(loop.port, { from: CLIENT })).status, 301)
  t.same(loop.log.entries, [])
  for (let i = 0; i < 2; i++) {
    t.equal((await request(loop.port, { from: CLIENT, headers: { 'x-forwarded-proto': 'https' } })).status, 301)
    t.equal((await request(loop.port, { from: CLIENT, headers: { forwarded: 'proto=https' } })).status, 301)
  }
  t.match(loop.log.entries, [
    { level: 'warn', obj: { peer: CLIENT }, msg: /untrusted peer says it came over https.*add it to `trust`/ },
  ])
  t.equal(loop.log.entries.length, 1)
  // the Forwarded convention, when configured
  const fwd = await serve(t, { headers: ['forwarded'], httpsRedirect: ALLOWED })
  t.equal((await request(fwd.port, { from: PROXY, headers: { forwarded: 'for=1.2.3.4;proto=https' } })).status, 200)
  t.equal((await request(fwd.port, { from: PROXY, headers: { forwarded: 'for=1.2.3.4;proto=http' } })).status, 301)
  // a TLS socket is https whatever an untrusted peer claims
  const tlsServer = await serve(t, { httpsRedirect: ALLOWED }, true)
  const direct = await request(tlsServer.port, { secure: true, headers: { 'x-forwarded-proto': 'http' } })
  t.equal(direct.status, 200)
  t.equal(direct.body, 'app GET /')
})

t.test('host checks: allowedHosts', async t => {
  const { port, log } = await serve(t, { httpsRedirect: ALLOWED })
  // [Host header lines, expected status, expected Location]
  const cases: [string[], number, string | undefined][] = [
    [['good.com'], 301, 'https://good.com/p?q'],
    [['GOOD.COM'], 301, 'https://good.com/p?q'],
    [['good.com.'], 301, 'https://good.com/p?q'],
    [['GOOD.COM.:80'], 301, 'https://good.com/p?q'],
    [['good.com:80'], 301, 'https://good.com/p?q'], // the request's port is never kept
    [['good.com:8080'], 301, 'https://good.com/p?q'],
    [['a.example.com'], 301, 'https://a.example.com/p?q'],
    [['A.B.Example.COM:1234'], 301, 'https://a.b.example.com/p?q'],
    [['127.0.0.1:8080'], 301, 'https://127.0.0.1/p?q'],
    [['[::1]:8080'], 301, 'https://[::1]/p?q'],
    [['[0:0::1]'], 301, 'https://[0:0::1]/p?q'], // matched canonically, kept as written
    [['XN--4CA9AT.COM:443'], 301, 'https://xn--4ca9at.com/p?q'],
    [['[::FFFF:169.254.169.254]:80'], 301, 'https://[::ffff:169.254.169.254]/p?q'],
    [['[::ffff:a9fe:a9fe]'], 301, 'https://[::ffff:a9fe:a9fe]/p?q'],
    [['169.254.169.254'], 400, undefined],
    // not allowed
    [['evil.com'], 400, undefined],
    [['example.com'], 400, undefined],
    [['.example.com'], 400, undefined],
    [['example.com.evil.com'], 400, undefined],
    [['good.com.evil.com'], 400, undefined],
    [['evilgood.com'], 400, undefined],
    [['127.0.0.2'], 400, undefined],
    [['[::2]'], 400, undefined],
    // malformed (Django / ASP.NET / open-redirect lists)
    [['good.com@evil.com'], 400, undefined],
    [['good.com:dr.frankenstein@evil.com'], 400, undefined],
    [['good.com:dr.frankenstein@evil.com:80'], 400, undefined],
    [['good.com:80/badpath'], 400, undefined],
    [['good.com/evil'], 400, undefined],
    [['good.com\\evil.com'], 400, undefined],
    [['good.com#x'], 400, undefined],
    [['good.com?x'], 400, undefined],
    [['good.com:abc'], 400, undefined],
    [['good.com:'], 400, undefined],
    [['good.com:0'], 400, undefined],
    [['good.com:65536'], 400, undefined],
    [['good.com:123456'], 400, undefined],
    [['good.com: recovermypassword.com'], 400, undefined],
    [['good.com evil.com'], 400, undefined],
    [['good.com\tevil.com'], 400, undefined],
    [['[::1'], 400, undefined],
    [['[]'], 400, undefined],
    [['::1'], 400, undefined],
    [['a'.repeat(2000)], 400, undefined],
    // ambiguous: two Host lines (Node keeps the first)
    [['good.com', 'evil.com'], 400, undefined],
    [['good.com', 'good.com'], 400, undefined],
  ]
  for (const [hosts, status, location] of cases) {
    const head = `GET /p?q HTTP/1.1\r\n${hosts.map(h => `Host: ${h}`).join('\r\n')}`
    const r = await raw(port, head)
    t.equal(r.status, status, JSON.stringify(hosts))
    t.equal(r.headers.location, location, JSON.stringify(hosts))
    if (status === 400) t.match(r.body, /^Bad Request: /, JSON.stringify(hosts))
  }
  t.match(log.entries[log.entries.length - 1], {
    level: 'info',
    msg: 'proxy-aware: httpsRedirect: more than one Host header',
  })
  // HTTP/1.0 without Host (Node accepts it)
  const missing = await raw(port, 'GET / HTTP/1.0')
  t.equal(missing.status, 400)
  t.equal(missing.body, 'Bad Request: missing Host header\n')
  t.equal((await raw(port, 'GET / HTTP/1.1\r\nHost: evil.com')).body, 'Bad Request: host not allowed\n')
  t.equal((await raw(port, 'GET / HTTP/1.1\r\nHost: a@b')).body, 'Bad Request: malformed Host header\n')
  t.equal(
    (await raw(port, 'GET / HTTP/1.1\r\nHost: good.com\r\nHost: evil.com')).body,
    'Bad Request: more than one Host header\n',
  )
})

t.test('host checks: canonical host and X-Forwarded-Host', async t => {
  const canonical = await serve(t, { httpsRedirect: { host: 'WWW.Good.com.' } })
  for (const head of ['GET /x HTTP/1.1\r\nHost: evil.com', 'GET /x HTTP/1.0', 'GET /x HTTP/1.1\r\nHost: a@b']) {
    const r = await raw(canonical.port, head)
    t.equal(r.status, 301, head)
    t.equal(r.headers.location, 'https://www.good.com/x', head)
  }
  t.equal((await raw(canonical.port, 'GET /x HTTP/1.1\r\nHost: good.com\r\nHost: evil.com')).status, 400)
  // host with port; 443 is omitted
  const withPort = await serve(t, { httpsRedirect: { host: 'good.com:8443' } })
  t.equal((await request(withPort.port)).headers.location, 'https://good.com:8443/')
  const with443 = await serve(t, { httpsRedirect: { host: 'good.com:443' } })
  t.equal((await request(with443.port)).headers.location, 'https://good.com/')
  const v6 = await serve(t, { httpsRedirect: { host: '[2001:DB8::1]', port: 8443 } })
  t.equal((await request(v6.port)).headers.location, 'https://[2001:db8::1]:8443/')
  const mapped = await serve(t, { httpsRedirect: { host: '[::FFFF:10.0.0.1]' } })
  t.equal((await request(mapped.port)).headers.location, 'https://[::ffff:10.0.0.1]/')
  // both: the request's host must be allowed, the target is the canonical one
  const both = await serve(t, { httpsRedirect: { host: 'www.good.com', allowedHosts: ['good.com', 'www.good.com'] } })
  t.equal((await request(both.port, { headers: { host: 'good.com' } })).headers.location, 'https://www.good.com/')
  t.equal((await request(both.port, { headers: { host: 'evil.com' } })).status, 400)
  // allowedHosts with a port option
  const port8443 = await serve(t, { httpsRedirect: { ...ALLOWED, port: 8443 } })
  t.equal(
    (await request(port8443.port, { headers: { host: 'good.com:80' } })).headers.location,
    'https://good.com:8443/',
  )
  // X-Forwarded-Host is read only from a trusted proxy, and only with forwardedHost
  const xfh = await serve(t, { forwardedHost: true, httpsRedirect: ALLOWED })
  const fromProxy = await request(xfh.port, { from: PROXY, headers: { 'x-forwarded-host': 'a.example.com' } })
  t.equal(fromProxy.headers.location, 'https://a.example.com/')
  const evilFromProxy = await request(xfh.port, { from: PROXY, headers: { 'x-forwarded-host': 'evil.com' } })
  t.equal(evilFromProxy.status, 400)
  const fromClient = await request(xfh.port, { from: CLIENT, headers: { 'x-forwarded-host': 'evil.com' } })
  t.equal(fromClient.headers.location, 'https://good.com/')
  const noFh = await serve(t, { httpsRedirect: ALLOWED })
  const ignored = await request(noFh.port, { from: PROXY, headers: { 'x-forwarded-host': 'a.example.com' } })
  t.equal(ignored.headers.location, 'https://good.com/')
})

t.test('paths and queries are kept byte for byte and never leave our host', async t => {
  const { port } = await serve(t, { httpsRedirect: ALLOWED })
  const cases: [string, string | undefined][] = [
    ['/', 'https://good.com/'],
    ['//evil.com/x', 'https://good.com//evil.com/x'],
    ['/\\evil.com', 'https://good.com/\\evil.com'],
    ['/\\/evil.com/', 'https://good.com/\\/evil.com/'],
    ['/%2F%2Fevil.com', 'https://good.com/%2F%2Fevil.com'],
    ['/..%2F..%2Fetc', 'https://good.com/..%2F..%2Fetc'],
    ['/a/../b/./c', 'https://good.com/a/../b/./c'],
    ['/@evil.com', 'https://good.com/@evil.com'],
    ['/p?q=%20&r=a%26b&s=/x?y#', 'https://good.com/p?q=%20&r=a%26b&s=/x?y#'],
    ['/caf%C3%A9?x=%FF', 'https://good.com/caf%C3%A9?x=%FF'],
    ['/?', 'https://good.com/?'],
    // absolute-form: the authority in the target is never used
    ['http://evil.com/x?y=1', 'https://good.com/x?y=1'],
    ['http://evil.com', 'https://good.com/'],
    ['http://evil.com?y', 'https://good.com/?y'],
    ['https://evil.com//other.com', 'https://good.com//other.com'],
    ['http://good.com@evil.com/', 'https://good.com/'],
  ]
  for (const [target, location] of cases) {
    const r = await raw(port, `GET ${target} HTTP/1.1\r\nHost: good.com`)
    t.equal(r.status, 301, target)
    t.equal(r.headers.location, location, target)
    t.equal(new URL(r.headers.location!).host, 'good.com', target)
  }
  // a target that cannot become a path gets 400, never a 500
  const star = await raw(port, 'GET * HTTP/1.1\r\nHost: good.com')
  t.equal(star.status, 400)
  t.equal(star.body, 'Bad Request: the request target cannot be redirected\n')
  // Node's parser refuses this one itself
  t.equal((await raw(port, 'GET evil.com/x HTTP/1.1\r\nHost: good.com')).status, 400)
  // Latin-1 bytes that Node lets through are kept; a character that cannot
  // go in a header line is refused
  const core = engineOf({ trust: PROXY, httpsRedirect: ALLOWED })
  const fake = (url: string) => {
    const req = new http.IncomingMessage(null as never)
    Object.assign(req, { url, method: 'GET', headers: { host: 'good.com' }, rawHeaders: ['Host', 'good.com'] })
    return core.run({ req, res: null as never, resolution: core.resolve(req), log: recorder(), route: undefined })
  }
  t.equal(fake('/\u00e9')?.headers.location, 'https://good.com/\u00e9')
  t.equal(fake('/\u0100')?.status, 400)
  t.equal(fake('/a b')?.status, 400)
  t.equal(fake('/a\u007f')?.status, 400)
})

t.test('methods and statuses', async t => {
  const dflt = await serve(t, { httpsRedirect: ALLOWED })
  const head = await raw(dflt.port, 'HEAD /x?y HTTP/1.1\r\nHost: good.com')
  t.equal(head.status, 301)
  t.equal(head.headers.location, 'https://good.com/x?y')
  t.equal(head.body, '')
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'QUERY', 'PROPFIND']) {
    const r = await request(dflt.port, { method })
    t.equal(r.status, 403, method)
    t.equal(r.headers.location, undefined, method)
    t.equal(r.body, 'Forbidden: this request must be sent over https\n', method)
  }
  // 403 does not need a host (nothing is redirected)
  t.equal((await raw(dflt.port, 'POST / HTTP/1.1\r\nHost: evil.com\r\nContent-Length: 0')).status, 403)
  // CORS preflight goes to the app
  const options = await request(dflt.port, { method: 'OPTIONS', path: '/api' })
  t.equal(options.status, 200)
  t.equal(options.body, 'app OPTIONS /api')
  t.equal((await raw(dflt.port, 'OPTIONS * HTTP/1.1\r\nHost: good.com')).body, 'app OPTIONS *')

  for (const status of [301, 302, 307, 308] as const) {
    const s = await serve(t, { httpsRedirect: { ...ALLOWED, status } })
    t.equal((await request(s.port)).status, status)
    t.equal((await request(s.port, { method: 'HEAD' })).status, status)
    t.equal((await request(s.port, { method: 'POST' })).status, 403)
  }
  for (const otherMethods of [307, 308] as const) {
    const s = await serve(t, { httpsRedirect: { ...ALLOWED, otherMethods } })
    const r = await request(s.port, { method: 'POST', path: '/form?a' })
    t.equal(r.status, otherMethods)
    t.equal(r.headers.location, 'https://good.com/form?a')
    t.equal((await request(s.port, { method: 'GET' })).status, 301)
    t.equal((await request(s.port, { method: 'DELETE', headers: { host: 'evil.com' } })).status, 400)
  }
})

t.test('exempt paths are matched on the path only', async t => {
  const exempt = ['/healthz', '/.well-known/acme-challenge/', /^\/status\/\d+$/]
  const s = await serve(t, { httpsRedirect: { ...ALLOWED, exempt } })
  const cases: [string, boolean][] = [
    ['/healthz', true],
    ['/healthz?full=1', true],
    ['/.well-known/acme-challenge/token123', true],
    ['/status/42', true],
    ['/status/42?x', true],
    ['http://evil.com/healthz', true],
    ['/healthzX', false],
    ['/healthz/', false],
    ['/healthz/../admin', false],
    ['/HEALTHZ', false],
    ['/x?p=/healthz', false],
    ['/.well-known/acme-challenge', false],
    ['/status/42/x', false],
    ['/x?/status/1', false],
    // dot segments are never exempt, even under an exempt prefix
    ['/.well-known/acme-challenge/../../admin', false],
    ['/.well-known/acme-challenge/%2e%2e/%2E%2E/admin', false],
    ['/.well-known/acme-challenge/./token', false],
    ['/.well-known/acme-challenge/.%2e/x', false],
    ['/.well-known/acme-challenge/..token', true],
  ]
  for (const [target, exempted] of cases) {
    const r = await raw(s.port, `GET ${target} HTTP/1.1\r\nHost: good.com`)
    t.equal(r.status, exempted ? 200 : 301, target)
  }
  // exempt paths skip the host check too, and apply to every method
  t.equal((await raw(s.port, 'GET /healthz HTTP/1.0')).status, 200)
  t.equal((await request(s.port, { method: 'POST', path: '/healthz' })).status, 200)
  const seen: string[] = []
  const fn = await serve(t, {
    httpsRedirect: {
      ...ALLOWED,
      exempt: (path, req) => {
        seen.push(`${req.method} ${path}`)
        return path.startsWith('/internal')
      },
    },
  })
  t.equal((await request(fn.port, { path: '/internal/x?y=/z' })).status, 200)
  t.equal((await request(fn.port, { path: '/public?internal' })).status, 301)
  t.same(seen, ['GET /internal/x', 'GET /public'])
})

t.test('Fastify plugin (inject)', async t => {
  const app = Fastify()
  await app.register(trustProxyFastify, { trust: PROXY, httpsRedirect: { ...ALLOWED, exempt: ['/healthz'] } })
  app.get('/*', async req => `app ${req.protocol} ${req.url}`)
  app.post('/*', async () => 'posted')
  const inject = (o: {
    url?: string
    method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS'
    remoteAddress?: string
    headers?: Record<string, string>
  }) =>
    app.inject({
      method: o.method ?? 'GET',
      url: o.url ?? '/',
      remoteAddress: o.remoteAddress ?? CLIENT,
      headers: { host: 'good.com', ...o.headers },
    })
  let r = await inject({ url: '/a?b=%2F' })
  t.equal(r.statusCode, 301)
  t.equal(r.headers.location, 'https://good.com/a?b=%2F')
  t.equal(r.body, 'Redirecting to https://good.com/a?b=%2F\n')
  r = await inject({ headers: { 'x-forwarded-proto': 'https' } })
  t.equal(r.statusCode, 301)
  r = await inject({ remoteAddress: PROXY, headers: { 'x-forwarded-proto': 'https' } })
  t.equal(r.statusCode, 200)
  t.equal(r.body, 'app https /')
  r = await inject({ headers: { host: 'good.com@evil.com' } })
  t.equal(r.statusCode, 400)
  t.equal(r.body, 'Bad Request: malformed Host header\n')
  r = await inject({ headers: { host: 'evil.com' } })
  t.equal(r.statusCode, 400)
  r = await inject({ method: 'POST' })
  t.equal(r.statusCode, 403)
  r = await inject({ method: 'HEAD' })
  t.equal(r.statusCode, 301)
  t.equal(r.body, '')
  r = await inject({ url: '/healthz' })
  t.equal(r.statusCode, 200)
  await app.close()
})

t.test('Fastify plugin and Express middleware over real sockets', async t => {
  const fastify = Fastify()
  await fastify.register(trustProxyFastify, { trust: PROXY, httpsRedirect: ALLOWED })
  fastify.get('/*', async req => `app ${req.protocol}`)
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => fastify.close())
  const fport = (fastify.server.address() as { port: number }).port

  const ex = express()
  ex.use(trustProxyExpress({ trust: PROXY, httpsRedirect: ALLOWED }))
  ex.use((req, res) => {
    res.send(`app ${req.protocol}`)
  })
  const eport = await listen(t, http.createServer(ex))

  for (const [name, port] of [
    ['fastify', fport],
    ['express', eport],
  ] as const) {
    let r = await raw(port, 'GET //evil.com/x?y HTTP/1.1\r\nHost: GOOD.com.')
    t.equal(r.status, 301, name)
    t.equal(r.headers.location, 'https://good.com//evil.com/x?y', name)
    r = await raw(port, 'GET http://evil.com/x?y HTTP/1.1\r\nHost: good.com')
    t.equal(r.status, 301, name)
    t.equal(r.headers.location, 'https://good.com/x?y', name)
    r = await raw(port, 'GET /x HTTP/1.1\r\nHost: good.com\r\nHost: evil.com')
    t.equal(r.status, 400, name)
    r = await raw(port, 'GET /x HTTP/1.0')
    t.equal(r.status, 400, name)
    r = await raw(port, 'HEAD /x HTTP/1.1\r\nHost: good.com')
    t.equal(r.status, 301, name)
    t.equal(r.body, '', name)
    r = await request(port, { from: PROXY, headers: { 'x-forwarded-proto': 'https' } })
    t.equal(r.status, 200, name)
    t.equal(r.body, 'app https', name)
    r = await request(port, { from: CLIENT, headers: { 'x-forwarded-proto': 'https' } })
    t.equal(r.status, 301, name)
    r = await request(port, { method: 'POST' })
    t.equal(r.status, 403, name)
  }
})

t.test('Express: a middleware mounted on a path redirects to the full original path', async t => {
  const app = express()
  app.use('/shop', trustProxyExpress({ trust: PROXY, httpsRedirect: { host: 'good.com', exempt: ['/shop/health'] } }))
  app.use('/shop', (req, res) => {
    res.send(`shop ${req.url}`)
  })
  const sub = express()
  sub.use(trustProxyExpress({ trust: PROXY, httpsRedirect: { host: 'good.com' } }))
  sub.use((req, res) => {
    res.send('api')
  })
  app.use('/api', sub)
  const port = await listen(t, http.createServer(app))

  let r = await request(port, { path: '/shop/cart?x=1' })
  t.equal(r.status, 301)
  t.equal(r.headers.location, 'https://good.com/shop/cart?x=1', 'the mount path is kept')
  r = await request(port, { path: '/api/items?page=2' })
  t.equal(r.headers.location, 'https://good.com/api/items?page=2', 'a sub-app keeps its mount path')
  r = await request(port, { path: '/shop/health' })
  t.equal(r.status, 200, 'exempt paths are matched on the full path')
  t.equal(r.body, 'shop /health')
})

import t from 'tap'
import Fastify, { type FastifyRequest } from 'fastify'
import { connect as h2connect } from 'node:http2'
import { connect } from 'node:net'
import trustProxy from '../src/fastify.js'
import fp from 'fastify-plugin'
import { ProxyAwareConfigError } from '../src/core/errors.js'
import { fastifyPlugin } from '../src/adapters/fastify.js'
import type { FeatureCompiler, FeatureContext } from '../src/features/feature.js'
import { portOf, recorder, request } from './support/http.js'

/** Everything the request reports, JSON-safe (undefined becomes null). */
const view = (
  request: Pick<FastifyRequest, 'ip' | 'ips' | 'protocol' | 'host' | 'hostname' | 'port' | 'proxyAware'>,
) => ({
  ip: request.ip ?? null,
  ips: request.ips ?? null,
  protocol: request.protocol,
  host: request.host,
  hostname: request.hostname,
  port: request.port,
  reason: request.proxyAware.reason,
  hops: request.proxyAware.hops,
})

const viaProxy = {
  'x-forwarded-for': '203.0.113.7, 10.0.0.2',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'Shop.Example:8443',
}

// what a request from 127.0.0.1 with `viaProxy` headers resolves to, with
// trust ['127.0.0.1', '10.0.0.0/8'] and forwardedHost
const expectedViaProxy = {
  ip: '203.0.113.7',
  ips: ['127.0.0.1', '10.0.0.2', '203.0.113.7'],
  protocol: 'https',
  host: 'shop.example:8443',
  hostname: 'shop.example',
  port: 8443,
  reason: 'untrusted-hop',
  hops: 2,
}

const opts = { trust: ['127.0.0.1', '10.0.0.0/8'], forwardedHost: true }

t.test('request getters report the resolved values', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, opts)
  app.get('/', request => view(request))

  const proxied = await app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: viaProxy })
  t.same(proxied.json(), expectedViaProxy, 'trusted peer: the chain is walked')

  const direct = await app.inject({ url: '/', remoteAddress: '192.0.2.50', headers: viaProxy })
  t.same(
    direct.json(),
    {
      ip: '192.0.2.50',
      ips: ['192.0.2.50'],
      protocol: 'http',
      host: 'localhost:80',
      hostname: 'localhost',
      port: 80,
      reason: 'untrusted-peer',
      hops: 0,
    },
    'untrusted peer: no forwarded header is read',
  )

  const mapped = await app.inject({
    url: '/',
    remoteAddress: '::ffff:127.0.0.1',
    headers: { 'x-forwarded-for': '2001:DB8:0:0:0:0:0:1' },
  })
  t.equal(mapped.json().ip, '2001:db8::1', 'a mapped peer matches IPv4 trust; the client is canonical')
  t.same(mapped.json().ips, ['127.0.0.1', '2001:db8::1'])

  const noHost = await app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: { host: 'bad host!' } })
  t.same(
    [noHost.json().host, noHost.json().hostname, noHost.json().port],
    ['', '', null],
    'a malformed Host header is not reported',
  )
})

t.test('request.ip and ips: zones dropped, the unspecified address never reported', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, { trust: ['linklocal', '127.0.0.1'] })
  app.get('/', request => view(request))
  const zoned = await app.inject({
    url: '/',
    remoteAddress: 'fe80::1%eth0',
    headers: { 'x-forwarded-for': '198.51.100.7' },
  })
  t.same([zoned.json().ip, zoned.json().ips], ['198.51.100.7', ['fe80::1', '198.51.100.7']], 'a zoned trusted peer')
  const untrusted = await app.inject({ url: '/', remoteAddress: 'fe80:1::1%eth0' })
  t.same([untrusted.json().ip, untrusted.json().ips], ['fe80:1::1', ['fe80:1::1']], 'a zoned untrusted peer')
  const junk = await app.inject({
    url: '/',
    remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': '0.0.0.0, fe80::2' },
  })
  t.same(
    [junk.json().ip, junk.json().ips, junk.json().reason],
    ['fe80::2', ['127.0.0.1', 'fe80::2'], 'invalid-entry'],
    'an unspecified entry ends the walk',
  )
})

t.test('request.proxyAware is the full, cached resolution', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, opts)
  app.get('/', request => ({
    same: request.proxyAware === request.proxyAware,
    reversed: request.ips?.reverse(),
    ipsAfterReverse: request.ips,
    resolution: request.proxyAware,
  }))
  const res = await app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: viaProxy })
  const body = res.json()
  t.equal(body.same, true, 'one object per request')
  t.same(body.reversed, ['203.0.113.7', '10.0.0.2', '127.0.0.1'])
  t.same(
    body.ipsAfterReverse,
    ['127.0.0.1', '10.0.0.2', '203.0.113.7'],
    'reversing request.ips in place changes nothing cached',
  )
  t.same(body.resolution, {
    ip: '203.0.113.7',
    ips: ['127.0.0.1', '10.0.0.2', '203.0.113.7'],
    peer: '127.0.0.1',
    hops: 2,
    source: 'x-forwarded-for',
    reason: 'untrusted-hop',
    protocol: 'https',
    secure: true,
    host: 'shop.example:8443',
    hostname: 'shop.example',
    port: 8443,
  })
})

t.test('the decision is computed once per request, however often it is read', async t => {
  let calls = 0
  const trust = (address: string) => {
    calls++
    return address === '127.0.0.1' || address.startsWith('10.')
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, { trust, forwardedHost: true })
  app.get('/once', request => {
    const before = calls
    const v = view(request)
    return { v, calls: calls - before }
  })
  app.get('/many', request => {
    const before = calls
    let v = view(request)
    for (let i = 0; i < 50; i++) v = view(request)
    return { v, calls: calls - before }
  })
  const once = (await app.inject({ url: '/once', remoteAddress: '127.0.0.1', headers: viaProxy })).json()
  const many = (await app.inject({ url: '/many', remoteAddress: '127.0.0.1', headers: viaProxy })).json()
  t.same(once.v, expectedViaProxy)
  t.same(many.v, expectedViaProxy)
  // peer, 10.0.0.2, 203.0.113.7: three trust decisions, made once
  t.equal(once.calls, 3)
  t.equal(many.calls, 3, '51 reads of six getters cost one resolution')
})

t.test('applies to the whole app: before and after, encapsulated or not', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  const hookSaw: Record<string, unknown> = {}

  // registered BEFORE proxy-aware
  app.get('/root-before', request => view(request))
  app.register(async child => {
    child.addHook('onRequest', async request => {
      hookSaw.before = view(request)
    })
    child.get('/child-before', request => view(request))
    child.register(async grandchild => {
      grandchild.get('/grandchild-before', request => view(request))
    })
  })

  app.register(trustProxy, opts)

  // registered AFTER proxy-aware
  app.register(
    async child => {
      child.addHook('preHandler', async request => {
        hookSaw.after = view(request)
      })
      child.get('/child-after', request => view(request))
    },
    { prefix: '/p' },
  )
  app.get('/root-after', request => view(request))

  await app.ready()
  for (const url of ['/root-before', '/child-before', '/grandchild-before', '/p/child-after', '/root-after']) {
    const res = await app.inject({ url, remoteAddress: '127.0.0.1', headers: viaProxy })
    t.same(res.json(), expectedViaProxy, url)
  }
  t.same(hookSaw.before, expectedViaProxy, 'onRequest hook of a plugin registered before')
  t.same(hookSaw.after, expectedViaProxy, 'preHandler hook of a plugin registered after')
})

t.test('the default request logger shows the resolved client IP', async t => {
  const capture = recorder()
  const app = Fastify({ logger: { level: 'info', stream: capture.stream } })
  t.teardown(() => app.close())
  await app.register(trustProxy, opts)
  app.get('/', () => 'ok')
  await app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: viaProxy })
  await app.inject({ url: '/', remoteAddress: '192.0.2.50', headers: viaProxy })
  const incoming = capture.lines.filter(l => l.msg === 'incoming request')
  t.equal(incoming.length, 2)
  t.equal(incoming[0]?.req.remoteAddress, '203.0.113.7', 'via the trusted proxy: the client')
  t.equal(incoming[0]?.req.host, 'shop.example:8443')
  t.equal(incoming[1]?.req.remoteAddress, '192.0.2.50', 'direct: the peer, X-Forwarded-For ignored')
})

t.test('real sockets: the proxy and a direct client', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, { trust: '127.0.0.2' })
  app.get('/', request => view(request))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = portOf(app.server)
  const headers = { 'x-forwarded-for': '198.51.100.4', 'x-forwarded-proto': 'https' }

  const proxied = await request(port, { from: '127.0.0.2', headers })
  t.match(proxied.json, {
    ip: '198.51.100.4',
    ips: ['127.0.0.2', '198.51.100.4'],
    protocol: 'https',
    hostname: '127.0.0.1',
    port,
  })

  const direct = await request(port, { from: '127.0.0.3', headers })
  t.match(direct.json, { ip: '127.0.0.3', ips: ['127.0.0.3'], protocol: 'http', reason: 'untrusted-peer' })
})

t.test('no socket address, no Host: nothing crashes', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, { trust: 'loopback' })
  app.register(async child => {
    // a socket already gone when the request is read (fastify#6684)
    child.addHook('onRequest', async request => {
      Object.defineProperty(request.raw, 'socket', { value: null, configurable: true })
    })
    child.get('/null-socket', request => view(request))
  })
  let destroyed: unknown
  app.get('/destroy', (request, reply) => {
    request.raw.socket.destroy()
    destroyed = view(request)
    reply.send('gone')
  })
  app.get('/', request => view(request))

  const nulled = await app.inject({
    url: '/null-socket',
    remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': '203.0.113.1' },
  })
  t.equal(nulled.statusCode, 200)
  t.same(
    nulled.json(),
    {
      ip: null,
      ips: [],
      protocol: 'http',
      host: 'localhost:80',
      hostname: 'localhost',
      port: 80,
      reason: 'no-peer',
      hops: 0,
    },
    'null socket: no IP, and X-Forwarded-For is not believed',
  )

  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = portOf(app.server)
  const raw = (request: string) =>
    new Promise<string>(resolve => {
      let data = ''
      const socket = connect(port, '127.0.0.1', () => socket.write(request))
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        data += chunk
      })
      socket.on('error', () => {})
      socket.on('close', () => resolve(data))
    })

  await raw('GET /destroy HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 203.0.113.1\r\n\r\n')
  t.same(
    destroyed,
    {
      ip: null,
      ips: [],
      protocol: 'http',
      host: 'a.example',
      hostname: 'a.example',
      port: null,
      reason: 'no-peer',
      hops: 0,
    },
    'destroyed socket: no IP, and X-Forwarded-For is not believed',
  )

  const http10 = await raw('GET / HTTP/1.0\r\nX-Forwarded-For: 203.0.113.1\r\n\r\n')
  const body = JSON.parse(http10.slice(http10.indexOf('\r\n\r\n') + 4))
  t.same(
    body,
    {
      ip: '203.0.113.1',
      ips: ['127.0.0.1', '203.0.113.1'],
      protocol: 'http',
      host: '',
      hostname: '',
      port: null,
      reason: 'untrusted-hop',
      hops: 1,
    },
    'HTTP/1.0 without Host: empty host, like Fastify',
  )
})

t.test('HTTP/2: the host comes from :authority', async t => {
  const app = Fastify({ http2: true })
  t.teardown(() => app.close())
  await app.register(trustProxy, { trust: 'loopback' })
  app.get('/', request => ({ ...view(request), hasHost: request.headers.host !== undefined }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = portOf(app.server as never)
  const client = h2connect(`http://127.0.0.1:${port}`)
  t.teardown(() => client.close())
  const stream = client.request({ ':path': '/', 'x-forwarded-for': '203.0.113.1' })
  let data = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    data += chunk
  })
  await new Promise(resolve => stream.on('end', resolve))
  t.same(JSON.parse(data), {
    ip: '203.0.113.1',
    ips: ['127.0.0.1', '203.0.113.1'],
    protocol: 'http',
    host: `127.0.0.1:${port}`,
    hostname: '127.0.0.1',
    port,
    reason: 'untrusted-hop',
    hops: 1,
    hasHost: false,
  })
})

t.test("Fastify's own trustProxy is refused at startup", async t => {
  const settings: unknown[] = [true, '127.0.0.1', ['127.0.0.1'], (a: string) => a === '127.0.0.1', 1]
  for (const trustProxySetting of settings) {
    const app = Fastify({ trustProxy: trustProxySetting as never })
    app.register(trustProxy, { trust: 'loopback' })
    await t.rejects(
      async () => {
        await app.ready()
      },
      {
        name: 'ProxyAwareConfigError',
        option: 'trustProxy',
        message: /^proxy-aware: option "trustProxy" is set on Fastify\(\) as well/,
      },
      `trustProxy: ${String(trustProxySetting)}`,
    )
    await app.close()
  }

  const other = Fastify()
  other.decorateRequest('ip', { getter: () => 'someone else' })
  other.register(trustProxy, { trust: 'loopback' })
  await t.rejects(
    async () => {
      await other.ready()
    },
    { option: 'trustProxy', message: /another plugin already redefines request\.ip/ },
    'another plugin owns request.ip',
  )
  await other.close()
})

t.test('registering twice fails clearly', async t => {
  const twice = Fastify()
  twice.register(trustProxy, { trust: 'loopback' })
  twice.register(trustProxy, { trust: '10.0.0.0/8' })
  await t.rejects(
    async () => {
      await twice.ready()
    },
    { name: 'ProxyAwareConfigError', message: /already registered/ },
    'same instance',
  )
  await twice.close()

  const nested = Fastify()
  nested.register(trustProxy, { trust: 'loopback' })
  nested.register(async child => {
    await child.register(trustProxy, { trust: '10.0.0.0/8' })
  })
  await t.rejects(
    async () => {
      await nested.ready()
    },
    { name: 'ProxyAwareConfigError', message: /already registered/ },
    'again in a child context',
  )
  await nested.close()
})

t.test('registered inside an encapsulated plugin: refused with the fix, not silently partial', async t => {
  for (const prefix of [undefined, '/api']) {
    const app = Fastify()
    app.get('/outside', request => request.ip)
    app.register(
      async child => {
        await child.register(trustProxy, { trust: 'loopback' })
        child.get('/inside', request => request.ip)
      },
      prefix === undefined ? {} : { prefix },
    )
    await t.rejects(
      async () => {
        await app.ready()
      },
      {
        name: 'ProxyAwareConfigError',
        option: 'trust',
        message: prefix === undefined ? /inside an encapsulated plugin: routes outside/ : /plugin \(prefix "\/api"\)/,
      },
      `prefix ${prefix}`,
    )
    await app.close()
  }

  // the fixes the message names: the root instance, or fastify-plugin around the plugin
  const wrapped = Fastify()
  wrapped.get('/outside', request => request.ip)
  wrapped.register(
    fp(async instance => {
      await instance.register(trustProxy, opts)
    }),
  )
  const res = await wrapped.inject({ url: '/outside', remoteAddress: '127.0.0.1', headers: viaProxy })
  t.equal(res.body, expectedViaProxy.ip, 'inside fastify-plugin, every route gets the resolved ip')
  await wrapped.close()
})

t.test('forwarded-header attacks, end to end (ip, protocol, redirect, HSTS)', async t => {
  // The proxy at 127.0.0.1 appends to what the client sent. A client at
  // 203.0.113.7 sends an unbalanced quote in Forwarded: the proxy's element
  // on the right must still be read (it was one invalid element, and the
  // client was reported as the proxy, an internal address).
  const fwd = Fastify()
  t.teardown(() => fwd.close())
  await fwd.register(trustProxy, { trust: ['127.0.0.1', '10.0.0.0/8'], headers: ['forwarded'], hsts: true })
  fwd.get('/', request => view(request))
  const appended: (string | string[])[] = [
    'for=", for=203.0.113.7;proto=https',
    'for=1.1.1.1;x=", for=203.0.113.7;proto=https',
    ['for="', 'for=203.0.113.7;proto=https'], // a second header line
  ]
  for (const forwarded of appended) {
    const headers: Record<string, string | string[]> = { host: 'shop.example', forwarded }
    const res = await fwd.inject({ url: '/', remoteAddress: '127.0.0.1', headers })
    t.match(
      res.json(),
      { ip: '203.0.113.7', protocol: 'https', reason: 'untrusted-hop', hops: 1 },
      JSON.stringify(forwarded),
    )
    t.ok(res.headers['strict-transport-security'], 'HSTS: the proxy said https')
  }
  // a hand-written `proxy_set_header Forwarded "for=$remote_addr"` leaves
  // IPv6 unquoted: the client, not the proxy
  const v6 = await fwd.inject({ url: '/', remoteAddress: '127.0.0.1', headers: { forwarded: 'for=2001:db8::7' } })
  t.match(v6.json(), { ip: '2001:db8::7', protocol: 'http', reason: 'untrusted-hop' })

  // X-Forwarded-Proto: an edge proxy (10.0.0.2) adds "http", the nearest
  // proxy appends to X-Forwarded-For only; the client's own "https" is on
  // the left and must not skip the redirect.
  const xfp = Fastify()
  t.teardown(() => xfp.close())
  await xfp.register(trustProxy, {
    trust: ['127.0.0.1', '10.0.0.0/8'],
    httpsRedirect: { allowedHosts: ['shop.example'] },
    hsts: true,
  })
  xfp.get('/', request => view(request))
  const headers = {
    'host': 'shop.example',
    'x-forwarded-for': '203.0.113.7, 10.0.0.2',
    'x-forwarded-proto': ['https', 'http'],
  }
  const forged = await xfp.inject({ url: '/', remoteAddress: '127.0.0.1', headers })
  t.equal(forged.statusCode, 301)
  t.equal(forged.headers.location, 'https://shop.example/')
  t.equal(forged.headers['strict-transport-security'], undefined)
  // and a client's "http" does not force a redirect when the edge said https
  const honest = await xfp.inject({
    url: '/',
    remoteAddress: '127.0.0.1',
    headers: { ...headers, 'x-forwarded-proto': 'http, https' },
  })
  t.equal(honest.statusCode, 200)
  t.match(honest.json(), { ip: '203.0.113.7', protocol: 'https' })
  t.ok(honest.headers['strict-transport-security'])
})

t.test('bad options fail at ready() with the option named', async t => {
  const cases: [unknown, string, RegExp][] = [
    [undefined, 'trust', /is required/],
    [{}, 'trust', /is required/],
    [{ trust: {} }, 'trust', /./],
    [{ trust: 'proxy.example.com' }, 'trust', /proxy\.example\.com/],
    [{ trust: '10.0.0.0/33' }, 'trust', /10\.0\.0\.0\/33/],
    [{ trust: 'loopback', headers: ['x'] }, 'headers', /\["x"\]/],
    [{ trust: 'loopback', forwardedHost: 'yes' }, 'forwardedHost', /"yes"/],
    [{ trust: 'loopback', maxHops: 0 }, 'maxHops', /got 0/],
    [{ trust: 'loopback', protoPairing: 'aligned' }, 'protoPairing', /"aligned"/],
    [{ trust: 'loopback', trsut: 'loopback' }, 'trsut', /is not a known option/],
  ]
  for (const [options, option, message] of cases) {
    const app = Fastify()
    app.register(trustProxy, options as never)
    app.get('/', () => 'served')
    const err = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    )
    t.type(err, ProxyAwareConfigError, JSON.stringify(options) ?? 'no options')
    t.match(err, { option, message }, `names ${option}`)
    t.ok((err as Error).message.startsWith(`proxy-aware: option "${option}"`))
    await app.close()
  }

  const awaited = Fastify()
  await t.rejects(
    async () => {
      await awaited.register(trustProxy, { trust: '300.1.1.1' })
    },
    { name: 'ProxyAwareConfigError', option: 'trust', message: /300\.1\.1\.1/ },
    'awaiting register rejects too',
  )
  await awaited.close()
})

t.test('the feature seam: checks answer, responders run, route config is passed', async t => {
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
  const app = Fastify()
  await app.register(fp(fastifyPlugin([compiler])), { trust: 'loopback' })
  t.teardown(() => app.close())
  app.get('/', { config: { policy: 'strict' } }, request => `hello ${request.ip}`)

  const blocked = await app.inject({
    url: '/',
    remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': '203.0.113.5', 'x-block': '1' },
  })
  t.equal(blocked.statusCode, 403)
  t.equal(blocked.headers['x-by'], 'seam')
  t.equal(blocked.body, 'blocked 203.0.113.5')
  t.equal(blocked.headers['x-seen-ip'], undefined, 'responders do not run for an answered request')

  const passed = await app.inject({
    url: '/',
    remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': '203.0.113.6' },
  })
  t.equal(passed.statusCode, 200)
  t.equal(passed.body, 'hello 203.0.113.6')
  t.equal(passed.headers['x-seen-ip'], '203.0.113.6')
  t.match(seen[1]?.route, { policy: 'strict' }, 'route config reaches the feature')
  t.type(seen[1]?.log.warn, 'function', 'the request logger reaches the feature')
})

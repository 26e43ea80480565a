// proxy-aware/otel with the real @opentelemetry/instrumentation-http and an
// in-memory span exporter, over real sockets: the server span carries the
// trusted client address, scheme and host, for plain node:http, Fastify
// and Express, whatever the client forged.
import t, { type Test } from 'tap'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { HttpInstrumentation, type HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http'
import { loadPatchedHttp, memoryTracing, serverSpan } from './support/otel.js'
import { listen as listenOn, request, tls } from './support/http.js'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import express from 'express'
import { createTrustProxy } from '../src/index.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { otelHooks } from '../src/otel/index.js'

const { exporter } = memoryTracing()
const instrumentation = new HttpInstrumentation()
loadPatchedHttp()
t.teardown(() => instrumentation.disable())

const PROXY = '127.0.0.2' // the only trusted peer
const CLIENT = '127.0.0.3' // a client that reaches the app directly
const USER = '127.0.0.4' // a client behind the TLS-terminating proxy
const OPTIONS = { trust: PROXY, forwardedHost: true }

// requests to these ports (the test's own proxy) are not traced
const untraced = new Set<number>()
const configure = (config: HttpInstrumentationConfig) =>
  instrumentation.setConfig({
    ...config,
    disableOutgoingRequestInstrumentation: true,
    ignoreIncomingRequestHook: req => untraced.has(req.socket.localPort ?? 0),
  })

interface Got {
  seen: { ip: string; protocol: string; host: string }
  localPort: number
}
/** One request over a fresh socket from `from`; what the app saw, and the client's port. */
const get = async (
  port: number,
  path: string,
  from: string,
  headers: Record<string, string>,
  secure = false,
): Promise<Got> => {
  const r = await request(port, { path, from, headers, secure })
  if (r.status !== 200) throw new Error(`${r.status} ${r.body}`)
  return { seen: r.json, localPort: r.localPort }
}

/** Servers live until the whole file ends. */
const listen = (server: http.Server | https.Server) => listenOn(t, server)

/**
 * A TLS-terminating reverse proxy: connects to the app from PROXY, appends
 * the client to X-Forwarded-For, says https in X-Forwarded-Proto and passes
 * the client's Host as X-Forwarded-Host.
 */
const tlsProxy = async (appPort: number) => {
  const server = https.createServer(tls, (req, res) => {
    const xff = req.headers['x-forwarded-for']
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: appPort,
        path: req.url,
        method: req.method,
        localAddress: PROXY,
        agent: false,
        headers: {
          ...req.headers,
          'host': `127.0.0.1:${appPort}`,
          'x-forwarded-for': xff === undefined ? req.socket.remoteAddress : `${xff}, ${req.socket.remoteAddress}`,
          'x-forwarded-proto': 'https',
          'x-forwarded-host': req.headers.host,
        },
      },
      up => {
        res.writeHead(up.statusCode!, up.headers)
        up.pipe(res)
      },
    )
    req.pipe(upstream)
  })
  const port = await listen(server)
  untraced.add(port)
  return port
}

const attrs = (span: ReadableSpan, ...names: string[]) => Object.fromEntries(names.map(n => [n, span.attributes[n]]))
const NAMES = ['client.address', 'client.port', 'network.peer.address', 'url.scheme', 'server.address', 'server.port']

t.test('without proxy-aware the instrumentation reports the forged leftmost X-Forwarded-For', async t => {
  configure({})
  const port = await listen(http.createServer((_req, res) => res.end('{}')))
  await get(port, '/baseline', PROXY, { 'x-forwarded-for': '6.6.6.6, 203.0.113.7', 'x-forwarded-host': 'evil.example' })
  const span = await serverSpan(exporter, '/baseline')
  // this is the problem proxy-aware/otel fixes
  t.equal(span.attributes['client.address'], '6.6.6.6')
  t.equal(span.attributes['server.address'], 'evil.example')
})

type App = (t: Test) => Promise<number>

const echo = (ip: string | undefined, protocol: string, host: string | undefined) =>
  JSON.stringify({ ip, protocol, host })

const apps: Record<string, { hooks: () => HttpInstrumentationConfig; start: App }> = {
  'node:http (createTrustProxy engine)': (() => {
    const proxy = createTrustProxy(OPTIONS)
    return {
      hooks: () => otelHooks(proxy),
      start: async () =>
        listen(
          http.createServer((req, res) => {
            const r = proxy.resolve(req)
            res.end(echo(r.ip, r.protocol, r.host))
          }),
        ),
    }
  })(),
  'Fastify (same options object)': {
    hooks: () => otelHooks(OPTIONS),
    start: async t => {
      const app = Fastify()
      await app.register(fastifyTrustProxy, OPTIONS)
      app.get('/*', (req, reply) => {
        reply.type('application/json').send(echo(req.ip, req.protocol, req.host))
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      t.teardown(() => app.close())
      return (app.server.address() as AddressInfo).port
    },
  },
  'Express (same options object)': {
    hooks: () => otelHooks(OPTIONS),
    start: async () => {
      const app = express()
      app.use(expressTrustProxy(OPTIONS))
      app.use((req, res) => {
        res.type('json').send(echo(req.ip, req.protocol, req.host))
      })
      return listen(http.createServer(app))
    },
  },
}

for (const [name, { hooks, start }] of Object.entries(apps)) {
  t.test(name, async t => {
    configure(hooks())
    const port = await start(t)
    const slug = name.split(' ')[0]!.replace(':', '-')

    t.test('client behind the trusted proxy, forged leftmost X-Forwarded-For', async t => {
      const path = `/${slug}/behind-proxy`
      const { seen } = await get(port, path, PROXY, {
        'x-forwarded-for': '6.6.6.6, 203.0.113.7',
        'x-forwarded-host': 'shop.example:8443',
      })
      const span = await serverSpan(exporter, path)
      t.same(attrs(span, ...NAMES), {
        'client.address': '203.0.113.7',
        'client.port': undefined,
        'network.peer.address': PROXY,
        'url.scheme': 'http',
        'server.address': 'shop.example',
        'server.port': 8443,
      })
      // the span and the framework agree
      t.equal(span.attributes['client.address'], seen.ip)
      t.equal(`${span.attributes['server.address']}:${span.attributes['server.port']}`, seen.host)
    })

    t.test('direct client with forged forwarding headers', async t => {
      const path = `/${slug}/direct`
      const { seen, localPort } = await get(port, path, CLIENT, {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'forwarded': 'for=6.6.6.7;proto=https;host=evil.example',
      })
      const span = await serverSpan(exporter, path)
      t.same(attrs(span, ...NAMES), {
        'client.address': CLIENT,
        'client.port': localPort,
        'network.peer.address': CLIENT,
        'url.scheme': 'http',
        'server.address': '127.0.0.1',
        'server.port': port,
      })
      t.equal(span.attributes['client.address'], seen.ip)
      t.equal(seen.protocol, 'http')
    })

    t.test('HTTPS through the trusted proxy', async t => {
      const path = `/${slug}/https`
      const proxyPort = await tlsProxy(port)
      const { seen } = await get(proxyPort, path, USER, { 'host': 'good.com', 'x-forwarded-for': '6.6.6.6' }, true)
      const span = await serverSpan(exporter, path)
      t.same(attrs(span, ...NAMES), {
        'client.address': USER,
        'client.port': undefined,
        'network.peer.address': PROXY,
        'url.scheme': 'https',
        'server.address': 'good.com',
        'server.port': undefined,
      })
      t.same(seen, { ip: USER, protocol: 'https', host: 'good.com' })
    })
  })
}

t.test('an untrusted Unix-socket peer: no client address rather than a forged one', async t => {
  const proxy = createTrustProxy({ trust: PROXY })
  configure(otelHooks(proxy))
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-otel-'))
  const socketPath = join(dir, 'app.sock')
  const server = http.createServer((req, res) => res.end(String(proxy.resolve(req).ip)))
  await new Promise<void>(resolve => server.listen(socketPath, resolve))
  t.teardown(
    () =>
      new Promise(resolve =>
        server.close(() => {
          rmSync(dir, { recursive: true, force: true })
          resolve(undefined)
        }),
      ),
  )
  const body = await new Promise<string>((resolve, reject) => {
    http
      .request(
        { socketPath, path: '/unix', headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example' } },
        res => {
          let b = ''
          res.on('data', c => {
            b += c
          })
          res.on('end', () => resolve(b))
        },
      )
      .on('error', reject)
      .end()
  })
  t.equal(body, 'undefined')
  const span = await serverSpan(exporter, '/unix')
  t.notOk('client.address' in span.attributes, 'the forged X-Forwarded-For is removed')
  t.equal(span.attributes['server.address'], 'localhost', 'the Host header, not the forged X-Forwarded-Host')
})

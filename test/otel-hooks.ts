// proxy-aware/otel's hooks on their own: configuration errors, and the
// edges the end-to-end tests do not reach.
import t from 'tap'
import { type ClientRequest, IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import { createTrustProxy, ProxyAwareConfigError } from '../src/index.js'
import { otelHooks, type SpanLike } from '../src/otel/index.js'

/** An IncomingMessage from `remoteAddress` with `headers`, no I/O. */
const incoming = (remoteAddress: string | undefined, headers: Record<string, string>) => {
  const socket = new Socket()
  Object.defineProperty(socket, 'remoteAddress', { value: remoteAddress })
  Object.defineProperty(socket, 'remotePort', { value: 50000 })
  const req = new IncomingMessage(socket)
  req.headers = headers
  return req
}

/** A span that records what is set, with the attributes it already has. */
const recordingSpan = (attributes?: Record<string, unknown>) => {
  const set: Record<string, unknown> = {}
  const span: SpanLike = {
    attributes,
    setAttribute: (k, v) => {
      set[k] = v
    },
  }
  return { span, set }
}

t.test('bad options fail at startup, naming the option', async t => {
  t.throws(() => otelHooks({ trust: 'nonsense' }), ProxyAwareConfigError)
  t.throws(() => otelHooks({ trust: 'loopback', bogus: 1 } as never), {
    name: 'ProxyAwareConfigError',
    option: 'bogus',
    message: /bogus/,
  })
  t.throws(() => otelHooks(null as never), { name: 'ProxyAwareConfigError', option: 'trust', message: /null/ })
  // the Express middleware's options object, logger included, is accepted
  t.doesNotThrow(() => otelHooks({ trust: 'loopback', logger: { warn() {}, info() {} } } as never))
})

t.test('an IPv6 host: server.address without brackets', async t => {
  const { startIncomingSpanHook } = otelHooks({ trust: 'loopback' })
  const attrs = startIncomingSpanHook(incoming('::1', { host: '[2001:db8::1]:8443' }))
  t.equal(attrs['server.address'], '2001:db8::1')
  t.equal(attrs['server.port'], 8443)
  t.equal(attrs['client.address'], '::1')
  t.equal(attrs['client.port'], 50000)
})

t.test('a missing Host: server.address and server.port are removed', async t => {
  const { startIncomingSpanHook } = otelHooks({ trust: 'loopback' })
  const attrs = startIncomingSpanHook(incoming('203.0.113.9', { 'x-forwarded-host': 'evil.example:81' }))
  t.ok('server.address' in attrs && attrs['server.address'] === undefined)
  t.ok('server.port' in attrs && attrs['server.port'] === undefined)
})

t.test('given the engine, the decision is the one the app reads', async t => {
  const proxy = createTrustProxy({ trust: 'loopback' })
  const req = incoming('127.0.0.1', { 'host': 'a.example', 'x-forwarded-for': '6.6.6.6, 198.51.100.4' })
  const attrs = otelHooks(proxy).startIncomingSpanHook(req)
  t.equal(attrs['client.address'], '198.51.100.4')
  t.equal(attrs['client.port'], undefined, "the forwarded client's port is unknown")
  // made once, cached on the request: the app gets the same object
  t.equal(proxy.resolve(req), proxy.resolve(req))
  t.equal(proxy.resolve(req).ip, attrs['client.address'])
})

t.test('requestHook', async t => {
  const { requestHook } = otelHooks({ trust: 'loopback' })

  t.test('leaves outgoing requests alone', async t => {
    const { span, set } = recordingSpan({ 'http.client_ip': '6.6.6.6' })
    requestHook(span, {} as ClientRequest)
    t.same(set, {})
  })

  t.test('leaves spans without readable attributes (non-recording) alone', async t => {
    const { span, set } = recordingSpan(undefined)
    requestHook(span, incoming('127.0.0.1', { host: 'a.example' }))
    t.same(set, {})
  })

  t.test('sets no old name the span does not carry', async t => {
    const { span, set } = recordingSpan({ 'client.address': '6.6.6.6' })
    requestHook(span, incoming('127.0.0.1', { host: 'a.example' }))
    t.same(set, {})
  })

  t.test('an untrusted guess with no trusted answer becomes empty', async t => {
    const { span, set } = recordingSpan({
      'http.client_ip': '6.6.6.6',
      'http.host': 'evil.example',
      'http.scheme': 'http',
    })
    // a Unix-socket peer (no address), not trusted: no client IP, no Host
    requestHook(span, incoming(undefined, { 'x-forwarded-for': '6.6.6.6' }))
    t.same(set, { 'http.client_ip': '', 'http.host': '', 'http.scheme': 'http' })
  })
})

// instrumentation-http up to 0.220 emits the pre-1.21 attribute names by
// default (OTEL_SEMCONV_STABILITY_OPT_IN unset), `http.client_ip` among
// them, read from the leftmost X-Forwarded-For. proxy-aware/otel's
// requestHook overrides them; tested here against the real 0.220.0
// (installed as the `otel-instrumentation-http-old` alias).
import t from 'tap'
import { HttpInstrumentation } from 'otel-instrumentation-http-old'
import { loadPatchedHttp, memoryTracing, serverSpan } from './support/otel.js'
import { listen, request } from './support/http.js'
import http from 'node:http'
import { createTrustProxy } from '../src/index.js'
import { otelHooks } from '../src/otel/index.js'

delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN
const { exporter } = memoryTracing()
const instrumentation = new HttpInstrumentation({ disableOutgoingRequestInstrumentation: true })
loadPatchedHttp()
t.teardown(() => instrumentation.disable())

const proxy = createTrustProxy({ trust: '127.0.0.2', forwardedHost: true })

const get = (port: number, path: string, headers: Record<string, string>) =>
  request(port, { path, headers, from: '127.0.0.2' })

const OLD = ['http.client_ip', 'http.scheme', 'net.host.name', 'http.host']
const headers = {
  'x-forwarded-for': '6.6.6.6, 203.0.113.7',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'shop.example',
  'host': 'internal:8080',
}

t.test('old attribute names', async t => {
  const server = http.createServer((req, res) => res.end(proxy.resolve(req).ip))
  const port = await listen(t, server)

  t.test('without proxy-aware: the forged leftmost entry is http.client_ip', async t => {
    instrumentation.setConfig({ disableOutgoingRequestInstrumentation: true })
    await get(port, '/old-baseline', headers)
    const span = await serverSpan(exporter, '/old-baseline')
    t.equal(span.attributes['http.client_ip'], '6.6.6.6')
    t.equal(span.attributes['http.scheme'], 'http')
  })

  t.test('with otelHooks: the trusted decision', async t => {
    instrumentation.setConfig({ disableOutgoingRequestInstrumentation: true, ...otelHooks(proxy) })
    await get(port, '/old', headers)
    const span = await serverSpan(exporter, '/old')
    t.same(Object.fromEntries(OLD.map(n => [n, span.attributes[n]])), {
      'http.client_ip': '203.0.113.7',
      'http.scheme': 'https',
      'net.host.name': 'shop.example',
      'http.host': 'shop.example',
    })
    // the socket's own attributes are left as they are
    t.equal(span.attributes['net.peer.ip'], '127.0.0.2')
    t.equal(span.attributes['net.host.port'], port)
    // the stable names, merged in at span start, agree
    t.equal(span.attributes['client.address'], '203.0.113.7')
    t.equal(span.attributes['url.scheme'], 'https')
  })
})

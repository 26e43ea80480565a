import t from 'tap'
import * as core from '../src/index.js'
import * as fastifyEntry from '../src/fastify.js'
import * as expressEntry from '../src/express.js'
import * as otelEntry from '../src/otel/index.js'
import * as ppEntry from '../src/proxy-protocol/index.js'
import * as tlsEntry from '../src/tls/index.js'

t.test('entry points export what the README promises', async t => {
  t.type(core.createTrustProxy, 'function')
  t.type(core.canonicalIp, 'function')
  t.type(core.ProxyAwareConfigError, 'function')
  t.same(Object.keys(core.PRESETS).sort(), ['linklocal', 'loopback', 'private', 'uniquelocal'])
  t.equal(fastifyEntry.default, fastifyEntry.trustProxy)
  t.equal(expressEntry.default, expressEntry.trustProxy)
  t.equal(fastifyEntry.ProxyAwareConfigError, core.ProxyAwareConfigError)
  t.equal(expressEntry.ProxyAwareConfigError, core.ProxyAwareConfigError)
  t.equal(otelEntry.default, otelEntry.otelHooks)
  t.equal(otelEntry.ProxyAwareConfigError, core.ProxyAwareConfigError)
  t.same(Object.keys(ppEntry).sort(), ['ProxyAwareConfigError', 'parseProxyHeader', 'proxyProtocol', 'proxyProtocolOf'])
  t.equal(ppEntry.ProxyAwareConfigError, core.ProxyAwareConfigError)
  t.type(tlsEntry.tlsOptions, 'function')
  t.type(tlsEntry.watchTls, 'function')
  t.equal(tlsEntry.ProxyAwareConfigError, core.ProxyAwareConfigError)
})

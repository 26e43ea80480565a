import t from 'tap'
import * as core from '../src/index.js'
import * as fastifyEntry from '../src/fastify.js'
import * as expressEntry from '../src/express.js'
import * as otelEntry from '../src/otel/index.js'

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
})

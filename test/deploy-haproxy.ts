// docs/deployments/haproxy/haproxy.cfg, started as written, in front of the
// Fastify and Express apps (test/fixtures/deployments.ts).
import { X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { certs } from './support/certs.js'
import {
  certFiles,
  certScenarios,
  hasIpv6Loopback,
  recipe,
  scenarios,
  startApps,
  withoutIpv6,
} from './fixtures/deployments.js'
import { freePort, need, startProxy } from './support/proxies.js'

const haproxy = need(t, 'haproxy')
if (haproxy !== undefined) {
  const ipv6 = await hasIpv6Loopback()

  await t.test('TLS termination (haproxy/haproxy.cfg)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls, clientCert: { mode: 'optional', forwarded: { source: 'haproxy' } } })
    const f = certFiles(t)
    writeFileSync(
      join(f.dir, 'haproxy.cfg'),
      withoutIpv6(recipe('haproxy/haproxy.cfg', { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls }), ipv6),
    )
    await startProxy(t, haproxy, ['-db', '-f', join(f.dir, 'haproxy.cfg')], [http, tls])
    await scenarios(t, 'HAProxy', { http, tls, app }, { ipv6 })
    const c = certs()
    await certScenarios(
      t,
      'HAProxy',
      tls,
      { 'x-ssl-client-cert': new X509Certificate(c.valid.cert).raw.toString('base64'), 'x-ssl-client-verify': '0' },
      ['expired'],
    )
  })
}

// docs/deployments/apache/proxy-aware.conf, started as written, in front of
// the Fastify and Express apps (test/fixtures/deployments.ts).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { certs } from './support/certs.js'
import { certFiles, certScenarios, hasIpv6Loopback, recipe, scenarios, startApps } from './fixtures/deployments.js'
import { apacheConf, freePort, need, startProxy } from './support/proxies.js'

const apache = need(t, 'apache2')
if (apache !== undefined) {
  const ipv6 = await hasIpv6Loopback()

  await t.test('TLS termination (apache/proxy-aware.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } })
    const f = certFiles(t)
    let site = recipe('apache/proxy-aware.conf', { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls })
    if (!ipv6) site = site.replace(/^Listen \[::1\].*\n/m, '').replace(` [::1]:${tls}`, '')
    writeFileSync(join(f.dir, 'httpd.conf'), apacheConf(f.dir, site))
    await startProxy(t, apache, ['-f', join(f.dir, 'httpd.conf'), '-DFOREGROUND'], [http, tls])
    await scenarios(t, 'Apache', { http, tls, app }, { ipv6 })
    const c = certs()
    await certScenarios(
      t,
      'Apache',
      tls,
      { 'x-ssl-client-cert': encodeURIComponent(c.valid.cert), 'x-ssl-client-verify': 'SUCCESS' },
      ['expired'],
    )
  })
}

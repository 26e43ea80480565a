// docs/deployments/caddy/Caddyfile, started as written, in front of the
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

const caddy = need(t, 'caddy')
if (caddy !== undefined) {
  const ipv6 = await hasIpv6Loopback()

  await t.test('TLS termination (caddy/Caddyfile)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, {
      tlsPort: tls,
      clientCert: {
        mode: 'optional',
        forwarded: { source: 'rfc9440', verifyHeader: 'x-client-cert-verified', verifyValue: 'SUCCESS' },
      },
    })
    const f = certFiles(t)
    let conf = recipe('caddy/Caddyfile', { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls })
    if (!ipv6) conf = conf.replace(' [::1]', '')
    writeFileSync(join(f.dir, 'Caddyfile'), withoutIpv6(conf, true))
    // Caddy keeps state under $HOME / XDG folders: the test's own
    const env = { HOME: f.dir, XDG_DATA_HOME: f.dir, XDG_CONFIG_HOME: f.dir }
    await startProxy(
      t,
      caddy,
      ['run', '--config', join(f.dir, 'Caddyfile'), '--adapter', 'caddyfile'],
      [http, tls],
      env,
    )
    await scenarios(t, 'Caddy', { http, tls, app }, { ipv6 })
    const c = certs()
    const der = new X509Certificate(c.valid.cert).raw.toString('base64')
    await certScenarios(t, 'Caddy', tls, { 'client-cert': `:${der}:`, 'x-client-cert-verified': 'SUCCESS' }, [
      'expired',
    ])
  })
}

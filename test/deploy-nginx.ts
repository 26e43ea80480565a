// docs/deployments/nginx/*.conf, started as written, in front of the
// Fastify and Express apps (test/fixtures/deployments.ts).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { certs } from './fixtures/certs.js'
import { certFiles, certScenarios, hasIpv6Loopback, recipe, scenarios, startApps, withoutIpv6 } from './fixtures/deployments.js'
import { freePort, need, nginxConf, runProxy, waitForPort } from './fixtures/proxies.js'

const nginx = need(t, 'nginx')
if (nginx !== undefined) {
  const ipv6 = await hasIpv6Loopback()

  /** Start nginx with a recipe (server blocks) filled with `vars`. */
  const start = async (file: string, vars: Record<string, string | number>, wait: number[]) => {
    const f = certFiles(t)
    const conf = withoutIpv6(recipe(file, { ...f, ...vars }), ipv6)
    writeFileSync(join(f.dir, 'nginx.conf'), nginxConf(f.dir, conf))
    const { child, log } = runProxy(t, nginx, ['-c', join(f.dir, 'nginx.conf'), '-p', f.dir, '-e', 'stderr'])
    for (const port of wait) await waitForPort(port, child, log)
  }

  await t.test('TLS termination (nginx/tls-termination.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } })
    await start('nginx/tls-termination.conf', { APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls }, [http, tls])
    await scenarios(t, 'nginx', { http, tls, app }, { ipv6 })
    const c = certs()
    await certScenarios(t, 'nginx', tls, { 'x-ssl-client-cert': encodeURIComponent(c.valid.cert), 'x-ssl-client-verify': 'SUCCESS' }, ['expired'])
  })
}

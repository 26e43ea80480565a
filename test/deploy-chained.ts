// Two proxies chained: docs/deployments/chained/Caddyfile (TLS) in front of
// docs/deployments/chained/nginx.conf, in front of the Fastify and Express
// apps (test/fixtures/deployments.ts).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { certFiles, hasIpv6Loopback, recipe, scenarios, startApps } from './fixtures/deployments.js'
import { request } from './support/http.js'
import { freePort, need, nginxConf, startProxy } from './support/proxies.js'

const caddy = need(t, 'caddy')
const nginx = need(t, 'nginx')
if (caddy !== undefined && nginx !== undefined) {
  const ipv6 = await hasIpv6Loopback()

  await t.test('Caddy in front of nginx (chained/)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const nginxPort = await freePort()
    const app = await startApps(t, { tlsPort: tls })
    const f = certFiles(t)
    const vars = { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls, NGINX_PORT: nginxPort }

    writeFileSync(join(f.dir, 'nginx.conf'), nginxConf(f.dir, recipe('chained/nginx.conf', vars)))
    await startProxy(t, nginx, ['-c', join(f.dir, 'nginx.conf'), '-p', f.dir, '-e', 'stderr'], [nginxPort])
    let caddyfile = recipe('chained/Caddyfile', vars)
    if (!ipv6) caddyfile = caddyfile.replace(' [::1]', '')
    writeFileSync(join(f.dir, 'Caddyfile'), caddyfile)
    const caddyArgs = ['run', '--config', join(f.dir, 'Caddyfile'), '--adapter', 'caddyfile']
    await startProxy(t, caddy, caddyArgs, [http, tls], { HOME: f.dir, XDG_DATA_HOME: f.dir, XDG_CONFIG_HOME: f.dir })

    await scenarios(t, 'Caddy → nginx', { http, tls, app }, { ipv6 })

    // a client that finds nginx and skips Caddy
    for (const fw of ['fastify', 'express']) {
      const r = await request(nginxPort, {
        path: `/${fw}/whoami`,
        from: '127.0.0.5',
        headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'host': 'localhost' },
      })
      t.match(
        JSON.parse(r.body),
        { ip: '127.0.0.5', protocol: 'http' },
        `${fw}: a client reaching nginx directly is believed about nothing`,
      )
    }
  })
}

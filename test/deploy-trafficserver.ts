// docs/deployments/trafficserver/*, started as written (in a layout of its
// own), in front of the Fastify and Express apps
// (test/fixtures/deployments.ts); and what Traffic Server does with a
// client's forwarding headers by default.
import t from 'tap'
import {
  certFiles,
  forgedThrough,
  hasIpv6Loopback,
  recipe,
  recipeHeaders,
  scenarios,
  startApps,
} from './fixtures/deployments.js'
import { freePort, need, startTrafficServer } from './support/proxies.js'

const ats = need(t, 'traffic_server')
const ipv6 = await hasIpv6Loopback()

if (ats !== undefined) {
  await t.test('TLS termination (trafficserver/records.config)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls })
    const f = certFiles(t)
    const vars = { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls }
    let records = recipe('trafficserver/records.config', vars)
    if (!ipv6) records = records.replace(` ${tls}:ssl:ipv6:ip-in=[::1]`, '')
    const files = {
      'records.config': records,
      'remap.config': recipe('trafficserver/remap.config', vars),
      'ssl_multicert.config': recipe('trafficserver/ssl_multicert.config', vars),
      'proxy-headers.config': recipe('trafficserver/proxy-headers.config', vars),
    }
    await startTrafficServer(t, f.dir, files, [http, tls])
    await scenarios(t, 'Traffic Server', { http, tls, app }, { ipv6 })
    await recipeHeaders(t, 'Traffic Server', { http, tls, app })
  })

  await t.test('Traffic Server by default passes a client X-Forwarded-Proto on', async t => {
    const http = await freePort()
    const app = await startApps(t, { tlsPort: 1 })
    const f = certFiles(t)
    const files = {
      'records.config': `CONFIG proxy.config.http.server_ports STRING ${http}:ip-in=127.0.0.1
CONFIG proxy.config.url_remap.pristine_host_hdr INT 1
`,
      'remap.config': `map / http://127.0.0.1:${app}/\n`,
    }
    await startTrafficServer(t, f.dir, files, [http])
    const { seen, headers } = await forgedThrough(http, false)
    t.equal(headers['x-forwarded-proto'], 'https', "the client's X-Forwarded-Proto reaches the app")
    t.equal(
      headers.forwarded,
      'for=6.6.6.6;proto=https;host=evil.example',
      'and its Forwarded (insert_forwarded: none)',
    )
    t.equal(headers['x-forwarded-host'], 'evil.example', 'and its X-Forwarded-Host')
    t.equal(
      headers['x-forwarded-for'],
      '6.6.6.6, 127.0.0.5',
      'X-Forwarded-For is appended to (insert_squid_x_forwarded_for is on by default)',
    )
    t.match(seen, { ip: '127.0.0.5', protocol: 'https' }, 'over plain http, the app believes https')
  })
}
